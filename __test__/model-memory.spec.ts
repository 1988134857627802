/**
 * Bounded state: a map's memory follows its live keys, not its history. 1 M overwrites of 100 keys, made on one
 * replica and applied by another over the simulated network, leave both with an encoded state (snapshot, canonical
 * encoding) within 2x of the live data, a store holding one entry per key, and an on-disk log that compaction keeps
 * near the snapshot's size.
 */
import test from 'ava'

import { encodeSnapshot } from '../src/model/snapshot'
import type { ReplicatedMap } from '../src/model/replicated-map'
import type { Replica } from '../src/model/replica'
import { SimNet } from './helpers/model-sim'

const KEYS = 100
const WRITES = 1_000_000
const PER_TICK = 2_000

/** The replica behind a map (tests only). */
const replicaOf = (m: ReplicatedMap<string>): Replica => (m as unknown as { replica: Replica }).replica

/** A 64-byte value that differs per write. */
const valueOf = (i: number): string => `v${i}`.padEnd(61, '.')

test('1 M overwrites of 100 keys keep the encoded state within 2x of the live data', async (t) => {
  const net = new SimNet(7, { maxDelayMs: 2 })
  const a = net.add('00000000000000a1', 'A')
  const b = net.add('00000000000000b2', 'B')
  const [ma, mb] = await Promise.all([
    a.layer.map<string>('mem', { persist: 'disk-a' }),
    b.layer.map<string>('mem', { persist: 'disk-b' }),
  ])
  await net.runFor(50)
  let changes = 0
  mb.onChange(() => changes++)
  for (let i = 0; i < WRITES; i += PER_TICK) {
    for (let j = i; j < i + PER_TICK; j++) ma.set(`key-${j % KEYS}`, valueOf(j))
    await net.runFor(5)
  }
  t.true(await net.runUntilTrue(() => mb.stateHash() === ma.stateHash(), 10_000), 'replicas converge')
  t.is(mb.get('key-7'), valueOf(WRITES - KEYS + 7))
  t.true(changes > 0)

  // Live data: each key and its msgpack-encoded value (a 61-character string: 2 bytes of header + 61).
  const live = KEYS * (Buffer.byteLength('key-00') + 63)
  for (const [name, m] of [['A', ma], ['B', mb]] as const) {
    const replica = replicaOf(m)
    t.is(replica.store.entryCount, KEYS, `${name}: one entry per key`)
    t.is(replica.store.tombstones.size, 0, `${name}: no tombstones`)
    const snapshot = encodeSnapshot(replica).length
    const canonical = m.canonical().length
    t.log(`${name}: live ${live} B, snapshot ${snapshot} B (${(snapshot / live).toFixed(2)}x), canonical ${canonical} B`)
    t.true(snapshot <= 2 * live, `${name}: snapshot ${snapshot} B within 2x of ${live} B`)
    t.true(canonical <= 2 * live, `${name}: canonical ${canonical} B within 2x of ${live} B`)
  }
  await Promise.all([ma.close(), mb.close()])
  // On disk: the last snapshot plus the log written since, which compaction keeps bounded (not 1 M records).
  for (const [key, disk] of net.disks) {
    const bytes = (disk.snapshot?.length ?? 0) + disk.records.reduce((sum, r) => sum + r.length, 0)
    t.log(`${key}: ${bytes} B on disk`)
    t.true(bytes < 4 << 20, `${key}: ${bytes} B on disk`)
  }
  t.deepEqual(net.errors, [])
})
