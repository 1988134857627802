/**
 * The batch writer (src/consensus/batch-encode.ts): every command shape, and the lengths where MessagePack switches
 * header forms, decode to what the generic encoder's bytes decode to (byte for byte the same for these values);
 * values it does not take are left to the generic encoder.
 */
import test from 'ava'
import { Packr } from 'msgpackr'

import { encodeCommands } from '../src/consensus/batch-encode'
import { commandArray, type Command, decodeBatch, encodeBatch, unpack } from '../src/consensus/commands'

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: false, variableMapSize: true })
const session = { client: 'aabbccddeeff0011.01020304', seq: 7, low: 3 }

test('every command shape decodes as the generic encoding does', (t) => {
  const commands: Command[] = [
    { op: 1, session, key: 'k', value: Buffer.from('v') },
    { op: 2, session, key: 'ключ' },
    { op: 3, session, key: 'c', expected: null, next: Buffer.alloc(300, 1) },
    { op: 4, session, name: 'pump-3', ttlMs: 10_000, holderName: 'A' },
    { op: 5, session, name: 'pump-3', token: 70_000 },
    { op: 6, session, name: 'pump-3', token: 2 ** 32 - 1 },
    { op: 7, session, name: 'pump-3', token: 200, renewals: 0 },
    { op: 8, session, data: Buffer.alloc(70_000, 2) },
    { op: 9, session, raftId: '00000000000000a1', name: 'D', add: true },
    { op: 9, session, raftId: '00000000000000a1', name: 'D', add: false },
  ]
  const arrays = commands.map(commandArray)
  const mine = encodeCommands(arrays) as Buffer
  t.deepEqual(mine, packr.pack(arrays))
  t.deepEqual(decodeBatch(mine, { count: 0 }), commands)
  t.is(encodeBatch(arrays).toString('hex'), mine.toString('hex'))
})

test('header forms at their limits', (t) => {
  for (const n of [0, 31, 32, 255, 256, 65_535, 65_536]) {
    const value = [['x'.repeat(n), Buffer.alloc(n, 3), n, 127, 128, 255, 256, 65_535, 65_536]]
    t.deepEqual(encodeCommands(value), packr.pack(value), `length ${n}`)
  }
  const many = Array.from({ length: 17 }, (_, i) => [i])
  t.deepEqual(unpack(encodeCommands(many) as Buffer), many)
  const wide = [Array.from({ length: 16 }, (_, i) => i)]
  t.deepEqual(encodeCommands(wide), packr.pack(wide))
})

test('numbers beyond 32-bit naturals go to the generic encoder', (t) => {
  t.is(encodeCommands([[1, 2 ** 32]]), undefined)
  t.is(encodeCommands([[1, -1]]), undefined)
  t.is(encodeCommands([[1, 0.5]]), undefined)
  t.is(encodeCommands([[1], 'x' as never]), undefined)
  t.is(encodeCommands({} as never), undefined)
  t.deepEqual(unpack(encodeBatch([[1, 2 ** 40]])), [[1, 2 ** 40]])
})
