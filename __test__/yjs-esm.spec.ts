/**
 * glue-pubsub/yjs from an ES module application: yjs' ES module build and its CommonJS build are two instances, and
 * Yjs breaks when one works on the other's documents. The provider must use the instance of the application's
 * document. Checked on glue compiled to CommonJS (as published) and run by plain Node, since tsx's require hook
 * changes how `require()` loads ES modules.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { spawn } from 'node:child_process'

import test from 'ava'
import ts from 'typescript'

const root = join(__dirname, '..')

/** The .ts files under `dir` (recursively). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return tsFiles(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

/** Transpiles what the fixture loads to CommonJS in a directory inside the repository (so node_modules resolves). */
function build(): string {
  const out = mkdtempSync(join(root, '.yjs-esm-build-'))
  const files = [join(root, 'index.ts'), join(root, 'yjs.ts'), ...tsFiles(join(root, 'src'))]
  files.push(join(root, '__test__/helpers/fake-transport.ts'), join(root, '__test__/helpers/loopback.ts'))
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true }
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file })
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js')
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, outputText)
  }
  return out
}

test('an ES module application: its documents sync, and Yjs is imported once', async (t) => {
  const out = build()
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const fixture = join(__dirname, 'fixtures', 'yjs-esm.mjs')
  const env = { ...process.env, NODE_OPTIONS: '' } // plain Node: no tsx
  const child = spawn(process.execPath, [fixture, JSON.stringify({ build: out })], { env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.is(code, 0, stderr)
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { converged: boolean; warnings: string[] }
  t.deepEqual(result.warnings, [])
  t.true(result.converged, stdout)
})
