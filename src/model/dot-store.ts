/**
 * The entries of one replica, by key, with the store summary (256 bucket hashes) kept up to date.
 *
 * Two modes:
 * - `lww` (last writer wins): at most one entry per key, the greatest by `compareEntries`; a delete is an entry
 *   without a value (a tombstone), kept until it is collected (see `Replica.collect`).
 * - `mv` (multi-value, "keep all"): every write that no other write at the key has seen stays, so concurrent writes
 *   are all kept; a write or delete removes the entries it saw. No tombstones.
 */
import { compareEntries, type Entry } from './entry'

/** Number of buckets of the store summary. */
export const BUCKETS = 256

/** Conflict modes. */
export type StoreMode = 'lww' | 'mv'

/** What inserting an entry did: stored, or not stored because the key holds a greater entry (lww). */
export const Inserted = { Stored: 0, Dominated: 1 } as const
/** One of the {@link Inserted} values. */
export type Inserted = (typeof Inserted)[keyof typeof Inserted]

/** See the module doc. */
export class DotStore {
  readonly mode: StoreMode
  /** Per key: the entry, or (mv, concurrent writes) an array of them. */
  readonly #byKey = new Map<string, Entry | Entry[]>()
  /** Two hash words per bucket. */
  readonly #buckets = new Uint32Array(2 * BUCKETS)
  /** The tombstones (lww). */
  readonly tombstones = new Set<Entry>()
  /** The winning entry at the key of the last `insert()` before it (undefined when the key held nothing). */
  previous: Entry | undefined
  #live = 0
  #entries = 0
  /** Bytes of keys and values held (UTF-16 length of keys, which is what JavaScript keeps). */
  #bytes = 0

  constructor(mode: StoreMode) {
    this.mode = mode
  }

  /** Keys with a value. */
  get liveKeys(): number {
    return this.#live
  }

  /** Entries held, tombstones included. */
  get entryCount(): number {
    return this.#entries
  }

  /** Bytes of encoded values and keys held (an estimate of the live data). */
  get bytes(): number {
    return this.#bytes
  }

  /** The winning entry at `key` (possibly a tombstone), or undefined. */
  winner(key: string): Entry | undefined {
    const held = this.#byKey.get(key)
    if (held === undefined || !Array.isArray(held)) return held
    return this.#winnerOf(held)
  }

  #winnerOf(held: readonly Entry[]): Entry {
    let best = held[0]
    for (let i = 1; i < held.length; i++) if (compareEntries(held[i], best) > 0) best = held[i]
    return best
  }

  /** Every entry at `key` (one in lww mode). Do not modify. */
  at(key: string): readonly Entry[] {
    const held = this.#byKey.get(key)
    if (held === undefined) return []
    return Array.isArray(held) ? held : [held]
  }

  /** Every key held, tombstones' included, in no particular order. */
  keys(): IterableIterator<string> {
    return this.#byKey.keys()
  }

  /** Calls `fn` for every entry. */
  forEach(fn: (entry: Entry) => void): void {
    for (const held of this.#byKey.values()) {
      if (Array.isArray(held)) for (const e of held) fn(e)
      else fn(held)
    }
  }

  /**
   * Inserts an entry whose dot the replica has not seen; removes what it supersedes (lww). Sets `previous` to what
   * `winner(entry.key)` returned before.
   */
  insert(entry: Entry): Inserted {
    const held = this.#byKey.get(entry.key)
    this.previous = held === undefined || !Array.isArray(held) ? held : this.#winnerOf(held)
    if (held === undefined) {
      this.#byKey.set(entry.key, entry)
      this.#added(entry)
      if (!entry.deleted) this.#live++
      return Inserted.Stored
    }
    if (this.mode === 'lww') {
      const current = held as Entry
      if (compareEntries(current, entry) > 0) return Inserted.Dominated
      this.#byKey.set(entry.key, entry)
      this.#removed(current)
      this.#added(entry)
      this.#live += (entry.deleted ? 0 : 1) - (current.deleted ? 0 : 1)
      return Inserted.Stored
    }
    if (Array.isArray(held)) held.push(entry)
    else this.#byKey.set(entry.key, [held, entry])
    this.#added(entry)
    return Inserted.Stored
  }

  /** Removes `entry` if it is held; true when it was. */
  remove(entry: Entry): boolean {
    const held = this.#byKey.get(entry.key)
    if (held === undefined) return false
    if (!Array.isArray(held)) {
      if (held !== entry) return false
      this.#byKey.delete(entry.key)
      if (!entry.deleted) this.#live--
    } else {
      const index = held.indexOf(entry)
      if (index < 0) return false
      held.splice(index, 1)
      if (held.length === 1) this.#byKey.set(entry.key, held[0])
    }
    this.#removed(entry)
    return true
  }

  /** The entry at `key` with this dot, if held. */
  find(key: string, originIndex: number, counter: number): Entry | undefined {
    for (const e of this.at(key)) if (e.origin.index === originIndex && e.counter === counter) return e
    return undefined
  }

  /** The bucket hashes: two words per bucket (a copy). */
  bucketHashes(): Uint32Array {
    return this.#buckets.slice()
  }

  /** The summary of the whole store: the XOR of the bucket hashes, two words. */
  rootHash(): [number, number] {
    let a = 0
    let b = 0
    for (let i = 0; i < BUCKETS; i++) {
      a ^= this.#buckets[2 * i]
      b ^= this.#buckets[2 * i + 1]
    }
    return [a >>> 0, b >>> 0]
  }

  #added(e: Entry): void {
    const b = 2 * e.bucket
    this.#buckets[b] ^= e.h1
    this.#buckets[b + 1] ^= e.h2
    this.#entries++
    this.#bytes += e.key.length + e.size
    if (e.deleted && this.mode === 'lww') this.tombstones.add(e)
  }

  #removed(e: Entry): void {
    const b = 2 * e.bucket
    this.#buckets[b] ^= e.h1
    this.#buckets[b + 1] ^= e.h2
    this.#entries--
    this.#bytes -= e.key.length + e.size
    if (e.deleted) this.tombstones.delete(e)
  }
}
