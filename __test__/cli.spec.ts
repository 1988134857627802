import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

import test, { type ExecutionContext } from 'ava'

import { Endpoint } from '../index'
import { formatPeerTable, preview } from '../src/cli/common'
import { DEMO_ANNOUNCE_PERIOD_MS, demoNames } from '../src/cli/demo'
import { kebabCase, translateLegacyArgs, writtenAs } from '../src/cli/legacy-flags'
import { usageErrorLine } from '../src/cli/main'
import { transportOptions } from '../src/cli/transport'
import { DEADLINE_MS } from './helpers/cli'
import { isolatedOptions, until } from './helpers/loopback'

const execFileAsync = promisify(execFile)
const cli = join(__dirname, '..', 'src', 'cli', 'main.ts')

/** Runs the CLI from source (via tsx) and returns its exit code and output. */
async function glue(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import=tsx', cli, ...args], {
      env: { ...process.env, ...env },
      timeout: DEADLINE_MS,
      killSignal: 'SIGKILL',
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
  t.is(code, 1)
  t.regex(stderr, /--count must be an integer/)
})

/** A test that runs CLI processes one after the other may need more than ava's 2 minutes on a busy machine. */
const LONG_TEST_MS = 5 * 60_000

/** Flags for a CLI run on the group and network of `options` (from isolatedOptions()). */
const flagsOf = (options: ReturnType<typeof isolatedOptions>): string[] => [
  '--group',
  String(options.group),
  '--network-id',
  String(options.networkId),
  '--announce-period',
  '100',
  '--interface',
  '127.0.0.1',
]

/**
 * `glue <args> | head -<lines>`: runs the CLI with stdout (or stderr, `close: 'stderr'`) a pipe that this test closes
 * once `lines` lines arrived on stdout; `after` runs once the pipe is closed (to make the CLI write again). Resolves to
 * the exit code, what arrived before, and stderr (when it stayed open).
 */
async function intoHead(
  t: ExecutionContext,
  args: string[],
  { lines = 1, close = 'stdout', after }: { lines?: number; close?: 'stdout' | 'stderr'; after?: (proc: ReturnType<typeof spawn>) => Promise<void> } = {},
): Promise<{ code: number | string; head: string[]; stderr: string }> {
  const proc = spawn(process.execPath, ['--import=tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let exit: number | string | undefined
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve((exit = code ?? signal ?? -1))),
  )
  t.teardown(() => {
    if (exit === undefined) proc.kill('SIGKILL')
  })
  let out = ''
  let stderr = ''
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const arrived = await until(() => out.split('\n').length > lines || exit !== undefined, DEADLINE_MS)
  t.true(arrived && exit === undefined, `expected ${lines} line(s) while it runs; stdout ${out}; stderr ${stderr}`)
  const head = out.split('\n').slice(0, lines)
  const pipe = close === 'stdout' ? proc.stdout : proc.stderr
  const closed = new Promise((resolve) => pipe.once('close', resolve))
  pipe.destroy()
  await closed
  if (after !== undefined) await after(proc)
  const ended = await until(() => exit !== undefined, DEADLINE_MS)
  t.true(ended, `the CLI should end once its reader has gone; stderr ${stderr}`)
  return { code: await exited, head, stderr }
}

test.serial('glue demo | head -1 ends quietly with exit code 0', async (t) => {
  const { code, head, stderr } = await intoHead(t, ['demo', '--count', '2', '--duration', '60'])
  t.regex(head[0], /^\[\+ *\d+ ms\] 2 endpoints on network/)
  t.is(stderr, '', 'no EPIPE, no stack trace')
  t.is(code, 0)
})

test.serial("glue sub '#' | head -1 ends quietly with exit code 0", async (t) => {
  const options = isolatedOptions()
  const publisher = await Endpoint.open({ ...options, name: 'head-pub' })
  // A steady stream of publications for the subscriber to print (a traffic source, not a wait).
  const timer = setInterval(() => publisher.publish('head/x', 'tick'), 50)
  t.teardown(async () => {
    clearInterval(timer)
    await publisher.close()
  })
  const { code, head, stderr } = await intoHead(t, ['sub', '#', ...flagsOf(options)])
  t.regex(head[0], /^head\/x #\d+ from head-pub: tick$/)
  t.is(stderr, '')
  t.is(code, 0)
})

test.serial('glue peers --watch | head -2 ends quietly with exit code 0 at its next table', async (t) => {
  const options = isolatedOptions()
  let joiner: Endpoint | undefined
  t.teardown(() => joiner?.close())
  const { code, head, stderr } = await intoHead(t, ['peers', '--watch', '--duration', '0.2', ...flagsOf(options)], {
    lines: 2,
    // A peer comes up: the watcher reprints its table into the closed pipe.
    after: async () => void (joiner = await Endpoint.open({ ...options, name: 'head-peer' })),
  })
  t.deepEqual(head.slice(0, 1), [''])
  t.regex(head[1], /network \d+, group 239\.255\./)
  t.is(stderr, '')
  t.is(code, 0)
})

test.serial('glue transport --send-messages | head -1 and topics --send-messages | head -1 end with exit code 0', async (t) => {
  t.timeout(LONG_TEST_MS)
  for (const command of ['transport', 'topics']) {
    const { code, stderr } = await intoHead(t, [command, '--send-messages', ...flagsOf(isolatedOptions())])
    t.is(stderr, '', command)
    t.is(code, 0, command)
  }
})

test.serial('a closed stderr (EPIPE on stderr) does not crash either: SIGTERM still closes and exits 0', async (t) => {
  const { code } = await intoHead(t, ['topics', ...flagsOf(isolatedOptions())], {
    close: 'stderr',
    // "closing (Ctrl-C again to quit at once)" goes to the closed stderr.
    after: async (proc) => void proc.kill('SIGTERM'),
  })
  t.is(code, 0)
})

test.serial('usage errors are one line naming the problem, with a hint to --help, exit code 1', async (t) => {
  t.timeout(LONG_TEST_MS)
  const cases: [string[], string][] = [
    [['demo', '-bogusFlag'], "glue: unknown option '-bogusFlag' (see glue demo --help)"],
    [['transport', '-bogusFlag=3'], "glue: unknown option '-bogusFlag=3' (see glue transport --help)"],
    [['-bogusFlag'], "glue: unknown option '-bogusFlag' (see glue --help)"],
    [['demo', '--bogus'], "glue: unknown option '--bogus' (see glue demo --help)"],
    [['frobnicate'], "glue: unknown command 'frobnicate' (see glue --help)"],
    [['pub'], "glue: missing required argument 'topic' (see glue pub --help)"],
    [
      ['demo', '--count', 'many'],
      `glue: option '--count <n>' argument 'many' is invalid. --count must be an integer in 2..64, got "many" (see glue demo --help)`,
    ],
    [
      ['topics', '--subscribe', 'bad/#/x'],
      `glue: option '--subscribe <filter>' argument 'bad/#/x' is invalid. invalid --subscribe "bad/#/x": "#" must be the last level (see glue topics --help)`,
    ],
    [['map', 'cfg', '--quorum', '2'], 'glue: --quorum needs --set or --delete (there is nothing to wait for) (see glue map --help)'],
  ]
  const results: Awaited<ReturnType<typeof glue>>[] = []
  for (let i = 0; i < cases.length; i += 3) results.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => glue(args)))))
  results.forEach(({ code, stdout, stderr }, i) => {
    const what = cases[i][0].join(' ')
    t.is(stderr, `${cases[i][1]}\n`, what)
    t.is(stdout, '', `${what}: nothing printed before the error`)
    t.is(code, 1, what)
  })
})

test('usage error lines and flags as written (pure parts)', (t) => {
  t.is(usageErrorLine("error: unknown option '--x'\n(Did you mean --y?)\n", 'glue demo'), "glue: unknown option '--x' (Did you mean --y?) (see glue demo --help)")
  const asWritten = writtenAs(['-listenPort=1', 'x', '-bogusFlag'], translateLegacyArgs(['-listenPort=1', 'x', '-bogusFlag']))
  t.is(asWritten("unknown option '--bogus-flag'"), "unknown option '-bogusFlag'")
  t.is(asWritten("option '--listen-port' and '--listen-port=1'"), "option '-listenPort' and '-listenPort=1'")
  t.is(asWritten("unknown option '--other'"), "unknown option '--other'")
})

test.serial('glue --version and -V print the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  for (const flag of ['--version', '-V']) {
    const { code, stdout, stderr } = await glue([flag])
    t.is(stdout, `${version}\n`, flag)
    t.is(stderr, '', flag)
    t.is(code, 0, flag)
  }
})

test.serial('demo --help shows the defaults demo applies, and every demo line has the same time stamp', async (t) => {
  t.timeout(LONG_TEST_MS)
  const help = await glue(['demo', '--help'])
  t.is(help.code, 0)
  const text = help.stdout.replace(/\s+/g, ' ')
  t.regex(text, /--network-id <n> network ID, u32 \(env GLUE_NETWORK_ID; default a random one\)/)
  t.regex(text, /--group <ip:port> discovery multicast group \(env GLUE_DISCOVERY_\*; default 239\.192\.137\.1 with a free port\)/)
  t.regex(text, new RegExp(`--announce-period <ms> announce period, ms \\(env GLUE_DISCOVERY_RATE_MILLISECONDS; default ${DEMO_ANNOUNCE_PERIOD_MS}\\)`))
  t.regex(text, /--duration <s> how long to send after discovery, seconds \(default: 5\)/)
  t.regex(text, /--count <n> number of endpoints \(default: 4\)/)
  const env = { GLUE_NETWORK_ID: undefined, GLUE_DISCOVERY_TARGET_ADDRESS: undefined, GLUE_DISCOVERY_RATE_MILLISECONDS: undefined }
  const [one, two] = await Promise.all([glue(['demo', '--count', '2', '--duration', '2.5'], env), glue(['demo', '--count', '2', '--duration', '0.1'], env)])
  t.is(one.code, 0, one.stderr)
  const lines = one.stdout.trimEnd().split('\n')
  const first = /^\[\+ *\d+ ms\] 2 endpoints on network (\d+), group 239\.192\.137\.1:(\d+), interface 127\.0\.0\.1, announcing every (\d+) ms$/
  const [, network, port, period] = first.exec(lines[0]) ?? []
  t.truthy(network, lines[0])
  t.is(Number(period), DEMO_ANNOUNCE_PERIOD_MS, 'the announce period help shows')
  const [, network2, port2] = first.exec(two.stdout.split('\n')[0]) ?? []
  t.not(network2, network, 'a random network ID per run')
  t.not(port2, port, 'a free port per run')
  t.not(port, '37320')
  for (const kind of [/ <- B \(unicast\): /, / <= demo\//, /^ closed: A sent \d+/, / round 2$/]) {
    t.truthy(lines.find((line) => kind.test(line.replace(/^\[\+ *\d+ ms\]/, ''))), `a line matching ${kind}`)
  }
  for (const line of lines) t.regex(line, /^\[\+ *\d+ ms\] \S/)
})

test('Endpoint is exported for the CLI', (t) => {
  t.is(typeof Endpoint.open, 'function')
})
