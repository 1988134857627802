/**
 * Hardening without a key, on loopback, as a buggy or hostile host on the segment would try it: heartbeats and ACKs
 * naming numbers far off are refused and the channel goes on; a REPAIR for 1..2^53 and a HISTORY claiming 2^53 neither
 * stall the event loop nor blow up a counter; an announced period counts as at most a minute; a full peer table still
 * admits a real newcomer. Every wait is for an event or a counter, with a deadline.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

import test from 'ava'

import type { TopicMessage } from '../index'
import { TOPIC_ENVELOPE } from '../src/topics/envelope'
import { decodeTopicMessage } from '../src/topics/wire-decode'
import { encodeHistory, encodeRepair } from '../src/topics/wire'
import { publisherKey } from '../src/topics/wire-format'
import * as forge from './helpers/forge'
import { until } from './helpers/loopback'
import { openPair } from './helpers/pair'

const pair = openPair

test('heartbeats skipping to 2^62 are refused: nothing is lost, no counter jumps', async (t) => {
  const { a, b, attacker, networkId, group } = await pair(t)
  const got: string[] = []
  b.onMessage((m) => got.push(m.text()))
  await a.send('B', 'before', { reliable: true })
  await a.broadcast('before', { reliable: true })
  for (const flags of [0, 1, 2, 3]) {
    const hb = forge.datagram(networkId, a.id, forge.heartbeat(1n << 62n, 1n << 62n, flags))
    await attacker.send(flags & 2 ? b.address : group, hb)
  }
  t.true(await until(() => b.stats().droppedInvalidHeartbeat >= 4))
  await a.send('B', 'after', { reliable: true, deadlineMs: 5000 })
  await a.broadcast('after', { reliable: true, deadlineMs: 5000 })
  t.true(await until(() => got.length === 4))
  t.deepEqual(got, ['before', 'before', 'after', 'after'])
  t.is(b.stats().skippedFragments, 0)
})

test('ACKs acknowledging far more than was sent are refused and the channel goes on', async (t) => {
  const { a, b, attacker, networkId } = await pair(t)
  const got: string[] = []
  b.onMessage((m) => got.push(m.text()))
  await a.send('B', 'one', { reliable: true })
  const before = a.stats().droppedInvalidAck
  for (const [next, top] of [
    [0n, 1n << 62n],
    [1n << 62n, 1n << 62n],
    [1n, (1n << 64n) - 1n],
  ]) {
    await attacker.send(a.address, forge.datagram(networkId, b.id, forge.ack(next, top)))
    await attacker.send(a.address, forge.datagram(networkId, b.id, forge.ack(next, top, 1)))
  }
  t.true(await until(() => a.stats().droppedInvalidAck - before >= 6))
  for (let i = 0; i < 100; i++) void a.send('B', `m${i}`, { reliable: true, deadlineMs: 5000 })
  await t.notThrowsAsync(a.send('B', 'last', { reliable: true, deadlineMs: 5000 }))
  t.true(await until(() => got.length === 102), `${got.length} ${JSON.stringify(got.slice(0, 5))}`)
  t.is(got.at(-1), 'last')
})

test('a REPAIR for 1..2^53 and a HISTORY claiming 2^53 neither stall the loop nor blow up a counter', async (t) => {
  const { a, b, attacker, networkId, group } = await pair(t)
  const seen: TopicMessage[] = []
  b.subscribe('x/#', { callback: (m) => seen.push(m) })
  // A made-up peer that wants everything makes A multicast its publications, so the attacker learns A's epoch.
  const fake = forge.randomId()
  await attacker.capture(group)
  const nosy = forge.datagram(networkId, fake, forge.announce(attacker.port, 'nosy', 1000, 1, forge.WANTS_EVERYTHING))
  for (let i = 0; i < 2; i++) await attacker.send(group, nosy) // twice: past its probation
  t.true(await until(() => a.peers().length === 2 && a.peers().every((p) => p.extensions.has(0x10))))
  for (let i = 1; i <= 20; i++) a.publish('x/y', `${i}`, { depth: 1000 })
  t.true(await until(() => seen.length === 20))
  const publish = attacker.captured
    .flatMap((d) => (d.subarray(8, 16).equals(Buffer.from(a.id, 'hex').reverse()) ? forge.submessages(d) : []))
    .find((s) => s.kind === forge.Kind.DATA && s.body.subarray(4, 8).equals(Buffer.from([0x47, 0x54, 1, 1])))
  if (publish === undefined) throw new Error('no publication captured')
  const decoded = decodeTopicMessage(publish.body.subarray(6))
  if (decoded.kind !== 'publish') throw new Error('not a publication')
  attacker.stopCapture()
  const key = publisherKey(a.id, decoded.epoch)
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  const huge = 2 ** 53 - 1
  const repair = encodeRepair([{ publisher: key, topic: 'x/y', ranges: [[1, huge]] }], TOPIC_ENVELOPE)
  const history = encodeHistory(
    { publisher: key, firstAvailable: huge, depth: 3, topic: 'x/y', type: '', records: [] },
    TOPIC_ENVELOPE,
  )
  const replayedBefore = a.stats().topicReplayed
  for (let i = 0; i < 20; i++) {
    await attacker.send(a.address, forge.datagram(networkId, b.id, forge.data(i, repair)))
    await attacker.send(b.address, forge.datagram(networkId, a.id, forge.data(100 + i, history)))
  }
  t.true(await until(() => a.stats().topicReplayed - replayedBefore >= 20 * 20), 'each REPAIR answered from history')
  a.publish('x/y', '21', { depth: 1000 })
  t.true(await until(() => seen.length === 21), 'the stream goes on')
  delay.disable()
  // A handler that walked the claimed range (2^53 numbers) would never return: the waits above would time out. One
  // that walked a bounded but large part of it (millions per datagram, 40 datagrams) would hold the loop for seconds.
  // 250 ms is far below that and far above what a loaded machine's scheduler adds (53 ms was seen at load 13).
  t.true(delay.max / 1e6 < 250, `event loop delay at most ${(delay.max / 1e6).toFixed(1)} ms`)
  t.true(b.stats().topicSkipped < 100, `topicSkipped is ${b.stats().topicSkipped}, not 2^53`)
})

test('an announced period counts as at most a minute', async (t) => {
  const { b, attacker, networkId, group } = await pair(t)
  const fake = forge.randomId()
  for (let i = 0; i < 2; i++) await attacker.send(group, forge.datagram(networkId, fake, forge.announce(attacker.port, 'slow', 0xffff_ffff, 1)))
  t.true(await until(() => b.peers().some((p) => p.id === fake)))
  t.is(b.peers().find((p) => p.id === fake)?.announcePeriodMs, 60_000)
})

test('a full table still admits a real newcomer; made-up peers go after their probation', async (t) => {
  const { a, b, attacker, networkId, group, openOne } = await pair(t, { maxPeers: 8 })
  for (let i = 0; i < 2000; i++) {
    const fake = forge.datagram(networkId, forge.randomId(), forge.announce(attacker.port, `fake${i}`, 3_600_000, i))
    await attacker.send(i % 2 ? group : b.address, fake)
  }
  t.true(await until(() => b.stats().peersEvicted > 900), `evicted ${b.stats().peersEvicted}`)
  t.true(b.peers().some((p) => p.id === a.id), 'the real peer kept its slot')
  const c = await openOne({ name: 'C' })
  t.true(await until(() => b.peers().some((p) => p.id === c.id)), 'the newcomer was admitted')
  t.true(await until(() => b.peers().length === 2, 8000), 'the made-up peers are gone after their probation')
})
