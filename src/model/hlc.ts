/**
 * A hybrid logical clock (Kulkarni et al., 2014): a timestamp that follows the wall clock but never runs backwards
 * and always exceeds every timestamp this replica has seen, so a write made after seeing another one sorts after it
 * even when the wall clocks disagree.
 *
 * A timestamp is one safe integer: `wall milliseconds × 2048 + logical`, the logical part counting events within one
 * millisecond (it carries into the millisecond when 2048 are not enough). That lasts until the year 2109.
 *
 * **Skew bound.** A received timestamp is adopted only when it is at most `maxSkewMs` ahead of this replica's wall
 * clock; one further ahead does not move the clock (see `Replica`: the write it stamps is held back until the clock
 * gets there), so an endpoint whose clock runs far ahead cannot drag everyone's later writes into its future.
 */

/** Logical counts per millisecond. */
export const LOGICAL_PER_MS = 2048

/** The milliseconds part of a timestamp. */
export const hlcMillis = (hlc: number): number => Math.floor(hlc / LOGICAL_PER_MS)

/** A source of wall-clock time, ms since the Unix epoch (injected by tests). */
export type WallClock = () => number

/** See the module doc. */
export class HybridClock {
  #last = 0
  readonly #wall: WallClock
  readonly #maxSkew: number

  /** `maxSkewMs`: how far ahead of the wall clock a received timestamp may be and still be adopted. */
  constructor(wall: WallClock, maxSkewMs: number) {
    this.#wall = wall
    this.#maxSkew = maxSkewMs * LOGICAL_PER_MS
  }

  /** A new timestamp, above every one issued or adopted before. */
  now(): number {
    const wall = Math.floor(this.#wall()) * LOGICAL_PER_MS
    this.#last = wall > this.#last ? wall : this.#last + 1
    return this.#last
  }

  /** The current reading without issuing a timestamp (the largest one issued or adopted, or the wall clock). */
  peek(): number {
    return Math.max(this.#last, Math.floor(this.#wall()) * LOGICAL_PER_MS)
  }

  /** True when `hlc` is further ahead of the wall clock than the skew bound allows. */
  tooFarAhead(hlc: number): boolean {
    return hlc > this.limit()
  }

  /** The latest timestamp that is not {@link tooFarAhead} now (one reading of the wall clock for many checks). */
  limit(): number {
    return Math.floor(this.#wall()) * LOGICAL_PER_MS + this.#maxSkew
  }

  /** Adopts a timestamp whatever its distance (state restored from disk: later writes must sort after it). */
  restore(hlc: number): void {
    if (hlc > this.#last) this.#last = hlc
  }

  /** Adopts a received timestamp that {@link tooFarAhead} let through already (later ones sort after it). */
  adopt(hlc: number): void {
    if (hlc > this.#last) this.#last = hlc
  }

  /** Adopts a received timestamp (later ones sort after it); false, and no change, when it is too far ahead. */
  observe(hlc: number): boolean {
    if (this.tooFarAhead(hlc)) return false
    if (hlc > this.#last) this.#last = hlc
    return true
  }
}
