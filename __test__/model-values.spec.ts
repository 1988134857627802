/**
 * How entries hold their values (Latin-1 strings, copied) and what is built on that: the entry hash against the
 * reference functions of `hash.ts` (large counters and timestamps included), `ByteWriter.latin1` and
 * `ModelReader.latin1`, raw change events that make their Buffers on first read; and the hot path's other fast
 * paths: `ByteWriter.varint` in integer arithmetic, the key check's loop before its regular expression.
 */
import test from 'ava'

import { Entry } from '../src/model/entry'
import { latin1Of } from '../src/model/latin1'
import { hashText, mix32, mixNumber, SEED_1, SEED_2 } from '../src/model/hash'
import { ModelReader } from '../src/model/model-reader'
import { ModelNameError } from '../src/model/errors'
import { validateKey } from '../src/model/names'
import { OriginTable } from '../src/model/origins'
import { RawMapChange } from '../src/model/raw-change'
import { TopicWireError } from '../src/topics/errors'
import { ByteWriter } from '../src/util/byte-writer'

const origins = new OriginTable()
const A = origins.intern('00000000000000a1', 7)

/** The entry hash as `docs/PROTOCOL.md` defines it, with the reference functions. */
function reference(key: string, counter: number, hlc: number, tomb: boolean): [number, number] {
  const word = (seed: number, originHash: number): number =>
    mixNumber(mixNumber(mix32(mix32(hashText(key, seed), originHash >>> 0), tomb ? 1 : 0), counter), hlc)
  return [word(SEED_1, A.h1), word(SEED_2, A.h2)]
}

test('entry hashes equal the reference for small and large counters and timestamps', (t) => {
  const hlcs = [0, 1, 2 ** 26 - 1, 2 ** 26, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 1_764_000_000_000 * 2048 + 2047, 2 ** 53 - 1]
  const counters = [1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1]
  for (const hlc of hlcs) {
    for (const counter of counters) {
      for (const [key, value] of [['k', Buffer.from([1, 2])], ['ключ', undefined]] as const) {
        const e = new Entry(key, A, counter, hlc, 0, value)
        t.deepEqual([e.h1 >>> 0, e.h2 >>> 0], reference(key, counter, hlc, value === undefined), `${key} ${counter} ${hlc}`)
        t.is(e.hlc, hlc)
      }
    }
  }
})

test('an entry keeps a copy of its value; value is a Buffer of its own at each read', (t) => {
  const source = new Uint8Array([0, 1, 127, 128, 200, 255])
  const e = new Entry('k', A, 1, 10, 0, source.subarray(1))
  source[2] = 9
  t.is(e.size, 5)
  t.false(e.deleted)
  t.true(Buffer.isBuffer(e.value))
  t.deepEqual([...(e.value as Buffer)], [1, 127, 128, 200, 255])
  t.not(e.value, e.value)
  ;(e.value as Buffer)[0] = 42
  t.is((e.value as Buffer)[0], 1, 'the stored bytes cannot be changed through a read')
  const tomb = new Entry('k', A, 2, 11, 0, undefined)
  t.true(tomb.deleted)
  t.is(tomb.value, undefined)
  t.is(tomb.size, 0)
  t.is(latin1Of(Buffer.from([255, 0])), '\u00ff\u0000')
  t.is(latin1Of(new Uint8Array([1, 2, 255]).subarray(1)), '\u0002\u00ff', 'a plain Uint8Array view')
  t.is(new Entry('k', A, 3, 12, 0, '\u00ff\u0000').size, 2, 'a Latin-1 string is taken as the bytes')
})

test('ByteWriter.latin1 and ModelReader.latin1 carry every byte value, short and long; a short message throws', (t) => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  const long = Buffer.concat([all, all, all])
  const w = new ByteWriter(16)
  w.u8(7)
  w.latin1(latin1Of(all) as string)
  w.latin1(latin1Of(long) as string)
  w.latin1('')
  const bytes = w.finish()
  t.deepEqual(bytes, Buffer.concat([Buffer.from([7]), all, long]))
  for (const data of [bytes, new Uint8Array(bytes)]) {
    const r = new ModelReader(data)
    t.is(r.u8('x'), 7)
    t.is(r.latin1(256, 'a'), latin1Of(all) as string)
    t.is(r.latin1(768, 'b'), latin1Of(long) as string)
    t.is(r.latin1(0, 'c'), '')
    t.throws(() => r.latin1(1, 'value'), { instanceOf: TopicWireError, message: /value/ })
    t.is(r.remaining, 0)
  }
})

test('raw change events make value and previous on first read, keep them, and give them to toJSON', (t) => {
  const before = new Entry('k', A, 1, 10, 0, Buffer.from('old'))
  const after = new Entry('k', A, 2, 11, 0, Buffer.from('new'))
  const origin = { id: A.id, name: 'a' }
  const c = new RawMapChange<Buffer>({ key: 'k', before, after, cause: after, local: true }, false, origin)
  t.is(c.key, 'k')
  t.false(c.deleted)
  t.true(c.local)
  t.is(c.origin, origin)
  t.is(c.value?.toString(), 'new')
  t.is(c.value, c.value, 'the same Buffer at every read of one event')
  t.is(c.previous?.toString(), 'old')
  t.is(c.previous, c.previous)
  t.deepEqual(c.toJSON(), { key: 'k', value: Buffer.from('new'), previous: Buffer.from('old'), deleted: false, origin, local: true })
  const gone = new RawMapChange<Buffer>({ key: 'k', before: after, after: undefined, cause: after, local: false }, true, origin)
  t.is(gone.value, undefined)
  t.is(gone.previous?.toString(), 'new')
  const added = new RawMapChange<Buffer>({ key: 'k', before: undefined, after, cause: after, local: false }, false, origin)
  t.is(added.previous, undefined)
})

test('keys: lone surrogates are refused, short or long; pairs and plain keys pass', (t) => {
  for (const key of ['a\ud800', '\udc00', 'x'.repeat(100) + '\ud800', '\ud800' + 'x'.repeat(100)]) {
    t.throws(() => validateKey(key), { instanceOf: ModelNameError, message: /lone surrogate/ })
  }
  for (const key of ['', 'plain', 'emoji \ud83d\ude00', 'x'.repeat(100) + '\ud83d\ude00', 'ключ']) t.notThrows(() => validateKey(key))
})

test('ByteWriter.varint writes the LEB128 bytes of every safe integer (integer fast paths included)', (t) => {
  const reference = (value: number): number[] => {
    const out: number[] = []
    let v = value
    while (v >= 128) {
      out.push((v % 128) | 0x80)
      v = Math.floor(v / 128)
    }
    out.push(v)
    return out
  }
  const values = [0, 1, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49, 2 ** 52 + 1, 2 ** 53 - 1]
  for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 2 ** (1 + (i % 53))))
  for (const v of values) {
    const w = new ByteWriter(16)
    w.varint(v)
    t.deepEqual([...w.finish()], reference(v), String(v))
  }
})
