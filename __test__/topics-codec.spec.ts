import test from 'ava'

import {
  builtInCodec,
  type Codec,
  CodecId,
  customCodec,
  decodeValue,
  encodeValue,
  jsonCodec,
  msgpackCodec,
  rawCodec,
  resolveCodec,
} from '../src/topics/codec'
import { CodecError } from '../src/topics/errors'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

test('raw passes bytes through without copying and encodes strings as UTF-8', (t) => {
  const bytes = new Uint8Array([1, 2, 3])
  t.is(rawCodec.encode(bytes), bytes)
  const buffer = Buffer.from('hi')
  t.is(rawCodec.encode(buffer), buffer)
  t.is(hex(rawCodec.encode('hé')), '68c3a9')
  const floats = new Float64Array([1])
  const view = rawCodec.encode(floats)
  t.is(view.buffer, floats.buffer)
  t.is(view.byteLength, 8)
  const decoded = rawCodec.decode(bytes)
  t.true(Buffer.isBuffer(decoded))
  t.is(decoded.buffer, bytes.buffer, 'decode is a view')
  t.is(rawCodec.decode(buffer), buffer)
})

test('raw rejects other values with a CodecError naming the topic', (t) => {
  const err = t.throws(() => encodeValue(rawCodec, 'a/b', 42 as unknown as string), { instanceOf: CodecError })
  t.is(err?.code, 'ERR_GLUE_CODEC')
  t.is(err?.topic, 'a/b')
  t.is(err?.codec, 'raw')
  t.is(err?.direction, 'encode')
  t.regex(err?.message ?? '', /^cannot encode the value published on topic "a\/b" with codec raw: .*not 42/)
  t.true(err?.cause instanceof TypeError)
})

test('json round-trips values', (t) => {
  for (const value of [null, 0, 'x', [1, 'two', { three: 3 }], { a: { b: [true, false] } }, 'ü😀']) {
    t.deepEqual(jsonCodec.decode(jsonCodec.encode(value)), value)
  }
  t.is(Buffer.from(jsonCodec.encode({ a: 1 })).toString(), '{"a":1}')
})

test('json: circular structures, BigInt and values without a JSON form cannot be encoded', (t) => {
  const circular: Record<string, unknown> = {}
  circular.self = circular
  const cases: [unknown, RegExp][] = [
    [circular, /circular/i],
    [{ n: 10n }, /BigInt/],
    [undefined, /undefined has no JSON form/],
    [() => 1, /no JSON form/],
    [Symbol('s'), /no JSON form/],
  ]
  for (const [value, message] of cases) {
    const err = t.throws(() => encodeValue(jsonCodec, 'sensors/1', value), { instanceOf: CodecError, message })
    t.regex(err?.message ?? '', /topic "sensors\/1" with codec json/)
    t.truthy(err?.cause)
  }
})

test('json: garbage and invalid UTF-8 cannot be decoded', (t) => {
  const trailing = Array.from('{"a":1} x', (c) => c.charCodeAt(0))
  for (const garbage of [[], [0x7b], [0xff, 0xfe], [0x22, 0xc3, 0x28, 0x22], trailing]) {
    const err = t.throws(() => decodeValue(jsonCodec, 't', Uint8Array.from(garbage)), { instanceOf: CodecError })
    t.is(err?.direction, 'decode')
    t.regex(err?.message ?? '', /^cannot decode a payload received on topic "t" with codec json: /)
  }
})

test('msgpack round-trips values, including Dates, BigInt and bytes; Maps come back as objects', (t) => {
  const values = [
    null,
    42,
    -1.5,
    'x',
    [1, [2, [3]]],
    { a: 1, b: 'two', c: [true, null] },
    new Date(1700000000000),
    123n,
    Buffer.from([1, 2, 3]),
  ]
  for (const value of values) t.deepEqual(msgpackCodec.decode(msgpackCodec.encode(value)), value)
  t.deepEqual(msgpackCodec.decode(msgpackCodec.encode(new Map([['k', 1]]))), { k: 1 })
  t.is(hex(msgpackCodec.encode([1, 'a'])), '9201a161', 'standard MessagePack, no records')
  t.is(hex(msgpackCodec.encode({ a: 1 })).slice(-6), 'a16101')
})

test('msgpack: results of successive encodes stay intact', (t) => {
  const first = msgpackCodec.encode('first')
  const copy = hex(first)
  for (let i = 0; i < 2000; i++) msgpackCodec.encode({ i, filler: 'x'.repeat(50) })
  t.is(hex(first), copy)
})

test('msgpack: integers beyond 64 bits and circular structures cannot be encoded; the packer recovers', (t) => {
  const circular: unknown[] = []
  circular.push(circular)
  t.throws(() => encodeValue(msgpackCodec, 'big', 2n ** 70n), {
    instanceOf: CodecError,
    message: /topic "big" with codec msgpack: .*too large/,
  })
  t.throws(() => encodeValue(msgpackCodec, 'loop', circular), { instanceOf: CodecError, message: /topic "loop"/ })
  t.throws(() => encodeValue(msgpackCodec, 'sym', Symbol('x')), { instanceOf: CodecError })
  t.deepEqual(msgpackCodec.decode(msgpackCodec.encode({ ok: true })), { ok: true })
})

test('msgpack: garbage, truncated data, trailing bytes and 0xc1 cannot be decoded', (t) => {
  for (const garbage of [[], [0xc1], [0x92, 0x01], [0x81, 0xa1], [0x01, 0x02], [0xdc, 0xff, 0xff]]) {
    const data = Uint8Array.from(garbage)
    t.throws(() => decodeValue(msgpackCodec, 'm', data), { instanceOf: CodecError, message: /codec msgpack/ })
  }
})

test('custom codecs: checked output, ids 128..255', (t) => {
  const upper = customCodec<string>('upper', {
    encode: (value) => Buffer.from(value.toUpperCase()),
    decode: (data) => Buffer.from(data).toString().toLowerCase(),
  })
  t.is(upper.id, CodecId.CUSTOM)
  t.is(upper.decode(upper.encode('abc')), 'abc')
  const broken = customCodec<number>('broken', { encode: (n) => n as unknown as Uint8Array, decode: () => 0, id: 200 })
  t.is(broken.id, 200)
  t.throws(() => encodeValue(broken, 'x', 5), {
    instanceOf: CodecError,
    message: /with codec broken: encode returned 5, not bytes/,
  })
  const failing = customCodec('failing', {
    encode: () => new Uint8Array(0),
    decode: () => {
      throw new Error('bad proto')
    },
  })
  const message = /failing: bad proto/
  t.throws(() => decodeValue(failing, 'x', new Uint8Array(1)), { instanceOf: CodecError, message })
  t.throws(() => customCodec('', { encode: () => new Uint8Array(), decode: () => 0 }), { instanceOf: TypeError })
  t.throws(() => customCodec('x', { encode: () => new Uint8Array() } as never), { instanceOf: TypeError })
  for (const id of [0, 2, 127, 256, 1.5]) {
    const spec = { encode: () => new Uint8Array(), decode: () => 0, id }
    t.throws(() => customCodec('x', spec), { instanceOf: RangeError })
  }
})

test('codec options resolve by name; built-in codecs by wire id', (t) => {
  t.is(resolveCodec(undefined), rawCodec)
  t.is(resolveCodec('json'), jsonCodec)
  t.is(resolveCodec('msgpack'), msgpackCodec)
  const custom: Codec<string> = customCodec('c', { encode: (s: string) => Buffer.from(s), decode: String })
  t.is(resolveCodec(custom), custom)
  t.throws(() => resolveCodec('xml' as 'raw'), { instanceOf: TypeError, message: /unknown codec "xml"/ })
  t.throws(() => resolveCodec('toString' as 'raw'), { instanceOf: TypeError })
  t.throws(() => resolveCodec({} as Codec), { instanceOf: TypeError })
  t.is(builtInCodec(0), rawCodec)
  t.is(builtInCodec(1), jsonCodec)
  t.is(builtInCodec(2), msgpackCodec)
  t.is(builtInCodec(3), undefined)
  t.is(builtInCodec(255), undefined)
})
