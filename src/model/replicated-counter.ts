/**
 * A replicated counter (`ep.counter(name)`): every replica adds to its own share and the value is the sum of the
 * shares, so concurrent increments all count (a PN-counter). Each share is one entry per origin (endpoint run)
 * that only its owner writes, holding the owner's running total as a float64.
 */
import { InvalidOptionError } from '../errors'
import type { WriteOptions } from './options'
import type { RawChange } from './replica'
import { type ChangeOrigin, type ObjectParts, ReplicatedObject } from './replicated-object'
import type { Entry } from './entry'
import type { Origin } from './origins'

/** One change of a counter, local or remote. */
export interface CounterChange {
  /** The value now. */
  readonly value: number
  /** The value before. */
  readonly previous: number
  /** Who incremented. */
  readonly origin: ChangeOrigin
  /** Incremented by this endpoint. */
  readonly local: boolean
}

/** An origin's share, from its entry (only an entry under the origin's own key counts). */
function share(e: Entry | undefined): number {
  if (e === undefined || e.size !== 8) return 0
  if (e.key !== shareKey(e.origin)) return 0
  const n = (e.value as Buffer).readDoubleLE(0)
  return Number.isFinite(n) ? n : 0
}

/** The key of an origin's share. */
const shareKey = (o: Origin): string => `${o.id}.${o.incarnation}`

/** See the module doc. */
export class ReplicatedCounter extends ReplicatedObject<CounterChange> {
  #value = 0
  #previous = 0
  readonly #key: string

  constructor(parts: ObjectParts) {
    super(parts)
    this.#key = shareKey(parts.replica.self)
    parts.replica.store.forEach((e) => {
      this.#value += share(e)
    })
  }

  /** The sum of every increment seen here. */
  get value(): number {
    return this.#value
  }

  /**
   * Adds `n` (default 1; negative to subtract; a finite number) and returns the new value; with `{ quorum }`, a
   * Promise of it, settled as for a map's `set()`.
   */
  increment(n?: number): number
  increment(n: number, options: WriteOptions & { quorum: 'majority' | number }): Promise<number>
  increment(n?: number, options?: WriteOptions): number | Promise<number>
  increment(n = 1, options?: WriteOptions): number | Promise<number> {
    this.checkOpen()
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw new InvalidOptionError(`Invalid increment: ${String(n)} (expected a finite number)`, { option: 'n', value: n })
    }
    const mine = share(this.replica.store.winner(this.#key)) + n
    const bytes = new Uint8Array(8)
    Buffer.from(bytes.buffer).writeDoubleLE(mine, 0)
    const result = this.write(this.#key, 0, bytes, options)
    return typeof result === 'boolean' ? this.#value : result.then(() => this.#value)
  }

  /** Subtracts `n` (default 1): `increment(-n)`. */
  decrement(n?: number): number
  decrement(n: number, options: WriteOptions & { quorum: 'majority' | number }): Promise<number>
  decrement(n?: number, options?: WriteOptions): number | Promise<number>
  decrement(n = 1, options?: WriteOptions): number | Promise<number> {
    return this.increment(-n, options)
  }

  protected override observe(raw: RawChange): void {
    this.#previous = this.#value
    this.#value += share(raw.after) - share(raw.before)
  }

  protected toEvent(raw: RawChange): CounterChange {
    return { value: this.#value, previous: this.#previous, origin: this.originOf(raw), local: raw.local }
  }
}
