/**
 * The two primitives of the Yjs message layout, written as lib0 writes them (so that glue's Yjs messages are
 * byte-for-byte those of y-protocols / y-websocket) without importing lib0, which is not a dependency of glue:
 * - varUint: an unsigned integer in 7-bit groups, least significant first, the high bit set on every byte but the last;
 * - varUint8Array: a varUint length, then that many bytes (a varString is the same with UTF-8 text).
 */

/** The largest varUint accepted: 2^53 - 1 (what a JavaScript number holds exactly). */
const MAX_VAR_UINT = Number.MAX_SAFE_INTEGER

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** Thrown by {@link ByteReader} on input that is not well formed. */
export class MalformedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MalformedError'
  }
}

/** Builds a byte sequence from varUints and byte arrays. */
export class ByteWriter {
  #current: number[] = []
  readonly #chunks: (number[] | Uint8Array)[] = [this.#current]
  #length = 0

  /** Appends an unsigned integer (0..2^53-1) as a varUint. */
  varUint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varUint: ${value}`)
    while (value > 0x7f) {
      this.#current.push(0x80 | (value % 0x80))
      value = Math.floor(value / 0x80)
      this.#length++
    }
    this.#current.push(value)
    this.#length++
    return this
  }

  /** Appends a varUint length and the bytes. */
  varUint8Array(bytes: Uint8Array): this {
    this.varUint(bytes.length)
    this.#chunks.push(bytes)
    this.#current = []
    this.#chunks.push(this.#current)
    this.#length += bytes.length
    return this
  }

  /** The bytes written so far, as one new array. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.#length)
    let offset = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }
}

/** Reads varUints and byte arrays from a byte sequence; throws {@link MalformedError} past its end. */
export class ByteReader {
  readonly #bytes: Uint8Array
  #pos = 0

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
  }

  /** True when every byte was read. */
  get done(): boolean {
    return this.#pos === this.#bytes.length
  }

  /** Reads a varUint (at most 2^53 - 1). */
  varUint(): number {
    let value = 0
    let scale = 1
    for (;;) {
      if (this.#pos >= this.#bytes.length) throw new MalformedError('unexpected end of message')
      const byte = this.#bytes[this.#pos++]
      value += (byte & 0x7f) * scale
      if (value > MAX_VAR_UINT) throw new MalformedError('varUint out of range')
      if (byte < 0x80) return value
      scale *= 0x80
    }
  }

  /** Reads a varUint length and that many bytes (a view into the input, not a copy). */
  varUint8Array(): Uint8Array {
    const length = this.varUint()
    if (length > this.#bytes.length - this.#pos) throw new MalformedError('length beyond the end of the message')
    const out = this.#bytes.subarray(this.#pos, this.#pos + length)
    this.#pos += length
    return out
  }

  /** Reads a varUint length and that many bytes as UTF-8 text (malformed UTF-8 is an error). */
  varString(): string {
    const bytes = this.varUint8Array()
    try {
      return UTF8.decode(bytes)
    } catch {
      throw new MalformedError('text is not UTF-8')
    }
  }
}
