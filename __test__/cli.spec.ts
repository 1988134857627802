import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

import test from 'ava'

import { Endpoint } from '../index'
import { formatPeerTable, preview } from '../src/cli/common'
import { demoNames } from '../src/cli/demo'
import { kebabCase, translateLegacyArgs } from '../src/cli/legacy-flags'
import { transportOptions } from '../src/cli/transport'

const execFileAsync = promisify(execFile)
const cli = join(__dirname, '..', 'src', 'cli', 'main.ts')

/** Runs the CLI from source (via tsx) and returns its exit code and output. */
async function glue(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import=tsx', cli, ...args], {
      env: { ...process.env, ...env },
      timeout: 30_000,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}

test('kebabCase', (t) => {
  t.is(kebabCase('interfaceName'), 'interface-name')
  t.is(kebabCase('sendMessages'), 'send-messages')
  t.is(kebabCase('listenPort'), 'listen-port')
  t.is(kebabCase('duration'), 'duration')
  t.is(kebabCase('networkID'), 'network-id')
  t.is(kebabCase('maxIPSize'), 'max-ip-size')
})

test('the seed command line translates verbatim', (t) => {
  const seed =
    'transport -interfaceName lo -multicastAddress 239.192.137.1:37320 -listenPort 37321 -endpointName A -sendMessages'
  t.deepEqual(translateLegacyArgs(seed.split(' ')), [
    'transport',
    '--interface-name',
    'lo',
    '--multicast-address',
    '239.192.137.1:37320',
    '--listen-port',
    '37321',
    '--endpoint-name',
    'A',
    '--send-messages',
  ])
})

test('legacy translation leaves short flags, numbers, values, --flags and everything after -- alone', (t) => {
  t.deepEqual(translateLegacyArgs(['-h', '-1', '-5.5', 'A', '--group', 'x', '-endpointName=B', '--', '-keepMe']), [
    '-h',
    '-1',
    '-5.5',
    'A',
    '--group',
    'x',
    '--endpoint-name=B',
    '--',
    '-keepMe',
  ])
})

test('transport flags become endpoint options; seed aliases and --listen-port work', (t) => {
  t.deepEqual(
    transportOptions({ interfaceName: 'lo', multicastAddress: '239.1.1.1:1000', listenPort: 37321, endpointName: 'A' }),
    { interface: 'lo', group: '239.1.1.1:1000', listenAddress: ':37321', name: 'A' },
  )
  t.deepEqual(
    transportOptions({ interface: '127.0.0.1', interfaceName: 'eth9', name: 'B', endpointName: 'C', networkId: 3 }),
    {
      interface: '127.0.0.1',
      name: 'B',
      networkId: 3,
    },
  )
  t.deepEqual(transportOptions({}), {}, 'nothing set: GLUE_* variables and defaults apply')
})

test('demo names', (t) => {
  t.deepEqual(demoNames(4), ['A', 'B', 'C', 'D'])
  t.is(demoNames(28)[27], 'N27')
})

test('preview shows text, or hex for binary, truncated', (t) => {
  t.is(preview(Buffer.from('hello')), 'hello')
  t.is(preview(Buffer.from([0, 1, 255])), '0x0001ff')
  t.is(preview(Buffer.from('x'.repeat(10)), 4), 'xxxx… (10 bytes)')
})

test('peer table formatting', (t) => {
  const since = new Date(1_000_000)
  const table = formatPeerTable(
    [{ id: 'aaaaaaaaaaaaaaaa', name: 'A', address: '127.0.0.1:1', announcePeriodMs: 100, since, extensions: new Map() }],
    1_002_500,
  )
  t.regex(table, /^id\s+name\s+address\s+period \(ms\)\s+seen for \(s\)\n/)
  t.regex(table, /aaaaaaaaaaaaaaaa {2}A {5}127\.0\.0\.1:1 {2}100 {10}2\.5\n1 peer$/)
})

test('glue --help lists the commands', async (t) => {
  const { code, stdout } = await glue(['--help'])
  t.is(code, 0)
  for (const command of ['demo', 'transport', 'peers', 'pub', 'sub', 'topics', 'map', 'consensus', 'kv']) {
    t.regex(stdout, new RegExp(`^  ${command}[ |]`, 'm'))
  }
  t.regex(stdout, /GLUE_NETWORK_ID/)
})

test('map --help shows its flags, output formats and exit codes', async (t) => {
  const { code, stdout } = await glue(['map', '--help'])
  t.is(code, 0)
  t.regex(stdout, /^Usage: glue map \[options\] <name>$/m)
  for (const flag of ['--set <key=value>', '--delete <key>', '--quorum <majority\|n>', '--watch', '--json', '--sync-timeout <ms>']) {
    t.regex(stdout, new RegExp(`^  ${flag}`, 'm'))
  }
  t.regex(stdout, /set key=value \(from <endpoint>\)/)
  t.regex(stdout, /Exit codes: 0/)
})

test('consensus --help shows its flags, output lines and exit codes', async (t) => {
  const { code, stdout } = await glue(['consensus', '--help'])
  t.is(code, 0)
  t.regex(stdout, /^Usage: glue consensus \[options\] <name>$/m)
  for (const flag of ['--members <A,B,C>', '--name <name>', '--data-dir <dir>', '--election-ticks <n>', '--tick-ms <ms>', '--json', '--duration <s>']) {
    t.regex(stdout, new RegExp(`^  ${flag}`, 'm'))
  }
  t.regex(stdout, /"leader B \(term 4\)"/)
  t.regex(stdout, /"lost-quorum \(1 of 3 members reachable, 2 needed\)"/)
  t.regex(stdout, /Exit codes: 0/)
})

test('kv --help shows its operations, flags, output and exit codes', async (t) => {
  const { code, stdout } = await glue(['kv', '--help'])
  t.is(code, 0)
  t.regex(stdout, /^Usage: glue kv \[options\] <name> <operation> \[args\.\.\.\]$/m)
  for (const op of ['put <key> <value>', 'get <key>', 'cas <key> <expected> <next>', 'delete <key>', 'list \\[prefix\\]', 'watch \\[prefix\\]']) {
    t.regex(stdout, new RegExp(`^  ${op} `, 'm'))
  }
  for (const flag of ['--members <A,B,C>', '--name <name>', '--deadline-ms <ms>', '--json', '--absent', '--codec <codec>']) {
    t.regex(stdout, new RegExp(`^  ${flag}`, 'm'))
  }
  t.regex(stdout, /no client-only mode/)
  t.regex(stdout, /Exit codes: 0/)
})

test('transport --help shows the seed flags', async (t) => {
  const { code, stdout } = await glue(['transport', '--help'])
  t.is(code, 0)
  t.regex(stdout, /--interface-name/)
  t.regex(stdout, /--send-messages/)
})

test('an unknown interface is a clear error and exit code 1', async (t) => {
  const { code, stderr } = await glue(['transport', '-interfaceName', 'nosuchif0', '--duration', '1'])
  t.is(code, 1)
  t.regex(stderr, /^glue: interface: "nosuchif0": no such network interface/m)
})

test('a bad GLUE_* variable is a clear error naming it', async (t) => {
  const { code, stderr } = await glue(['peers', '--duration', '1'], { GLUE_DISCOVERY_RATE_MILLISECONDS: 'fast' })
  t.is(code, 1)
  t.regex(stderr, /GLUE_DISCOVERY_RATE_MILLISECONDS: "fast"/)
})

test('a bad flag value is a usage error', async (t) => {
  const { code, stderr } = await glue(['demo', '--count', 'many'])
  t.not(code, 0)
  t.regex(stderr, /--count must be an integer/)
})

test('Endpoint is exported for the CLI', (t) => {
  t.is(typeof Endpoint.open, 'function')
})
