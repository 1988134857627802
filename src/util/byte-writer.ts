/**
 * A growable little-endian writer for messages whose size is not known beforehand (the model layer's): it starts
 * small, doubles when full, and hands out the bytes written as a view.
 */

const TWO_32 = 2 ** 32

type Latin1Write = (this: Buffer, text: string, offset: number, length: number) => number
/** `Buffer#write(text, offset, length, 'latin1')` without its argument checks (offset and length are in range here). */
const latin1Write = (Buffer.prototype as unknown as { latin1Write: Latin1Write }).latin1Write

/** Bytes needed by {@link ByteWriter.varint} for `value`. */
export function varintSize(value: number): number {
  let size = 1
  for (let v = value; v >= 128; v = Math.floor(v / 128)) size++
  return size
}

/** See the module doc. */
export class ByteWriter {
  #data: Buffer
  /** Bytes written so far. */
  offset = 0

  /** Starts with room for `capacity` bytes. */
  constructor(capacity = 256) {
    this.#data = Buffer.allocUnsafe(Math.max(16, capacity))
  }

  #room(bytes: number): Buffer {
    if (this.offset + bytes > this.#data.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#data.length * 2, this.offset + bytes))
      this.#data.copy(grown, 0, 0, this.offset)
      this.#data = grown
    }
    return this.#data
  }

  /** One byte. */
  u8(value: number): void {
    this.#room(1)[this.offset++] = value
  }

  /** Four bytes, little-endian. */
  u32(value: number): void {
    this.offset = this.#room(4).writeUInt32LE(value >>> 0, this.offset)
  }

  /** Overwrites four bytes at `at` (a field reserved earlier). */
  u32At(at: number, value: number): void {
    this.#data.writeUInt32LE(value >>> 0, at)
  }

  /** An unsigned LEB128 varint of a safe non-negative integer. */
  varint(value: number): void {
    const data = this.#room(8)
    let at = this.offset
    let v = value
    if (v > 0x7fffffff) {
      // The low 28 bits as four groups in integer arithmetic, then the rest (below 2^25): the same bytes.
      let low = v % 0x10000000
      v = (v - low) / 0x10000000
      for (let i = 0; i < 4; i++) {
        data[at++] = (low & 0x7f) | 0x80
        low >>>= 7
      }
    }
    while (v >= 128) {
      data[at++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    data[at++] = v
    this.offset = at
  }

  /** Eight bytes, little-endian, from a safe non-negative integer. */
  u64(value: number): void {
    this.u32(value % TWO_32)
    this.u32(Math.floor(value / TWO_32))
  }

  /** An endpoint ID given as 16 hex digits, written as a u64 (little-endian). */
  id(hex: string): void {
    const data = this.#room(8)
    for (let i = 7; i >= 0; i--) data[this.offset++] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  }

  /** Raw bytes. */
  bytes(bytes: Uint8Array): void {
    this.#room(bytes.length).set(bytes, this.offset)
    this.offset += bytes.length
  }

  /** Raw bytes given as a Latin-1 string (one char per byte, as `Buffer#toString('latin1')` makes them). */
  latin1(bytes: string): void {
    const n = bytes.length
    this.offset += latin1Write.call(this.#room(n), bytes, this.offset, n)
  }

  /** A varint length, then the bytes. */
  lengthPrefixed(bytes: Uint8Array): void {
    this.varint(bytes.length)
    this.bytes(bytes)
  }

  /** A string as a varint byte length and UTF-8 (lone surrogates become U+FFFD). */
  text(text: string): void {
    if (text.length < 128 && this.#ascii(text)) return
    const max = text.length * 3
    const data = this.#room(8 + max)
    const lengthAt = this.offset
    // Reserve the length's varint for the largest possible length, then move the text if the varint is shorter.
    const reserve = varintSize(max)
    const written = data.write(text, lengthAt + reserve, 'utf8')
    const need = varintSize(written)
    if (need !== reserve) data.copy(data, lengthAt + need, lengthAt + reserve, lengthAt + reserve + written)
    this.varint(written)
    this.offset = lengthAt + need + written
  }

  /** Writes short ASCII text (its length is one varint byte) without the encoder; false, nothing written, if not ASCII. */
  #ascii(text: string): boolean {
    const n = text.length
    const data = this.#room(1 + n)
    const at = this.offset
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i)
      if (c >= 0x80) return false
      data[at + 1 + i] = c
    }
    data[at] = n
    this.offset = at + 1 + n
    return true
  }

  /** What was written, as a view of the internal buffer (valid until the next write). */
  view(): Buffer {
    return this.#data.subarray(0, this.offset)
  }

  /** What was written, in a buffer of its own. */
  finish(): Buffer {
    return Buffer.from(this.view())
  }
}
