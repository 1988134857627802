/**
 * Test hosts in Linux network namespaces (root only): a bridge namespace plus one namespace per host, each host with
 * a veth `eth0` = 10.77.0.<i>/24 into the bridge, and a multicast route. On top: random input loss with nftables,
 * link down/up (a partition), cutting a host off in the bridge with nftables (a partition without any error on the
 * host), and fixture processes running inside a host namespace whose stdout JSON lines are collected as records.
 *
 * Names are unique per run (`g<4 hex>-br`, `g<4 hex>-h1`, bridge-side veths `g<4 hex>-v1`), so parallel runs never
 * meet. `useNet(t, n)` tears everything down after the test, pass or fail; an exit / SIGTERM handler does the same
 * if the worker dies first (ava sends SIGTERM on its global timeout). Nothing here sends a packet outside the
 * namespaces it created.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import anyTest, { type ExecutionContext } from 'ava'

import { isNativeAvailable } from '../../src/transport/native'

/** One test host: its namespace, address and the name of its veth end in the bridge namespace. */
export interface Host {
  /** 1-based host number; the address is 10.77.0.<index>. */
  index: number
  /** Network namespace name, e.g. `g1a2b-h1`. */
  ns: string
  /** IPv4 address of `eth0` in the namespace. */
  ip: string
  /** The veth end in the bridge namespace (set it down for a partition). */
  veth: string
}

/** A test network: the bridge namespace, the hosts, and the processes started in them. */
export interface TestNet {
  /** The unique prefix of every name, e.g. `g1a2b`. */
  prefix: string
  /** The bridge namespace. */
  bridgeNs: string
  hosts: Host[]
  /** A random network ID for glue, so endpoints of other runs (if they could hear us) are ignored anyway. */
  networkId: number
  /** Processes started with `spawnIn`, killed on teardown. */
  procs: Set<NsProcess>
}

/** A JSON line printed by a fixture. */
export type NsRecord = Record<string, unknown> & { event: string }

/** A fixture process running in a host namespace. */
export interface NsProcess {
  /** The host it runs on. */
  host: Host
  proc: ChildProcessWithoutNullStreams
  /** Every JSON record printed so far, in order. */
  records: NsRecord[]
  /** Everything printed on stderr (plus stdout lines that were not JSON). */
  stderr: () => string
  /** Writes one JSON command line to its stdin. */
  command: (command: object) => void
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>
  /** The first record (already printed or still to come) that matches; rejects on timeout or exit. */
  waitFor: (match: (record: NsRecord) => boolean, timeoutMs?: number) => Promise<NsRecord>
  /** Ends its stdin (the fixtures then close their endpoint and exit) and waits; SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<number | string>
}

/**
 * The absolute path of a system tool, looked up in the system directories only: under `npx`, PATH starts with
 * node_modules/.bin, where `nft` is @vercel/nft (a file tracer), not nftables. Undefined when not installed.
 */
function systemTool(name: string): string | undefined {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((dir) => join(dir, name)).find((path) => existsSync(path))
}

/** `ip` (iproute2) and `nft` (nftables), by absolute path when installed. */
export const IP = systemTool('ip') ?? 'ip'
export const NFT = systemTool('nft') ?? 'nft'

/** Nets not yet torn down, for the emergency cleanup on exit. */
const live = new Set<TestNet>()

/** Runs a command synchronously; throws with its stderr on failure. */
export function run(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

/** Runs `ip netns exec <ns> <args...>`. */
export function inNs(ns: string, args: string[], input?: string): string {
  return run(IP, ['netns', 'exec', ns, ...args], input)
}

/** Runs a command, ignoring failure (for teardown). */
function tryRun(file: string, args: string[]): void {
  try {
    run(file, args)
  } catch {
    // already gone
  }
}

/** True when the command succeeds. */
function works(file: string, args: string[]): boolean {
  try {
    run(file, args)
    return true
  } catch {
    return false
  }
}

/**
 * The test function of a netns spec file (serial: each test runs several Node processes) and a title maker: when
 * namespaces (or the addon) are not available, every test is skipped with the reason in its title, and the reason is
 * printed once for `file`.
 */
export function netnsTests(file: string): { test: typeof anyTest.serial; title: (text: string) => string } {
  const reason = isNativeAvailable() ? netnsSkipReason() : 'the native addon is not built'
  if (reason !== undefined) console.warn(`${file}: skipping every test: ${reason}`)
  return {
    test: reason === undefined ? anyTest.serial : (anyTest.serial.skip as unknown as typeof anyTest.serial),
    title: (text) => (reason === undefined ? text : `${text} (skipped: ${reason})`),
  }
}

/**
 * Why namespace tests cannot run here, or undefined when they can: needs root, `ip` (iproute2), `nft` (nftables),
 * and a kernel that lets us create a network namespace (checked by creating and deleting one).
 */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'network namespace tests need root (CI runs them as root)'
  if (systemTool('ip') === undefined) return '`ip` (iproute2) is missing: apt-get install -y iproute2'
  if (systemTool('nft') === undefined) return '`nft` (nftables) is missing: apt-get install -y nftables'
  const probe = `g${randomBytes(2).toString('hex')}-probe`
  if (!works(IP, ['netns', 'add', probe])) return 'cannot create a network namespace (`ip netns add` failed)'
  tryRun(IP, ['netns', 'del', probe])
  return undefined
}

/** A prefix `<letter><4 hex>` (`g1a2b`) that no existing namespace uses. */
export function freshPrefix(letter = 'g'): string {
  const taken = run(IP, ['netns', 'list'])
  for (;;) {
    const prefix = `${letter}${randomBytes(2).toString('hex')}`
    if (!taken.includes(`${prefix}-`)) return prefix
  }
}

/** Creates the bridge namespace with an up bridge `br0` (multicast snooping off: it floods, like a hub). */
function createBridge(ns: string): void {
  run(IP, ['netns', 'add', ns])
  inNs(ns, [IP, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0'])
  inNs(ns, [IP, 'link', 'set', 'br0', 'up'])
}

/** Creates a host namespace with `eth0` = 10.77.0.<index>/24 plugged into the bridge, and a multicast route. */
function createHost(net: TestNet, index: number): Host {
  const host: Host = { index, ns: `${net.prefix}-h${index}`, ip: `10.77.0.${index}`, veth: `${net.prefix}-v${index}` }
  run(IP, ['netns', 'add', host.ns])
  net.hosts.push(host) // from here on, teardown removes it
  run(IP, ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns])
  run(IP, ['link', 'set', host.veth, 'netns', net.bridgeNs])
  inNs(net.bridgeNs, [IP, 'link', 'set', host.veth, 'master', 'br0', 'up'])
  inNs(host.ns, [IP, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0'])
  inNs(host.ns, [IP, 'link', 'set', 'eth0', 'up'])
  inNs(host.ns, [IP, 'link', 'set', 'lo', 'up'])
  inNs(host.ns, [IP, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0'])
  return host
}

/**
 * Creates a bridge and `hostCount` hosts (10.77.0.1 ...). On failure, removes what was created and rethrows.
 * Prefer `useNet`, which also registers the teardown.
 */
export function createNet(hostCount: number): TestNet {
  const prefix = freshPrefix()
  const net: TestNet = {
    prefix,
    bridgeNs: `${prefix}-br`,
    hosts: [],
    networkId: randomInt(1, 0xffff_ffff),
    procs: new Set(),
  }
  trackNet(net)
  try {
    createBridge(net.bridgeNs)
    for (let i = 1; i <= hostCount; i++) createHost(net, i)
  } catch (err) {
    destroyNetSync(net)
    throw err
  }
  return net
}

/**
 * Registers a net for the emergency cleanup on exit (its hosts and `bridgeNs` are deleted and its processes killed
 * if the worker dies before the teardown). `createNet` does it; other net builders (helpers/netns-routed.ts) too.
 */
export function trackNet(net: TestNet): void {
  live.add(net)
}

/** Deletes the namespaces (which deletes their veths) and any veth left in our own namespace by a failed setup. */
function deleteNamespaces(net: TestNet): void {
  for (const host of net.hosts) {
    tryRun(IP, ['netns', 'del', host.ns])
    tryRun(IP, ['link', 'del', host.veth]) // only exists if setup failed before moving it
  }
  tryRun(IP, ['netns', 'del', net.bridgeNs])
  live.delete(net)
}

/** Synchronous teardown (exit handlers, a failed setup): SIGKILL every process, then delete the namespaces. */
export function destroyNetSync(net: TestNet): void {
  for (const p of net.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL')
  deleteNamespaces(net)
}

/** Teardown: SIGKILLs the processes still running, waits for them to exit, then deletes every namespace. */
export async function destroyNet(net: TestNet): Promise<void> {
  for (const p of net.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL')
  await Promise.all([...net.procs].map((p) => p.exited))
  deleteNamespaces(net)
}

/** Creates a net of `hostCount` hosts that is torn down when the test ends (pass or fail). */
export function useNet(t: ExecutionContext, hostCount: number): TestNet {
  const net = createNet(hostCount)
  t.teardown(() => destroyNet(net))
  return net
}

/** Emergency cleanup when the worker exits or is killed (ava's timeout sends SIGTERM) with nets still alive. */
function cleanupAll(): void {
  for (const net of live) destroyNetSync(net)
}
process.on('exit', cleanupAll)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    cleanupAll()
    process.kill(process.pid, signal) // the default action, now that the handler is gone
  })
}

/** The IPv6 addresses {@link addIPv6} gives a host. */
export interface HostIPv6 {
  /** Unique local address fd00:78::<index> (in fd00:78::/64). */
  ula: string
  /** Link-local address fe80::78:<index> (needs the scope `%eth0`). */
  linkLocal: string
}

/**
 * Gives every host of `net` the IPv6 addresses fd00:78::<i>/64 and fe80::78:<i>/64 on `eth0`, both `nodad` (usable
 * at once), after removing the kernel's own link-local address (which would become the source of link-local
 * multicast once its duplicate address detection ends, moving the host's address under a running test).
 */
export function addIPv6(net: TestNet): Map<Host, HostIPv6> {
  const out = new Map<Host, HostIPv6>()
  for (const host of net.hosts) {
    const v6 = { ula: `fd00:78::${host.index}`, linkLocal: `fe80::78:${host.index}` }
    inNs(host.ns, [IP, '-6', 'addr', 'flush', 'dev', 'eth0', 'scope', 'link'])
    inNs(host.ns, [IP, '-6', 'addr', 'add', `${v6.ula}/64`, 'dev', 'eth0', 'nodad'])
    inNs(host.ns, [IP, '-6', 'addr', 'add', `${v6.linkLocal}/64`, 'dev', 'eth0', 'nodad'])
    out.set(host, v6)
  }
  return out
}

/** The index of `eth0` in the host's namespace (the scope ID of its link-local addresses). */
export function eth0Index(host: Host): number {
  return Number(inNs(host.ns, ['cat', '/sys/class/net/eth0/ifindex']).trim())
}

/** The nftables table holding the loss rule of a host. */
const LOSS_TABLE = 'glue_loss'

/** Sets a sysctl inside the host's namespace, e.g. `net.ipv4.ip_local_port_range=37320 37321`. */
export function setSysctl(host: Host, setting: string): void {
  inNs(host.ns, [systemTool('sysctl') ?? 'sysctl', '-q', '-w', setting])
}

/**
 * Drops about `percent` % of the UDP datagrams arriving on the host's `eth0`, at random (nftables `numgen random`),
 * counting them. `ports` limits it to those destination ports; default: all UDP (data, ACKs, announcements).
 * Replaces an earlier loss rule of the host.
 */
export function addLoss(host: Host, percent: number, ports?: number[]): void {
  removeLoss(host)
  const match = ports === undefined ? 'meta l4proto udp' : `udp dport { ${ports.join(', ')} }`
  inNs(
    host.ns,
    [NFT, '-f', '-'],
    `table inet ${LOSS_TABLE} {
      chain input {
        type filter hook input priority 0; policy accept;
        iifname "eth0" ${match} numgen random mod 100 < ${Math.round(percent)} counter drop
      }
    }\n`,
  )
}

/** Removes the host's loss rule (no error if there is none). */
export function removeLoss(host: Host): void {
  tryRun(IP, ['netns', 'exec', host.ns, NFT, 'delete', 'table', 'inet', LOSS_TABLE])
}

/** How many datagrams the host's loss rule has dropped so far (0 without a rule). */
export function lossDropped(host: Host): number {
  return nftDropped(host.ns, 'inet', LOSS_TABLE)
}

/** The packets the counters of nftables table `family table` in namespace `ns` counted, summed (0 without it). */
export function nftDropped(ns: string, family: 'inet' | 'bridge', table: string): number {
  try {
    const listing = inNs(ns, [NFT, 'list', 'table', family, table])
    return [...listing.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
  } catch {
    return 0
  }
}

/** Partitions (`'down'`) or heals (`'up'`) a host by setting its veth end in the bridge namespace down or up. */
export function setLink(net: TestNet, host: Host, state: 'up' | 'down'): void {
  inNs(net.bridgeNs, [IP, 'link', 'set', host.veth, state])
}

/** The nftables table (bridge family, in the bridge namespace) that cuts hosts off. */
const CUT_TABLE = 'glue_cut'

/**
 * Cuts `host` off from every other host, both ways, as a pulled cable would: the bridge drops every frame from and
 * to its veth (nftables, bridge family, forward hook), so the host sees no error, only silence. `heal` undoes it.
 */
export function cutOff(net: TestNet, host: Host): void {
  inNs(
    net.bridgeNs,
    [NFT, '-f', '-'],
    `table bridge ${CUT_TABLE} {
      chain forward {
        type filter hook forward priority 0; policy accept;
      }
    }
    add rule bridge ${CUT_TABLE} forward iifname "${host.veth}" counter drop
    add rule bridge ${CUT_TABLE} forward oifname "${host.veth}" counter drop\n`,
  )
}

/**
 * Partitions the hosts into `sides` (lists of hosts; a host may be on several sides, as the shared member of a
 * "bridge"): the bridge drops every frame between two hosts that share no side, both ways, and lets the rest
 * through. Replaces earlier cuts in one nftables transaction; `healCuts` undoes it.
 */
export function partition(net: TestNet, sides: readonly (readonly Host[])[]): void {
  const connected = (a: Host, b: Host): boolean => sides.some((side) => side.includes(a) && side.includes(b))
  const rules: string[] = []
  for (const a of net.hosts) {
    for (const b of net.hosts) {
      if (a !== b && !connected(a, b)) {
        rules.push(`add rule bridge ${CUT_TABLE} forward iifname "${a.veth}" oifname "${b.veth}" counter drop`)
      }
    }
  }
  inNs(
    net.bridgeNs,
    [NFT, '-f', '-'],
    `add table bridge ${CUT_TABLE}
    delete table bridge ${CUT_TABLE}
    table bridge ${CUT_TABLE} {
      chain forward {
        type filter hook forward priority 0; policy accept;
      }
    }
    ${rules.join('\n')}\n`,
  )
}

/** Lets every frame through the bridge again (removes all cuts; no error if there are none). */
export function healCuts(net: TestNet): void {
  tryRun(IP, ['netns', 'exec', net.bridgeNs, NFT, 'delete', 'table', 'bridge', CUT_TABLE])
}

/** How many frames the cuts have dropped so far (both directions, every cut host; 0 without cuts). */
export function cutDropped(net: TestNet): number {
  return nftDropped(net.bridgeNs, 'bridge', CUT_TABLE)
}

/** Where the fixtures live. */
const FIXTURES = join(__dirname, '..', 'fixtures')

/**
 * Starts `node --import=tsx fixtures/<fixture> '<json args>'` inside the host's namespace and collects its stdout
 * JSON lines. The process is killed on the net's teardown if it is still running.
 */
export function spawnIn(net: TestNet, host: Host, fixture: string, args: object): NsProcess {
  const proc = spawn(
    IP,
    ['netns', 'exec', host.ns, process.execPath, '--import=tsx', join(FIXTURES, fixture), JSON.stringify(args)],
    { cwd: join(__dirname, '..', '..') },
  )
  const records: NsRecord[] = []
  const watchers = new Set<(record: NsRecord | undefined) => void>()
  let errText = ''
  proc.stderr.on('data', (chunk: Buffer) => (errText += chunk.toString()))
  proc.stdin.on('error', () => {}) // writing to a process that already exited
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let record: NsRecord
    try {
      record = JSON.parse(line) as NsRecord
    } catch {
      errText += `(non-JSON stdout) ${line}\n`
      return
    }
    records.push(record)
    for (const watcher of watchers) watcher(record)
  })
  const exited = new Promise<number | string>((resolve) =>
    proc.on('close', (code, signal) => {
      for (const watcher of watchers) watcher(undefined)
      resolve(code ?? signal ?? -1)
    }),
  )
  const self: NsProcess = {
    host,
    proc,
    records,
    stderr: () => errText,
    command: (command) => proc.stdin.write(`${JSON.stringify(command)}\n`),
    exited,
    waitFor: (match, timeoutMs = 15_000) => waitForRecord(self, watchers, match, timeoutMs),
    stop: (graceMs = 10_000) => stopProcess(self, graceMs),
  }
  net.procs.add(self)
  return self
}

/** Resolves with the first matching record of `p`, looking at the past ones first; rejects on timeout or exit. */
function waitForRecord(
  p: NsProcess,
  watchers: Set<(record: NsRecord | undefined) => void>,
  match: (record: NsRecord) => boolean,
  timeoutMs: number,
): Promise<NsRecord> {
  const found = p.records.find(match)
  if (found !== undefined) return Promise.resolve(found)
  const describe = (why: string) =>
    new Error(
      `${why} on ${p.host.ns}; last records ${JSON.stringify(p.records.slice(-5))}; stderr ${p.stderr().slice(-2000)}`,
    )
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return Promise.reject(describe('process had exited'))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(undefined, describe(`no matching record in ${timeoutMs} ms`)), timeoutMs)
    const finish = (record: NsRecord | undefined, err?: Error): void => {
      clearTimeout(timer)
      watchers.delete(watcher)
      if (record !== undefined) resolve(record)
      else reject(err ?? describe('process exited without a matching record'))
    }
    const watcher = (record: NsRecord | undefined): void => {
      if (record === undefined) finish(undefined)
      else if (match(record)) finish(record)
    }
    watchers.add(watcher)
  })
}

/** Ends stdin and waits for the exit; SIGKILL (and 'timeout') if still running after `graceMs`. */
async function stopProcess(p: NsProcess, graceMs: number): Promise<number | string> {
  p.proc.stdin.end()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)))
  const result = await Promise.race([p.exited, timeout])
  clearTimeout(timer)
  if (result === 'timeout') p.proc.kill('SIGKILL')
  return result
}
