/**
 * Every code sample of README.md runs. Each ```ts / ```typescript / ```js / ```javascript block is written to its own
 * ES module (top-level await allowed) and run by Node with tsx in a child process, with a deadline; it must exit by
 * itself with status 0 (so it must close what it opens) and print nothing to stderr.
 *
 * The convention (also stated at the top of the README's "Use it"):
 * - `'glue-pubsub'`, `'glue-pubsub/yjs'` and `'glue-pubsub/mqtt'` resolve to this repository's sources (tsconfig
 *   paths: no build needed, and what is tested is the code beside the README).
 * - Every block runs in a network of its own: the GLUE_* variables (src/env.ts) point endpoints that do not name
 *   their addresses at 127.0.0.1, a private multicast group and port, a random network ID, and a 100 ms announce
 *   period; every other GLUE_* variable is removed. A sample may name its own network (options win over the
 *   variables), but then only on loopback: an `interface` or `listenAddress` that is not loopback, or unicast
 *   `peers`, fail the test (the network rule) unless the block is marked not-run.
 * - A block that uses `ep` without declaring it continues from an open endpoint: the test prepends
 *   `const ep = await Endpoint.open({ name: 'A' })` and closes it after the block. Names that 'glue-pubsub' exports
 *   and the block uses without importing them (`Endpoint`, error classes) are imported. Nothing else is defined:
 *   a block defines its own data.
 * - `PLANT_KEY` is set to a random network key; `MQTT_URL` to a private Mosquitto on loopback, started for blocks
 *   that import 'glue-pubsub/mqtt' (skipped, saying so, where mosquitto is not installed; .ci/run installs it).
 * - A line `<!-- sample: not-run: <reason> -->` (alone on its line) just before a block, or one line above it,
 *   skips it, with the reason in the test title.
 *   Keep those rare: addresses of a real deployment (the network rule keeps tests on loopback), and that is all.
 */
import { spawn } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import anyTest, { type ExecutionContext, type TestFn } from 'ava'
import ts from 'typescript'

import * as glue from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { MOSQUITTO, startMosquitto } from './helpers/mosquitto'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
const root = join(__dirname, '..')
/** How long one sample may take (they are meant to end within a few seconds; this leaves room for a loaded host). */
const DEADLINE_MS = 60_000
const LANGUAGES = new Set(['ts', 'typescript', 'js', 'javascript'])
/** Names a fragment may use without declaring them, and what the test puts in front of it for each. */
const PRELUDE: Record<string, { open: string; close: string }> = {
  ep: { open: "const ep = await __glue.Endpoint.open({ name: 'A' })", close: 'await ep.close()' },
}

/** One fenced code block of the README. */
export interface Sample {
  /** 1-based line of the opening fence. */
  line: number
  language: string
  code: string
  /** The heading the block is under. */
  section: string
  /** Set when a `<!-- sample: not-run: reason -->` marker precedes the block. */
  notRun?: string
}

/** The fenced ts/js blocks of `markdown`, with their line, section and not-run marker. */
export function extractSamples(markdown: string): Sample[] {
  const lines = markdown.split('\n')
  const samples: Sample[] = []
  let section = '(top)'
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*)$/.exec(lines[i])
    if (heading) section = heading[1].trim()
    const fence = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i])
    if (!fence) continue
    const [, , marks, language] = fence
    let end = i + 1
    while (end < lines.length && !lines[end].trimStart().startsWith(marks)) end++
    if (LANGUAGES.has(language.toLowerCase())) {
      let notRun: string | undefined
      for (const above of [lines[i - 1], lines[i - 2]]) {
        const marker = /^\s*<!--\s*sample:\s*not-run:\s*(.*?)\s*-->\s*$/.exec(above ?? '')
        if (marker) notRun ??= marker[1]
      }
      samples.push({ line: i + 1, language, code: lines.slice(i + 1, end).join('\n'), section, notRun })
    }
    i = end
  }
  return samples
}

/** The names a sample declares anywhere (imports, variables, functions, classes, parameters) and the ones it uses. */
function names(code: string): { declared: Set<string>; used: Set<string> } {
  const source = ts.createSourceFile('sample.mts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS)
  const declared = new Set<string>()
  const used = new Set<string>()
  const bind = (name: ts.BindingName | undefined) => {
    if (name === undefined) return
    if (ts.isIdentifier(name)) declared.add(name.text)
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name)
  }
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isBindingElement(node)) bind(node.name)
    else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) declared.add(node.name.text)
    else if (ts.isImportClause(node) && node.name) declared.add(node.name.text)
    else if (ts.isImportSpecifier(node) || ts.isNamespaceImport(node)) declared.add(node.name.text)
    else if (ts.isIdentifier(node)) {
      const parent = node.parent
      const isProperty =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isPropertyAssignment(parent) && parent.name === node)
      if (!isProperty) used.add(node.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { declared, used }
}

/** What 'glue-pubsub' exports. */
const EXPORTS = new Set(Object.keys(glue))

/** The module run for a sample: the prelude's imports and endpoints around the block. */
export function moduleFor(sample: Sample): string {
  const { declared, used } = names(sample.code)
  const needed = Object.keys(PRELUDE).filter((name) => used.has(name) && !declared.has(name))
  const imports = [...used].filter((name) => EXPORTS.has(name) && !declared.has(name))
  if (needed.length === 0 && imports.length === 0) return sample.code
  return [
    "import * as __glue from 'glue-pubsub'",
    ...(imports.length > 0 ? [`import { ${imports.join(', ')} } from 'glue-pubsub'`] : []),
    ...needed.map((name) => PRELUDE[name].open),
    sample.code,
    ...needed.map((name) => PRELUDE[name].close),
  ].join('\n')
}

/**
 * The network rule for samples that name addresses themselves (and so leave the private network the test gives
 * them): every `interface` and `listenAddress` they name is loopback, and they name no unicast `peers`.
 */
export function offLoopback(code: string): string[] {
  const problems: string[] = []
  for (const [, option, , value] of code.matchAll(/\b(interface|listenAddress)\s*:\s*(['"`])?([^'"`,}\s]*)/g)) {
    if (!/^(lo|127\.[\d.:]*|::1|\[::1\](:\d+)?)$/.test(value)) problems.push(`${option}: ${value}`)
  }
  if (/\bpeers\s*:/.test(code)) problems.push('peers')
  return problems
}

/** The environment of a sample: ours without GLUE_*, plus a private loopback network. */
function sampleEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GLUE_')) env[key] = value
  const group = `239.255.${randomInt(0, 256)}.${randomInt(1, 255)}:${randomInt(20000, 60000)}`
  return {
    ...env,
    NODE_OPTIONS: '',
    TSX_TSCONFIG_PATH: 'tsconfig.json',
    GLUE_LISTEN_INTERFACE: '127.0.0.1',
    GLUE_DISCOVERY_TARGET_ADDRESS: group,
    GLUE_DISCOVERY_LISTEN_ADDRESS: group,
    GLUE_NETWORK_ID: String(randomInt(1, 0xffff_ffff)),
    GLUE_DISCOVERY_RATE_MILLISECONDS: '100',
    PLANT_KEY: randomBytes(32).toString('hex'),
    ...extra,
  }
}

/** Runs `file` in `dir`; resolves with its exit code (or 'timeout', after which it was killed) and output. */
function run(dir: string, file: string, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import=tsx', file], { cwd: dir, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, DEADLINE_MS)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code: timedOut ? 'timeout' : (code ?? signal ?? -1), stdout, stderr })
    })
  })
}

const samples = extractSamples(readFileSync(join(root, 'README.md'), 'utf8'))

test('the README has samples, and the extractor finds blocks, markers and the names a fragment needs', (t) => {
  t.true(samples.length >= 10, `${samples.length} samples`)
  const found = extractSamples(
    ['# S', 'text `<!-- sample: not-run: x -->`', '```ts', 'ep.peers()', '```', '<!-- sample: not-run: a reason -->', '```js', 'x()', '```', '```sh', 'ls', '```'].join('\n'),
  )
  t.deepEqual(
    found.map((s) => [s.line, s.language, s.notRun]),
    [
      [3, 'ts', undefined],
      [7, 'js', 'a reason'],
    ],
  )
  t.true(moduleFor(found[0]).includes("const ep = await __glue.Endpoint.open({ name: 'A' })"))
  t.is(moduleFor({ ...found[0], code: "const ep = 1\nep.toString()" }), 'const ep = 1\nep.toString()')
  t.deepEqual(offLoopback("open({ interface: 'lo', listenAddress: '127.0.0.1:0' }); x = { interface: '::1' }"), [])
  t.deepEqual(offLoopback("open({ interface: 'eth0', listenAddress: '0.0.0.0:37321', peers: ['h:1'] })"), [
    'interface: eth0',
    'listenAddress: 0.0.0.0:37321',
    'peers',
  ])
})

for (const sample of samples) {
  const title = `README line ${sample.line} (${sample.section})`
  const mqtt = sample.code.includes("'glue-pubsub/mqtt'")
  if (sample.notRun !== undefined || (mqtt && MOSQUITTO === undefined)) {
    test.skip(`${title}: not run: ${sample.notRun ?? 'mosquitto is not installed'}`, () => {})
    continue
  }
  test.serial(`${title} runs`, async (t: ExecutionContext) => {
    t.deepEqual(offLoopback(sample.code), [], 'the network rule: loopback only (or mark the block not-run)')
    const dir = mkdtempSync(join(root, '.readme-sample-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    // yjs: its CommonJS build, the one glue's sources load under tsx (whose require hook keeps glue from finding an
    // ES module application's instance; that case is yjs-esm.spec.ts's, on glue compiled as published).
    const paths = {
      'glue-pubsub': ['../index.ts'],
      'glue-pubsub/yjs': ['../yjs.ts'],
      'glue-pubsub/mqtt': ['../mqtt.ts'],
      yjs: ['../node_modules/yjs/dist/yjs.cjs'],
    }
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths } }))
    writeFileSync(join(dir, 'sample.mts'), moduleFor(sample))
    const extra: Record<string, string> = {}
    if (mqtt) {
      const broker = await startMosquitto(t)
      extra.MQTT_URL = broker.url
    }
    const { code, stdout, stderr } = await run(dir, 'sample.mts', sampleEnv(extra))
    t.is(code, 0, `exit ${code}\n--- stderr\n${stderr}\n--- stdout\n${stdout}`)
    t.is(stderr, '', 'nothing on stderr')
  })
}
