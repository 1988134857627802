/**
 * The own writes a replica made since its last delta was taken: what the next delta carries, the newest write per
 * key only. Kept as an array in counter order (the order a delta lists them in) plus the few that dropped out —
 * superseded by a newer own write at their key, or removed — instead of a map by key that would be refilled from
 * empty for every delta.
 *
 * An own write superseded in the store by a remote one still goes out (the store no longer shows it, but it was
 * written), until a newer own write at its key replaces it: `shadow()` remembers those by key.
 */
import type { Entry } from './entry'
import type { Origin } from './origins'

/** See the module doc. */
export class PendingWrites {
  /** This replica's origin. */
  readonly self: Origin
  /** The counter of the first write the next delta covers. */
  from = 1
  #entries: Entry[] = []
  readonly #dropped = new Set<Entry>()
  readonly #shadowed = new Map<string, Entry>()

  constructor(self: Origin) {
    this.self = self
  }

  /** Number of entries the next delta carries. */
  get size(): number {
    return this.#entries.length - this.#dropped.size
  }

  /** True when `e` goes out with the next delta. */
  has(e: Entry): boolean {
    return e.origin === this.self && e.counter >= this.from && !this.#dropped.has(e)
  }

  /** A new own write; `previous` is the entry it replaced in the store (lww), if any. */
  add(entry: Entry, previous: Entry | undefined): void {
    if (previous !== undefined) this.drop(previous)
    if (this.#shadowed.size > 0) {
      const shadowed = this.#shadowed.get(entry.key)
      if (shadowed !== undefined) {
        this.#shadowed.delete(entry.key)
        this.drop(shadowed)
      }
    }
    this.#entries.push(entry)
  }

  /** `e` no longer goes out (superseded by an own write, or removed); true when it was to. */
  drop(e: Entry): boolean {
    if (!this.has(e)) return false
    this.#dropped.add(e)
    return true
  }

  /** `e` was superseded in the store by a remote write: it still goes out unless an own write replaces it. */
  shadow(e: Entry): void {
    if (this.has(e)) this.#shadowed.set(e.key, e)
  }

  /** The entries of the next delta, in counter order; starts afresh from counter `next`. */
  take(next: number): Entry[] {
    const entries = this.#dropped.size === 0 ? this.#entries : this.#entries.filter((e) => !this.#dropped.has(e))
    this.#entries = []
    this.#dropped.clear()
    this.#shadowed.clear()
    this.from = next
    return entries
  }
}
