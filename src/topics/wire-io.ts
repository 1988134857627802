/**
 * Bounds-checked little-endian reading and writing for the topic-layer wire format (`wire.ts`). Every read past the
 * end, invalid UTF-8 or out-of-range number throws a {@link TopicWireError} that names the field and the offset.
 */
import { TopicWireError } from './errors'

/** 2^32. */
export const TWO_32 = 2 ** 32
/** Largest high word of a u64 that is still a safe integer (2^53 - 1). */
export const MAX_SAFE_HIGH = 0x1fffff
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }) // a leading U+FEFF is part of the text
/** Text up to this many bytes is checked for ASCII and, if it is, read without the decoder. */
const ASCII_FAST_MAX = 256
/** Latin-1 is ASCII on bytes below 0x80; Buffer's method works on any Uint8Array. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice

/** Encoded names kept at most (topic and type names repeat: each is encoded once, then looked up). */
const MAX_ENCODED = 1024
const ENCODED = new Map<string, Buffer>()

/** A string as UTF-8 (lone surrogates become U+FFFD), remembered for the next time (do not modify it). */
export function utf8Bytes(text: string): Buffer {
  let bytes = ENCODED.get(text)
  if (bytes === undefined) {
    bytes = Buffer.from(text, 'utf8')
    if (ENCODED.size >= MAX_ENCODED) ENCODED.clear()
    ENCODED.set(text, bytes)
  }
  return bytes
}

/** UTF-8 length of a string (lone surrogates count as U+FFFD). */
export const utf8Length = (text: string): number => utf8Bytes(text).length

/** Reads fields from a message, front to back. */
export class Reader {
  /** Current offset. */
  offset = 0
  readonly #data: Uint8Array

  /** Reads `data` from its first byte. */
  constructor(data: Uint8Array) {
    this.#data = data
  }

  /** The bytes read. */
  get data(): Uint8Array {
    return this.#data
  }

  /** Bytes left. */
  get remaining(): number {
    return this.#data.length - this.offset
  }

  #need(bytes: number, field: string): number {
    const at = this.offset
    if (bytes > this.#data.length - at) throw new TopicWireError(`truncated ${field}`, at)
    this.offset = at + bytes
    return at
  }

  /** One byte. */
  u8(field: string): number {
    return this.#data[this.#need(1, field)]
  }

  /** Two bytes, little-endian. */
  u16(field: string): number {
    const at = this.#need(2, field)
    return this.#data[at] | (this.#data[at + 1] << 8)
  }

  /** Four bytes, little-endian. */
  u32(field: string): number {
    return this.#u32At(this.#need(4, field))
  }

  #u32At(at: number): number {
    const d = this.#data
    return (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16)) + d[at + 3] * 0x1000000
  }

  /** Eight bytes, little-endian, as a number; values above 2^53 - 1 are malformed. */
  u64(field: string): number {
    const at = this.#need(8, field)
    const high = this.#u32At(at + 4)
    if (high > MAX_SAFE_HIGH) throw new TopicWireError(`${field} above 2^53 - 1`, at)
    return high * TWO_32 + this.#u32At(at)
  }

  /**
   * An unsigned LEB128 varint (7 bits per byte, low group first, high bit set on every byte but the last) of at
   * most 8 bytes, i.e. below 2^56; values above 2^53 - 1, and overlong forms, are malformed.
   */
  varint(field: string): number {
    const at = this.offset
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.u8(field)
      value += (byte & 0x7f) * scale
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw new TopicWireError(`${field} is an overlong varint`, at)
        if (value > Number.MAX_SAFE_INTEGER) throw new TopicWireError(`${field} above 2^53 - 1`, at)
        return value
      }
      scale *= 128
    }
    throw new TopicWireError(`${field} is a varint longer than 8 bytes`, at)
  }

  /** An endpoint ID: a u64 (little-endian), as 16 lowercase hex digits of its value. */
  id(field: string): string {
    const at = this.#need(8, field)
    let hex = ''
    for (let i = 7; i >= 0; i--) hex += this.#data[at + i].toString(16).padStart(2, '0')
    return hex
  }

  /** `length` bytes as a view (no copy; a Buffer when reading a Buffer). */
  bytes(length: number, field: string): Uint8Array {
    const at = this.#need(length, field)
    return this.#data.subarray(at, at + length)
  }

  /** `length` bytes copied into a buffer of their own (a Buffer when reading a Buffer). */
  copy(length: number, field: string): Uint8Array {
    const at = this.#need(length, field)
    return Uint8Array.prototype.slice.call(this.#data, at, at + length)
  }

  /** `length` bytes of strict UTF-8. */
  text(length: number, field: string): string {
    const at = this.offset
    if (length === 0) {
      this.#need(0, field)
      return ''
    }
    // Short ASCII text (keys, topic names) without a view and a decoder call: it is valid UTF-8 as it is.
    if (length <= ASCII_FAST_MAX && length <= this.#data.length - at) {
      const d = this.#data
      let ascii = true
      for (let i = at; i < at + length; i++) {
        if (d[i] >= 0x80) {
          ascii = false
          break
        }
      }
      if (ascii) {
        this.offset = at + length
        return latin1Slice.call(d, at, at + length)
      }
    }
    const bytes = this.bytes(length, field)
    try {
      return utf8.decode(bytes)
    } catch (err) {
      throw new TopicWireError(`${field} is not valid UTF-8`, at, { cause: err })
    }
  }

  /** Throws unless every byte was read. */
  end(what: string): void {
    if (this.remaining === 0) return
    throw new TopicWireError(`${this.remaining} trailing bytes after the ${what}`, this.offset)
  }
}

/** Writes fields into a buffer of a size computed beforehand. */
export class Writer {
  /** Current offset. */
  offset = 0
  /** The output. */
  readonly data: Buffer

  /** Allocates exactly `size` bytes. */
  constructor(size: number) {
    this.data = Buffer.allocUnsafe(size)
  }

  /** One byte. */
  u8(value: number): void {
    this.data[this.offset++] = value
  }

  /** Two bytes, little-endian. */
  u16(value: number): void {
    this.data[this.offset++] = value & 0xff
    this.data[this.offset++] = value >>> 8
  }

  /** Four bytes, little-endian. */
  u32(value: number): void {
    this.offset = this.data.writeUInt32LE(value, this.offset)
  }

  /** Eight bytes, little-endian, from a safe non-negative integer. */
  u64(value: number): void {
    this.u32(value % TWO_32)
    this.u32(Math.floor(value / TWO_32))
  }

  /** An endpoint ID given as 16 hex digits, written as a u64 (little-endian). */
  id(hex: string): void {
    for (let i = 7; i >= 0; i--) this.data[this.offset++] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  }

  /** Raw bytes. */
  bytes(bytes: Uint8Array): void {
    this.data.set(bytes, this.offset)
    this.offset += bytes.length
  }

  /** A string as UTF-8 (its length was counted with {@link utf8Length}). */
  text(text: string): void {
    this.bytes(utf8Bytes(text))
  }
}
