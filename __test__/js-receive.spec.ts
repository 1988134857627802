/**
 * `receiveOn: 'js'`: the JavaScript thread reads the sockets itself (libuv poll handles), so that a message wakes one
 * thread. Real addon, loopback only, endpoints in one process (one in a child process where the test needs a
 * JavaScript thread that blocks). Skipped until the addon is built, and off Linux (the wake-up count reads /proc).
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import anyTest, { type TestFn } from 'ava'

import { Endpoint, type EndpointOptions, InvalidOptionError, type Message } from '../index'
import { resolveOptions } from '../src/options'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() && process.platform === 'linux' ? anyTest : anyTest.skip) as TestFn
const reliable = { reliable: true } as const

async function pair(t: { teardown(fn: () => unknown): void }, a: EndpointOptions, b: EndpointOptions): Promise<[Endpoint, Endpoint]> {
  const shared = isolatedOptions()
  const x = await Endpoint.open({ ...shared, name: 'A', ...a })
  const y = await Endpoint.open({ ...shared, name: 'B', ...b })
  t.teardown(() => Promise.all([x.close(), y.close()]))
  if (!(await until(() => x.peers().length === 1 && y.peers().length === 1, 10_000))) throw new Error('no discovery')
  return [x, y]
}

/** Voluntary context switches of this process's I/O thread of endpoint `name` (its wake-ups). */
function ioThreadWakeups(name: string): number {
  for (const task of readdirSync('/proc/self/task')) {
    const dir = join('/proc/self/task', task)
    if (readFileSync(join(dir, 'comm'), 'utf8').trim() !== `glue-io-${name}`.slice(0, 15)) continue
    const line = readFileSync(join(dir, 'status'), 'utf8').split('\n').find((l) => l.startsWith('voluntary_ctxt_switches'))
    return Number(line?.split(/\s+/)[1])
  }
  throw new Error(`no I/O thread glue-io-${name}`)
}

/** `n` request/reply round trips from `a` to `b`; `b` replies from a promise continuation (a microtask). */
async function pingPong(a: Endpoint, b: Endpoint, n: number): Promise<void> {
  b.onMessage((m) => {
    void Promise.resolve().then(() => b.send(m.from, m.data, reliable).catch(() => {}))
  })
  let answered: (() => void) | undefined
  a.onMessage(() => answered?.())
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => {
      answered = resolve
      a.send(b.id, Buffer.from(`ping ${i}`), reliable).catch(() => {})
    })
  }
}

test('option: receiveOn is io or js (the default), from the option or GLUE_RECEIVE_ON; anything else names it', (t) => {
  t.is(resolveOptions({ env: false }).native.receiveOn, 'js')
  t.is(resolveOptions({ env: false, receiveOn: 'io' }).native.receiveOn, 'io')
  t.is(resolveOptions({ env: { GLUE_RECEIVE_ON: 'io' } }).native.receiveOn, 'io')
  t.is(resolveOptions({ env: { GLUE_RECEIVE_ON: 'js' } }).native.receiveOn, 'js')
  t.throws(() => resolveOptions({ env: false, receiveOn: 'both' as never }), { instanceOf: InvalidOptionError, message: /receiveOn/ })
  t.throws(() => resolveOptions({ env: { GLUE_RECEIVE_ON: 'x' } }), { instanceOf: InvalidOptionError, message: /GLUE_RECEIVE_ON/ })
})

for (const [other, label] of [['js', 'both read on their JavaScript threads'], ['io', 'with an endpoint that reads on its I/O thread']] as const) {
  test(`thousands of reliable messages each way arrive once and in order, ${label}`, async (t) => {
    const [a, b] = await pair(t, { receiveOn: 'js' }, { receiveOn: other })
    const got: Record<string, string[]> = { A: [], B: [] }
    a.onMessage((m) => m.reliable && got.A.push(m.text()))
    b.onMessage((m) => m.reliable && got.B.push(m.text()))
    const N = 3000
    const sends: Promise<void>[] = []
    for (let i = 0; i < N; i++) {
      sends.push(a.send(b.id, `a${i}`, reliable), b.send(a.id, `b${i}`, reliable))
      if (i % 500 === 499) await Promise.all(sends.splice(0))
    }
    await Promise.all(sends)
    t.true(await until(() => got.A.length === N && got.B.length === N, 20_000), `${got.A.length} ${got.B.length}`)
    t.deepEqual(got.B, Array.from({ length: N }, (_, i) => `a${i}`))
    t.deepEqual(got.A, Array.from({ length: N }, (_, i) => `b${i}`))
  })
}

test('a reply sent from a microtask goes out at once (microtasks run after each batch), and the I/O thread sleeps', async (t) => {
  const [ioA, ioB] = await pair(t, { receiveOn: 'io', name: 'IA' }, { receiveOn: 'io', name: 'IB' })
  const before = ioThreadWakeups('IA')
  await pingPong(ioA, ioB, 300)
  const ioWakeups = ioThreadWakeups('IA') - before
  const [jsA, jsB] = await pair(t, { receiveOn: 'js', name: 'JA' }, { receiveOn: 'js', name: 'JB' })
  const start = ioThreadWakeups('JA')
  await pingPong(jsA, jsB, 300)
  const jsWakeups = ioThreadWakeups('JA') - start
  t.log(`I/O thread wake-ups for 300 round trips: ${ioWakeups} reading on the I/O thread, ${jsWakeups} on the JavaScript thread`)
  t.true(ioWakeups >= 300, `the I/O thread woke for each message: ${ioWakeups}`)
  t.true(jsWakeups < 60, `it stays asleep when the JavaScript thread reads: ${jsWakeups}`)
})

test('peer events, broadcasts and best-effort messages reach a JavaScript-thread reader; close frees the port', async (t) => {
  const [a, b] = await pair(t, { receiveOn: 'js' }, { receiveOn: 'js' })
  const got: Message[] = []
  b.onMessage((m) => got.push(m))
  a.broadcast('hello all')
  t.true(a.send(b.id, 'best effort'))
  t.true(await until(() => got.length === 2, 5000))
  t.deepEqual(got.map((m) => m.text()).sort(), ['best effort', 'hello all'])
  let down = ''
  b.onStatus((ev) => ev.type === 'peer-down' && (down = ev.reason ?? '?'))
  const port = Number(a.address.split(':')[1])
  await a.close()
  t.true(await until(() => down !== '', 5000), 'peer-down within 5 s')
  t.is(down, 'left', 'the goodbye goes out')
  const again = await Endpoint.open({ ...isolatedOptions(), name: 'again', listenAddress: `127.0.0.1:${port}`, receiveOn: 'js' })
  t.teardown(() => again.close())
  t.is(again.address, `127.0.0.1:${port}`, 'the port is free once closed')
  await again.close()
})

test('an exception in a handler reaches uncaughtException and the endpoint goes on receiving', async (t) => {
  const [a, b] = await pair(t, { receiveOn: 'js' }, { receiveOn: 'js' })
  const caught: unknown[] = []
  const listeners = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  const onUncaught = (err: unknown) => caught.push(err)
  process.on('uncaughtException', onUncaught)
  t.teardown(() => {
    process.removeListener('uncaughtException', onUncaught)
    for (const l of listeners) process.on('uncaughtException', l)
  })
  const got: string[] = []
  b.onMessage((m) => {
    if (m.text() === 'throw') throw new Error('handler failed')
    got.push(m.text())
  })
  await a.send(b.id, 'throw', reliable)
  await a.send(b.id, 'after', reliable)
  t.true(await until(() => got.includes('after'), 5000))
  t.true(caught.some((e) => e instanceof Error && /handler failed/.test(e.message)), String(caught))
})

test('a JavaScript thread blocked for 3x the expiry keeps its peers (both ways) and then gets everything in order', async (t) => {
  const shared = isolatedOptions()
  const a = await Endpoint.open({ ...shared, name: 'A', receiveOn: 'js' })
  t.teardown(() => a.close())
  // The blocked side runs in a child process: it blocks its own JavaScript thread with Atomics.wait.
  const script = `
    const { Endpoint } = require(${JSON.stringify(join(__dirname, '..', 'index'))});
    (async () => {
      const ep = await Endpoint.open({ ...${JSON.stringify(shared)}, name: 'C', receiveOn: 'js' });
      const got = []; const downs = [];
      ep.onMessage((m) => got.push(m.text()));
      ep.onStatus((ev) => { if (ev.type === 'peer-down') downs.push(ev.peer.name); });
      while (ep.peers().length === 0) await new Promise((r) => setTimeout(r, 10));
      process.stdout.write('ready\\n');
      await new Promise((r) => process.stdin.once('data', r));
      process.stdout.write('blocking\\n'); // pipes are written synchronously on Linux: out before the block
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // 3x the 300 ms expiry
      const deadline = Date.now() + 10000;
      while (got.length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      process.stdout.write(JSON.stringify({ got, downs }) + '\\n');
      await new Promise((r) => process.stdin.once('data', r));
      await ep.close();
    })();`
  const child = spawn(process.execPath, ['--import=tsx', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  t.true(await until(() => out.includes('ready'), 15_000), 'the child is up')
  const peerC = a.peers().find((p) => p.name === 'C')
  t.truthy(peerC)
  const downs: string[] = []
  a.onStatus((ev) => ev.type === 'peer-down' && downs.push(`${ev.peer.name}: ${ev.reason}`))
  child.stdin.write('go\n')
  t.true(await until(() => out.includes('blocking'), 15_000), 'the child blocks')
  const sends = Array.from({ length: 200 }, (_, i) => a.send(peerC!.id, `m${i}`, reliable))
  t.true(await until(() => out.includes('"got"'), 20_000), 'the child reported')
  await Promise.all(sends)
  const report = JSON.parse(out.split('\n').find((l) => l.includes('"got"'))!) as { got: string[]; downs: string[] }
  t.deepEqual(report.got, Array.from({ length: 200 }, (_, i) => `m${i}`), 'everything, once, in order')
  t.deepEqual(report.downs, [], 'the blocked side expired nobody')
  t.deepEqual(downs, [], 'nobody expired the blocked side (its I/O thread kept announcing)')
  child.stdin.write('bye\n')
})

test('heavy traffic (large messages) moves reading to the I/O thread and back; everything arrives once and in order', async (t) => {
  const [a, b] = await pair(t, { receiveOn: 'js' }, { receiveOn: 'js' })
  const got: number[] = []
  b.onMessage((m) => { if (m.data.length > 1000) got.push(m.data.readUInt32LE(0)) })
  let next = 0
  const burst = async (): Promise<void> => {
    const sends: Promise<void>[] = []
    for (let i = 0; i < 16; i++) {
      const big = Buffer.alloc(512 << 10, 0xab)
      big.writeUInt32LE(next++, 0)
      sends.push(a.send(b.id, big, reliable))
    }
    await Promise.all(sends)
  }
  for (let round = 1; round <= 2; round++) {
    // Bursts until B's JavaScript thread hands reading to its I/O thread (≥ 2 MiB within 10 ms).
    const deadline = Date.now() + 20_000
    while (b.stats().readingToIoThread < round && Date.now() < deadline) await burst()
    t.is(b.stats().readingToIoThread, round, 'reading moved to the I/O thread')
    // Quiet again: reading comes back, and a small message still arrives (read on the JavaScript thread).
    t.true(await until(() => b.stats().readingToCaller === round, 10_000), 'reading came back')
    const small = new Promise<string>((resolve) => { const off = b.onMessage((m) => { if (m.data.length < 1000) { off(); resolve(m.text()) } }) })
    await a.send(b.id, `small ${round}`, reliable)
    t.is(await small, `small ${round}`)
    t.is(b.stats().readingToIoThread, round, 'light traffic stays on the JavaScript thread')
  }
  t.true(await until(() => got.length === next, 10_000))
  t.deepEqual(got, Array.from({ length: next }, (_, i) => i))
})
