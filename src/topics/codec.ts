/**
 * Payload codecs: how a published value becomes bytes and back. Built in: `raw` (bytes or text, no
 * transformation), `json` (UTF-8 JSON) and `msgpack` (MessagePack through `msgpackr`); applications add their own
 * with {@link customCodec}. Each codec has a one-byte id that travels in the topic header (see `wire.ts`), so a
 * receiver knows how the payload was encoded.
 *
 * Codecs themselves throw whatever their implementation throws; {@link encodeValue} and {@link decodeValue} wrap
 * every failure in a {@link CodecError} that names the topic and the codec, with the original error as `cause`.
 */
import { C1, Packr } from 'msgpackr'

import { CodecError, describeValue } from './errors'

/** Codec ids on the wire. 3..127 are reserved for future built-in codecs; 128..255 are for custom codecs. */
export const CodecId = {
  /** Bytes as given. */
  RAW: 0,
  /** UTF-8 JSON text. */
  JSON: 1,
  /** MessagePack. */
  MSGPACK: 2,
  /** Default id of a custom codec (both sides must agree on which one, e.g. by the topic's type name). */
  CUSTOM: 255,
} as const

/** Lowest id a custom codec may use. */
export const MIN_CUSTOM_CODEC_ID = 128

/** A way to turn values into bytes and back. `In` is what `encode` takes, `Out` what `decode` returns. */
export interface Codec<In = unknown, Out = In> {
  /** Name used in errors and logs (`raw`, `json`, `msgpack` or the custom codec's name). */
  readonly name: string
  /** One-byte id carried in the topic header, see {@link CodecId}. */
  readonly id: number
  /**
   * Encodes a value; may throw (use {@link encodeValue} for a named error). The result may be a view into a larger
   * buffer: do not mutate it.
   */
  encode(value: In): Uint8Array
  /** Decodes a payload; may throw on garbage (use {@link decodeValue} for a named error). */
  decode(data: Uint8Array): Out
}

/** The names of the built-in codecs. */
export type CodecName = 'raw' | 'json' | 'msgpack'

/** A codec option as applications give it: a built-in codec's name or a codec object. Default: `'raw'`. */
export type CodecOption = CodecName | Codec<never, unknown>

const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

/**
 * `raw`: a Uint8Array or Buffer is sent as is (no copy), a string as its UTF-8 bytes, any other ArrayBuffer view
 * (e.g. a Float64Array) as its bytes. Decoding returns a Buffer view of the received bytes (no copy).
 */
export const rawCodec: Codec<Uint8Array | ArrayBufferView | string, Buffer> = {
  name: 'raw',
  id: CodecId.RAW,
  encode(value) {
    if (value instanceof Uint8Array) return value
    if (typeof value === 'string') return Buffer.from(value, 'utf8')
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    throw new TypeError(`the raw codec takes a Uint8Array, Buffer or string, not ${describeValue(value, 40)}`)
  },
  decode: asBuffer,
}

/** Strict UTF-8: invalid byte sequences are errors, not U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * `json`: `JSON.stringify` as UTF-8. Values without a JSON form (undefined, a function or symbol at the top) and values
 * `JSON.stringify` rejects (circular structures, BigInt) cannot be encoded. Decoding rejects invalid UTF-8 and
 * invalid JSON.
 */
export const jsonCodec: Codec<unknown> = {
  name: 'json',
  id: CodecId.JSON,
  encode(value) {
    const text = JSON.stringify(value)
    if (text === undefined) throw new TypeError(`${describeValue(value, 40)} has no JSON form`)
    return Buffer.from(text, 'utf8')
  },
  decode(data) {
    return JSON.parse(utf8.decode(data))
  },
}

/**
 * One packer for every `msgpack` encode and decode. Records (`useRecords`) are off: they are a msgpackr extension
 * with state shared between sender and receiver, which other MessagePack implementations cannot read.
 */
const packr = new Packr({ useRecords: false })

/**
 * `msgpack`: MessagePack through msgpackr (Dates, BigInt up to 64 bits and binary data included; a Map is encoded as a
 * MessagePack map and, like an object, decoded as a plain object, since MessagePack has one map type). Integers beyond
 * 64 bits and circular structures cannot be encoded. The encoded bytes are a view into msgpackr's shared buffer (never
 * overwritten, but it keeps up to 8 KiB alive): copy them if you keep them long. Decoding rejects truncated data,
 * trailing bytes and the reserved byte 0xc1; binary values in the result are views of the received bytes.
 */
export const msgpackCodec: Codec<unknown> = {
  name: 'msgpack',
  id: CodecId.MSGPACK,
  encode(value) {
    return packr.pack(value)
  },
  decode(data) {
    const value: unknown = packr.unpack(data)
    if (value === C1) throw new RangeError('the reserved MessagePack byte 0xc1 is not a value')
    return value
  },
}

/** What {@link customCodec} needs. */
export interface CustomCodecSpec<In, Out> {
  /** Turns a value into bytes. */
  encode(value: In): Uint8Array
  /** Turns bytes back into a value; should throw on garbage. */
  decode(data: Uint8Array): Out
  /** Wire id, 128..255. Default: 255 ({@link CodecId.CUSTOM}). */
  id?: number
}

/**
 * A codec from your own functions (e.g. protobuf). Its output is checked: `encode` must return a Uint8Array.
 * Throws TypeError on a bad name or functions, RangeError on an id outside 128..255.
 */
export function customCodec<In, Out = In>(name: string, spec: CustomCodecSpec<In, Out>): Codec<In, Out> {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('a custom codec needs a name')
  if (typeof spec?.encode !== 'function' || typeof spec.decode !== 'function') {
    throw new TypeError(`custom codec ${name} needs encode and decode functions`)
  }
  const id = spec.id ?? CodecId.CUSTOM
  if (!Number.isInteger(id) || id < MIN_CUSTOM_CODEC_ID || id > 255) {
    throw new RangeError(`custom codec ${name}: id must be an integer from ${MIN_CUSTOM_CODEC_ID} to 255, not ${id}`)
  }
  const { encode, decode } = spec
  return {
    name,
    id,
    encode(value) {
      const data = encode(value)
      if (!(data instanceof Uint8Array)) throw new TypeError(`encode returned ${describeValue(data, 40)}, not bytes`)
      return data
    },
    decode,
  }
}

const builtIn: Record<CodecName, Codec<never, unknown>> = { raw: rawCodec, json: jsonCodec, msgpack: msgpackCodec }

/** The codec for an option (`'raw'` when undefined). Throws TypeError on an unknown name or a non-codec. */
export function resolveCodec(option: CodecOption | undefined): Codec<never, unknown> {
  if (option === undefined) return rawCodec
  if (typeof option === 'string') {
    const codec = Object.hasOwn(builtIn, option) ? builtIn[option] : undefined
    if (codec === undefined) throw new TypeError(`unknown codec ${describeValue(option)}: use raw, json or msgpack`)
    return codec
  }
  if (typeof option?.encode !== 'function' || typeof option.decode !== 'function') {
    throw new TypeError('a codec must be raw, json, msgpack or an object with encode and decode functions')
  }
  return option
}

/** The built-in codec with this wire id, or undefined (custom ids 128..255 and reserved ones). */
export function builtInCodec(id: number): Codec<never, unknown> | undefined {
  if (id === CodecId.RAW) return rawCodec
  if (id === CodecId.JSON) return jsonCodec
  return id === CodecId.MSGPACK ? msgpackCodec : undefined
}

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** Encodes a value published on `topic`; any failure becomes a {@link CodecError} naming the topic and the codec. */
export function encodeValue<In>(codec: Codec<In, unknown>, topic: string, value: In): Uint8Array {
  try {
    return codec.encode(value)
  } catch (err) {
    throw new CodecError(topic, codec.name, 'encode', reason(err), { cause: err })
  }
}

/** Decodes a payload received on `topic`; any failure becomes a {@link CodecError} naming the topic and the codec. */
export function decodeValue<Out>(codec: Codec<never, Out>, topic: string, data: Uint8Array): Out {
  try {
    return codec.decode(data)
  } catch (err) {
    throw new CodecError(topic, codec.name, 'decode', reason(err), { cause: err })
  }
}
