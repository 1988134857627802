/**
 * Values of replicated objects: encoded with the object's codec when written (a copy of the bytes is kept, never a
 * view into a shared buffer), decoded lazily when read and remembered in the entry.
 */
import { builtInCodec, type Codec, decodeValue, encodeValue } from '../topics/codec'
import { CodecError } from '../topics/errors'
import { type Entry, NOT_DECODED } from './entry'
import { copyBytes } from './wire-parts'

/** Encodes `value` for object `name` (a CodecError names the object and the codec). */
export function encodeFor(codec: Codec<never, unknown>, name: string, value: unknown): Uint8Array {
  return copyBytes(encodeValue(codec as Codec<unknown, unknown>, name, value))
}

/** The decoded value of an entry (undefined for a tombstone); throws CodecError when it cannot be decoded. */
export function decodeEntry<V>(codec: Codec<never, unknown>, name: string, e: Entry): V | undefined {
  if (e.value === undefined) return undefined
  if (e.decoded !== NOT_DECODED) return e.decoded as V
  const c = e.codec === codec.id ? codec : builtInCodec(e.codec)
  if (c === undefined) throw new CodecError(name, `#${e.codec}`, 'decode', `no codec for id ${e.codec} (the map uses ${codec.name})`)
  e.decoded = decodeValue(c, name, e.value)
  return e.decoded as V
}
