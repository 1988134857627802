/**
 * Names the decoder found valid, by their UTF-8 bytes: a publication's topic and type repeat from one message to the
 * next, so each is read and validated once, then found by comparing bytes (no string made, no validation). A table
 * of fixed size indexed by a hash of the bytes; a collision only replaces the slot (the next read decodes again).
 */

/** Slots per table (a power of two). */
const SLOTS = 512

/** A table of names that passed one kind of validation (topic names, type names). */
export class NameCache {
  readonly #bytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(SLOTS).fill(undefined)
  readonly #names: string[] = new Array<string>(SLOTS).fill('')

  /** The slot found last (a stream of one topic finds it again without hashing). */
  #last = 0

  /** The name whose UTF-8 form is `data[at, at + length)`, if it is in the table. */
  find(data: Uint8Array, at: number, length: number): string | undefined {
    if (this.#holds(this.#last, data, at, length)) return this.#names[this.#last]
    const slot = hash(data, at, length) & (SLOTS - 1)
    if (!this.#holds(slot, data, at, length)) return undefined
    this.#last = slot
    return this.#names[slot]
  }

  #holds(slot: number, data: Uint8Array, at: number, length: number): boolean {
    const known = this.#bytes[slot]
    if (known === undefined || known.length !== length) return false
    for (let i = 0; i < length; i++) if (known[i] !== data[at + i]) return false
    return true
  }

  /** Remembers that `data[at, at + length)` is the (validated) name `name`. */
  add(data: Uint8Array, at: number, length: number, name: string): void {
    const slot = hash(data, at, length) & (SLOTS - 1)
    this.#bytes[slot] = Uint8Array.prototype.slice.call(data, at, at + length) as Uint8Array
    this.#names[slot] = name
  }
}

/** FNV-1a over the bytes. */
function hash(data: Uint8Array, at: number, length: number): number {
  let h = 0x811c9dc5
  for (let i = at; i < at + length; i++) h = Math.imul(h ^ data[i], 0x01000193)
  return h >>> 0
}

/** Valid topic names (`$` names included) seen by the decoder. */
export const TOPIC_NAMES = new NameCache()
/** Valid type names seen by the decoder. */
export const TYPE_NAMES = new NameCache()
