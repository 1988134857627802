/**
 * The package's type declarations compile in a consumer's project under common settings, not only under this
 * package's own (target ES2022): tsc defaults with --strict (target ES5, moduleResolution node10), target ES2017 and
 * ES2020 with module commonjs, module node16, nodenext, and moduleResolution bundler; always skipLibCheck false (so the
 * declarations themselves are checked) and @types/node. The declarations are emitted from src/ as `npm run prepare`
 * does (tsc -p tsconfig.build.json, then scripts/dts-compat.js) into a temporary node_modules/glue-pubsub, next to
 * the peer dependencies (mqtt, yjs, y-protocols) that glue-pubsub/mqtt and glue-pubsub/yjs refer to.
 */
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

import test from 'ava'

const execFileAsync = promisify(execFile)
const root = join(__dirname, '..')
const tsc = join(realpathSync(join(root, 'node_modules', 'typescript')), 'bin', 'tsc')

/** A consumer that touches each entry point: values, types, generics, errors with a cause, the peer-typed parts. */
const CONSUMER = `import { Endpoint, GlueError, InvalidOptionError, TopicError, type TopicMessage, type GlueErrorOptions } from 'glue-pubsub'
import { bridgeMqtt, MqttConnectError, type MqttBridgeOptions } from 'glue-pubsub/mqtt'
import { GlueYjsProvider, type GlueYjsProviderOptions } from 'glue-pubsub/yjs'

interface Reading {
  celsius: number
}

export async function main(): Promise<void> {
  const ep = await Endpoint.open({ name: 'consumer', announcePeriodMs: 250 })
  const sub = ep.subscribe<Reading>('sensors/+/temp', { codec: 'json' })
  for await (const m of sub) {
    const reading: Reading = m.value
    const text: string = m.text()
    console.log(reading.celsius, text, m.topic, m.seq)
    break
  }
  ep.subscribe('raw/#', { callback: (m: TopicMessage) => console.log(m.text()) })
  const sent: boolean = ep.publish('sensors/a/temp', { celsius: 21 }, { codec: 'json' })
  await ep.publish('sensors/a/temp', { celsius: 22 }, { codec: 'json', reliable: true })
  const cause: GlueErrorOptions = { cause: new Error('root') }
  const errors: Error[] = [new TopicError('topic', 'a/#/b', 'bad'), new InvalidOptionError('bad', { option: 'x', value: 1, ...cause })]
  console.log(sent, errors.map((e) => e instanceof GlueError), MqttConnectError, GlueYjsProvider)
  const mqtt: Partial<MqttBridgeOptions> = {}
  const yjs: Partial<GlueYjsProviderOptions> = {}
  console.log(typeof bridgeMqtt, mqtt, yjs)
  await ep.close()
}
`

/** The consumer tsconfig settings checked (each with strict, skipLibCheck false, types node). */
const SETTINGS: Record<string, Record<string, string>> = {
  'tsc defaults (target ES5, module commonjs, moduleResolution node10)': {},
  'target ES2017, module commonjs': { target: 'ES2017', module: 'commonjs' },
  'target ES2020, module commonjs': { target: 'ES2020', module: 'commonjs' },
  'target ES2020, module node16': { target: 'ES2020', module: 'node16' },
  'target ES2022, module nodenext, moduleResolution nodenext': { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext' },
  'target ES2020, module esnext, moduleResolution bundler': { target: 'ES2020', module: 'esnext', moduleResolution: 'bundler' },
}

/** Runs tsc; its exit code and output (tsc prints its errors on stdout). */
async function runTsc(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [tsc, ...args], { cwd, maxBuffer: 16 << 20 })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string }
    return { code, output: stdout + stderr }
  }
}

test('the type declarations compile in a consumer project under common tsconfig settings', async (t) => {
  t.timeout(15 * 60_000) // tsc runs 1 + 6 times, slow on a busy machine
  const dir = mkdtempSync(join(tmpdir(), 'glue-dts-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pkg = join(dir, 'node_modules', 'glue-pubsub')
  mkdirSync(pkg, { recursive: true })
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'))
  cpSync(join(root, 'binding.d.ts'), join(pkg, 'binding.d.ts'))
  const emitted = await runTsc(
    ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--emitDeclarationOnly', '--sourceMap', 'false'],
    root,
  )
  t.is(emitted.code, 0, emitted.output)
  const { stripPrivateMarkers } = require('../scripts/dts-compat.js') as { stripPrivateMarkers: (dir: string) => number }
  t.true(stripPrivateMarkers(join(pkg, 'dist')) > 0, 'tsc emitted #private markers to remove')
  // What an application's install puts beside the package: its dependencies (their types appear in glue's
  // declarations, e.g. prom-client's Registry), the optional peers and @types/node.
  const { dependencies } = require('../package.json') as { dependencies: Record<string, string> }
  for (const dep of [...Object.keys(dependencies), '@types/node', 'mqtt', 'yjs', 'y-protocols']) {
    const target = join(dir, 'node_modules', dep)
    mkdirSync(dirname(target), { recursive: true })
    symlinkSync(realpathSync(join(root, 'node_modules', dep)), target, 'dir')
  }
  writeFileSync(join(dir, 'consumer.ts'), CONSUMER)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  const entries = Object.entries(SETTINGS)
  const results: { code: number; output: string }[] = []
  for (let i = 0; i < entries.length; i += 2) {
    const batch = entries.slice(i, i + 2).map(([, options], j) => {
      const config = `tsconfig.${i + j}.json`
      const compilerOptions = { ...options, strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }
      writeFileSync(join(dir, config), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }))
      return runTsc(['-p', config], dir)
    })
    results.push(...(await Promise.all(batch)))
  }
  results.forEach(({ code, output }, i) => {
    t.is(output.trim(), '', entries[i][0])
    t.is(code, 0, entries[i][0])
  })
})
