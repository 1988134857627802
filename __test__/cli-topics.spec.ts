/**
 * The topic commands of the CLI: `glue pub`, `glue sub`, `glue topics` on loopback with a private group (in this
 * process, and one publisher as a child process), and their pure helpers.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import anyTest, { type TestFn } from 'ava'

import { TopicMessage } from '../index'
import { formatStatus } from '../src/cli/common'
import { buildProgram, main } from '../src/cli/main'
import { formatTopicMessage, parseValue } from '../src/cli/pubsub'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedFlags } from './helpers/cli'

const cli = join(__dirname, '..', 'src', 'cli', 'main.ts')
const withNative = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

const message = (fields: Partial<ConstructorParameters<typeof TopicMessage>[0]>) =>
  new TopicMessage({
    topic: 'a/b',
    value: Buffer.from('hi'),
    payload: Buffer.from('hi'),
    type: '',
    codec: 0,
    from: '0123456789abcdef',
    fromName: 'A',
    seq: 3,
    timestamp: 0,
    retained: false,
    replayed: false,
    reliable: true,
    ...fields,
  })

anyTest('topic messages and values format for the terminal', (t) => {
  t.is(formatTopicMessage(message({})), 'a/b #3 from A: hi')
  t.is(formatTopicMessage(message({ value: { n: 1n }, replayed: true, retained: true })), 'a/b #3 from A (replayed, retained): {"n":"1"}')
  t.is(formatTopicMessage(message({ fromName: '' })), 'a/b #3 from 0123456789abcdef: hi')
  t.deepEqual(parseValue('{"a":1}', 'json'), { a: 1 })
  t.throws(() => parseValue('plain text', 'msgpack'), { message: /^invalid value "plain text" for --codec msgpack: not JSON/ })
  t.is(parseValue('"plain text"', 'msgpack'), 'plain text')
  t.is(parseValue('{"a":1}', 'raw'), '{"a":1}')
})

anyTest('an interest change is reported as such', (t) => {
  const peer = { id: 'aaaaaaaaaaaaaaaa', name: 'A', address: '127.0.0.1:1', announcePeriodMs: 100, since: new Date() }
  const previous = { ...peer, extensions: new Map() }
  const changed = { ...peer, extensions: new Map([[0x10, Buffer.of(1)]]) }
  t.regex(formatStatus({ type: 'peer-changed', peer: changed, previous }), /: its topic interest changed$/)
  const both = { ...peer, extensions: new Map([[0x10, Buffer.of(1)], [0x11, Buffer.of(2)]]) }
  t.regex(formatStatus({ type: 'peer-changed', peer: both, previous: changed }), /: its repliers changed$/)
  t.regex(formatStatus({ type: 'peer-changed', peer: both, previous }), /: its topic interest and repliers changed$/)
  const other = { ...peer, extensions: new Map([[0x20, Buffer.of(3)]]) }
  t.regex(formatStatus({ type: 'peer-changed', peer: other, previous }), /: its extension 0x20 changed$/)
})

anyTest('pub, sub and topics (alias endpoint) are commands', (t) => {
  const commands = buildProgram(() => {}).commands
  for (const name of ['pub', 'sub', 'topics']) t.truthy(commands.find((c) => c.name() === name), name)
  t.deepEqual(commands.find((c) => c.name() === 'topics')?.aliases(), ['endpoint'])
})

/**
 * Runs the CLI in this process (no child process: cheaper on a busy machine) and collects what it prints on stdout
 * and stderr. Serial tests only: it replaces console.log and console.error meanwhile.
 */
async function glueHere(args: string[]) {
  const out: string[] = []
  const err: string[] = []
  const { log, error } = console
  console.log = (...items: unknown[]) => void out.push(items.join(' '))
  console.error = (...items: unknown[]) => void err.push(items.join(' '))
  try {
    const code = await main(['node', 'glue', ...args])
    return { code, stdout: out.join('\n'), stderr: err.join('\n') }
  } finally {
    console.log = log
    console.error = error
  }
}

anyTest.serial('bad topics and filters are clear errors', async (t) => {
  const badTopic = await glueHere(['pub', 'a/+', 'x', '--wait', '0.1'])
  t.is(badTopic.code, 1)
  t.regex(badTopic.stderr, /^glue: invalid topic "a\/\+"/m)
  const badFilter = await glueHere(['sub', 'a/#/b', '--duration', '1'])
  t.is(badFilter.code, 1)
  t.regex(badFilter.stderr, /^glue: invalid filter "a\/#\/b"/m)
})

withNative.serial('glue sub gets what glue pub published before it started (history), as JSON lines', async (t) => {
  const flags = isolatedFlags()
  const publication = ['cli/x', '{"v":1}', '--codec', 'json', '--depth', '5', '--count', '2', '--interval', '0']
  const args = ['--import=tsx', cli, 'pub', ...publication, '--no-wait-subscribers', '--wait', '0.1', '--linger', '60', ...flags]
  const pub = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => pub.on('exit', (code, signal) => resolve(code ?? signal)))
  try {
    let printed = ''
    await new Promise<void>((resolve, reject) => {
      pub.stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString()
        if (printed.includes('published cli/x #2')) resolve()
      })
      pub.on('exit', () => reject(new Error(`glue pub exited early: ${printed}`)))
    })
    const sub = await glueHere(['sub', 'cli/#', '--count', '2', '--json', '--duration', '20', ...flags])
    t.is(sub.code, 0, sub.stderr)
    const lines = sub.stdout.split('\n').map((line) => JSON.parse(line))
    t.like(lines, [
      { topic: 'cli/x', seq: 1, value: { v: 1 }, replayed: true },
      { topic: 'cli/x', seq: 2, value: { v: 1 }, replayed: true },
    ])
  } finally {
    pub.kill('SIGTERM') // like Ctrl-C: glue pub stops lingering and closes
  }
  t.is(await exited, 0)
})

withNative.serial('glue topics runs one endpoint with the seed flags and prints its own counter', async (t) => {
  const flags = isolatedFlags()
  const seed = ['-interfaceName', 'lo', '-endpointName', 'T', '-sendMessages']
  const { code, stdout } = await glueHere(['topics', ...seed, '--duration', '1.5', ...flags])
  t.is(code, 0)
  t.regex(stdout, /glue\/T\/counter #1 from T \(retained\): \{"n":1,/)
  t.regex(stdout, /closed: published ([1-9]\d*), delivered \1 topic messages/, 'its own subscription got each one')
})

withNative.serial('--network-key-file and --network-key: only endpoints with the key see the publications', async (t) => {
  const flags = isolatedFlags()
  const dir = mkdtempSync(join(tmpdir(), 'glue-key-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'network.key')
  const key = randomBytes(32).toString('hex')
  writeFileSync(file, `# the plant's network key\n${key}\n`)
  const publication = ['cli/secret', '{"v":7}', '--codec', 'json', '--depth', '5', '--count', '1']
  const args = ['--import=tsx', cli, 'pub', ...publication, '--no-wait-subscribers', '--wait', '0.1', '--linger', '60', '--network-key-file', file, ...flags]
  const pub = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => pub.on('exit', (code, signal) => resolve(code ?? signal)))
  try {
    await new Promise<void>((resolve, reject) => {
      let printed = ''
      pub.stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString()
        if (printed.includes('published 1 message to 0 endpoints on cli/secret')) resolve()
      })
      pub.on('exit', () => reject(new Error(`glue pub exited early: ${printed}`)))
    })
    const outsider = await glueHere(['sub', 'cli/#', '--duration', '1.5', '--json', ...flags])
    t.is(outsider.code, 0, outsider.stderr)
    t.is(outsider.stdout, '', 'without the key: nothing')
    const wrong = await glueHere(['sub', 'cli/#', '--duration', '1.5', '--network-key', randomBytes(32).toString('base64'), ...flags])
    t.is(wrong.stdout, '', 'with another key: nothing')
    const insider = await glueHere(['sub', 'cli/#', '--count', '1', '--json', '--duration', '20', '--network-key', key, ...flags])
    t.is(insider.code, 0, insider.stderr)
    t.like(JSON.parse(insider.stdout), { topic: 'cli/secret', value: { v: 7 } })
  } finally {
    pub.kill('SIGTERM')
  }
  t.is(await exited, 0)
  const missing = await glueHere(['peers', '--duration', '0.1', '--network-key-file', join(dir, 'nope'), ...flags])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /^glue: cannot read --network-key-file .*nope: ENOENT$/)
})
