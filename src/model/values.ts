/**
 * Values of replicated objects: encoded with the object's codec when written (the entry keeps a copy of the bytes,
 * never a view into a shared buffer), decoded lazily when read and remembered in the entry — except with the raw
 * codec, whose "decoding" is a Buffer of the bytes, made at each read (a copy: the stored bytes cannot be changed
 * through it, and a store of raw values holds no Buffer per value).
 */
import { builtInCodec, type Codec, CodecId, decodeValue, encodeValue, rawCodec } from '../topics/codec'
import { CodecError } from '../topics/errors'
import { type Entry, NOT_DECODED } from './entry'

/** Encodes `value` for object `name` (a CodecError names the object and the codec). Possibly a view: the entry copies it. */
export function encodeFor(codec: Codec<never, unknown>, name: string, value: unknown): Uint8Array {
  return encodeValue(codec as Codec<unknown, unknown>, name, value)
}

/** The decoded value of an entry (undefined for a tombstone); throws CodecError when it cannot be decoded. */
export function decodeEntry<V>(codec: Codec<never, unknown>, name: string, e: Entry): V | undefined {
  if (e.value === undefined) return undefined
  if (e.decoded !== NOT_DECODED) return e.decoded as V
  const c = e.codec === codec.id ? codec : builtInCodec(e.codec)
  if (c === rawCodec && e.codec === CodecId.RAW) return e.value as V
  if (c === undefined) throw new CodecError(name, `#${e.codec}`, 'decode', `no codec for id ${e.codec} (the map uses ${codec.name})`)
  e.decoded = decodeValue(c, name, e.value)
  return e.decoded as V
}
