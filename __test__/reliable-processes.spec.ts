/**
 * Reliable sends against the real native addon across processes (children run fixtures/reliable-peer.ts), on
 * loopback only: a large message arrives intact, and a receiver that dies (or stops) before acknowledging is
 * named in a DeliveryError. Skipped until the addon is built. Serial: each test spawns Node processes.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'

import anyTest, { type ExecutionContext } from 'ava'

import { DeliveryError, Endpoint, type EndpointOptions } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { type Child, exitWithin, isolatedOptions, spawnChild, until } from './helpers/loopback'

const serial = isNativeAvailable() ? anyTest.serial : anyTest.serial.skip
const MiB = 1024 * 1024

/** Starts a receiving child (fixtures/reliable-peer.ts); resolves once the parent endpoint sees it. */
async function startPeer(ep: Endpoint, options: EndpointOptions): Promise<{ child: Child; id: string }> {
  const child = spawnChild('receive', options, {}, 'reliable-peer.ts')
  const opened = await child.waitFor((r) => r.event === 'open' || r.event === 'error', 15_000)
  const id = String(opened.id)
  if (!(await until(() => ep.peers().some((peer) => peer.id === id), 15_000))) {
    child.proc.kill('SIGKILL')
    throw new Error(`the parent never saw ${String(options.name)}; child stderr ${child.stderr()}`)
  }
  return { child, id }
}

/** Closes the child's endpoint via stdin and waits for it to exit (kills it after 10 s). */
async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.stdin.end()
  await exitWithin(child, 10_000)
}

/** SIGSTOPs the child and waits until it is stopped: it can no longer acknowledge (nor announce). */
async function freeze(child: Child): Promise<void> {
  child.proc.kill('SIGSTOP')
  const stopped = () => {
    try {
      const stat = readFileSync(`/proc/${child.proc.pid}/stat`, 'utf8')
      return /^[tT]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))
    } catch {
      return false // no procfs: fall back to the time limit below
    }
  }
  await until(stopped, 500, 5)
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** Sends `bytes` random bytes reliably to a child process and checks what it received by hash. */
async function sendLarge(t: ExecutionContext, bytes: number, deadlineMs: number): Promise<void> {
  t.timeout(90_000)
  const shared = isolatedOptions({ maxDatagramSize: 65_000 })
  const ep = await Endpoint.open({ ...shared, name: 'sender' })
  const { child } = await startPeer(ep, { ...shared, name: 'receiver' })
  try {
    const data = randomBytes(bytes)
    await ep.send('receiver', data, { reliable: true, deadlineMs })
    const got = await child.waitFor((r) => r.event === 'message', 60_000)
    t.like(got, { fromName: 'sender', bytes, sha256: sha256(data), reliable: true, broadcast: false })
  } finally {
    await stop(child)
    await ep.close()
  }
}

serial('a 16 MiB reliable message reaches another process intact', async (t) => {
  await sendLarge(t, 16 * MiB, 30_000)
})

// Far larger than the send window (16 MiB / 4096 fragments): the window slides within the message.
serial('a 100 MiB reliable message reaches another process intact', async (t) => {
  await sendLarge(t, 100 * MiB, 60_000)
})

serial('DeliveryError names a peer SIGKILLed before it acknowledged (it expires)', async (t) => {
  const shared = isolatedOptions({ announcePeriodMs: 100, expiryMultiplier: 3 })
  const ep = await Endpoint.open({ ...shared, name: 'sender' })
  const { child, id } = await startPeer(ep, { ...shared, name: 'victim' })
  try {
    await ep.send('victim', 'while alive', { reliable: true })
    await child.waitFor((r) => r.event === 'message' && r.text === 'while alive')
    await freeze(child)
    const sending = ep.send('victim', 'never acknowledged', { reliable: true, deadlineMs: 20_000 })
    child.proc.kill('SIGKILL')
    const err = await t.throwsAsync(sending, { instanceOf: DeliveryError })
    t.is(err?.code, 'ERR_GLUE_DELIVERY')
    t.deepEqual(err?.missing, [{ id, name: 'victim' }])
    t.regex(err?.message ?? '', new RegExp(`victim \\(${id}\\)`))
    t.false(ep.peers().some((peer) => peer.id === id))
  } finally {
    child.proc.kill('SIGKILL')
    await ep.close()
  }
})

serial('DeliveryError names a stopped peer once a short deadline passes', async (t) => {
  // Expiry after 100 × 100 ms: only the deadline can fail the message.
  const shared = isolatedOptions({ announcePeriodMs: 100, expiryMultiplier: 100 })
  const ep = await Endpoint.open({ ...shared, name: 'sender' })
  const { child, id } = await startPeer(ep, { ...shared, name: 'sleeper' })
  try {
    await freeze(child)
    const err = await t.throwsAsync(ep.send('sleeper', 'too late', { reliable: true, deadlineMs: 300 }), {
      instanceOf: DeliveryError,
    })
    t.deepEqual(err?.missing, [{ id, name: 'sleeper' }])
    t.true(ep.peers().some((peer) => peer.id === id), 'still a peer: it failed by the deadline')
  } finally {
    child.proc.kill('SIGKILL')
    await ep.close()
  }
})

serial('a reliable broadcast fails only for the killed peer; the other gets it', async (t) => {
  const shared = isolatedOptions({ announcePeriodMs: 100, expiryMultiplier: 3 })
  const ep = await Endpoint.open({ ...shared, name: 'sender' })
  const survivor = await startPeer(ep, { ...shared, name: 'survivor' })
  const victim = await startPeer(ep, { ...shared, name: 'victim' })
  try {
    await ep.broadcast('to both', { reliable: true })
    await freeze(victim.child)
    const sending = ep.broadcast('to the living', { reliable: true, deadlineMs: 20_000 })
    victim.child.proc.kill('SIGKILL')
    const err = await t.throwsAsync(sending, { instanceOf: DeliveryError })
    t.deepEqual(err?.missing, [{ id: victim.id, name: 'victim' }])
    const got = await survivor.child.waitFor((r) => r.event === 'message' && r.text === 'to the living')
    t.like(got, { fromName: 'sender', reliable: true, broadcast: true })
    t.is(survivor.child.records.filter((r) => r.event === 'message').length, 2, 'each exactly once')
  } finally {
    victim.child.proc.kill('SIGKILL')
    await stop(survivor.child)
    await ep.close()
  }
})
