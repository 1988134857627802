/**
 * A causal context: the set of dots (origin, counter) a replica has seen, whether the write is still in its store or
 * was superseded, deleted or collected since. Per origin it is a contiguous prefix `1..contiguous` and a few ranges
 * above it (writes that arrived out of order); the ranges merge into the prefix as the gaps fill, so a context costs
 * a few numbers per origin, not one per write.
 *
 * Because a context also remembers writes that are gone, two replicas can tell "you lack this write" from "I removed
 * it" (see `Replica`), and deletes need no tombstone once everyone has seen them.
 */

/** Most ranges kept above the prefix of one origin; a message that would need more is refused as malformed. */
export const MAX_RANGES = 65536

/** The dots of one origin: a prefix and sorted, disjoint, non-adjacent ranges `[start, end]` above it. */
export interface OriginDots {
  /** Every counter `1..contiguous` was seen. */
  contiguous: number
  /** Flat `[start0, end0, start1, end1, ...]`, each start > previous end + 1 and the first > contiguous + 1. */
  ranges: number[]
}

/** Thrown when a context would need more than {@link MAX_RANGES} ranges for one origin. */
export class TooManyRangesError extends RangeError {}

/** See the module doc. Origins are referred to by their index in the replica's `OriginTable`. */
export class CausalContext {
  readonly #dots: (OriginDots | undefined)[] = []

  /** The dots of origin `index` (undefined when none). Do not modify. */
  of(index: number): OriginDots | undefined {
    return this.#dots[index]
  }

  /** The contiguous prefix of origin `index` (0 when none). */
  contiguous(index: number): number {
    return this.#dots[index]?.contiguous ?? 0
  }

  /** Highest origin index with dots, plus one. */
  get length(): number {
    return this.#dots.length
  }

  /** True when dot (index, counter) was seen. */
  has(index: number, counter: number): boolean {
    const d = this.#dots[index]
    if (d === undefined) return false
    if (counter <= d.contiguous) return true
    const r = d.ranges
    let lo = 0
    let hi = r.length / 2 - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (counter < r[2 * mid]) hi = mid - 1
      else if (counter > r[2 * mid + 1]) lo = mid + 1
      else return true
    }
    return false
  }

  /** Adds one dot; true when it was new. */
  add(index: number, counter: number): boolean {
    const d = this.#get(index)
    if (counter === d.contiguous + 1 && d.ranges.length === 0) {
      d.contiguous = counter
      return true
    }
    return this.addRange(index, counter, counter)
  }

  /** Adds the dots `first..last` of one origin (inclusive); true when any was new. */
  addRange(index: number, first: number, last: number): boolean {
    if (last < first) return false
    const d = this.#get(index)
    if (last <= d.contiguous) return false
    if (first <= d.contiguous + 1) {
      d.contiguous = last
      absorb(d)
      return true
    }
    return insertRange(d, first, last)
  }

  /** Adds every dot of `other` (same origin numbering); true when any was new. */
  merge(other: CausalContext): boolean {
    let changed = false
    for (let i = 0; i < other.length; i++) {
      const d = other.of(i)
      if (d === undefined) continue
      if (this.addRange(i, 1, d.contiguous)) changed = true
      for (let k = 0; k < d.ranges.length; k += 2) if (this.addRange(i, d.ranges[k], d.ranges[k + 1])) changed = true
    }
    return changed
  }

  /** True when every dot of `other` is in this context. */
  covers(other: CausalContext): boolean {
    for (let i = 0; i < other.length; i++) {
      const d = other.of(i)
      if (d === undefined) continue
      if (!this.#coversRange(i, 1, d.contiguous)) return false
      for (let k = 0; k < d.ranges.length; k += 2) if (!this.#coversRange(i, d.ranges[k], d.ranges[k + 1])) return false
    }
    return true
  }

  /** True when this context has the dots `first..last` of origin `index`. */
  #coversRange(index: number, first: number, last: number): boolean {
    if (last < first) return true
    const d = this.#dots[index]
    if (d === undefined) return false
    if (last <= d.contiguous) return true
    const from = Math.max(first, d.contiguous + 1)
    const r = d.ranges
    for (let k = 0; k < r.length; k += 2) if (r[k] <= from && last <= r[k + 1]) return true
    return false
  }

  /**
   * Number of dots of `other` this context lacks (an estimate is not enough: exact, summed over origins). With
   * `capIndex`, dots of that origin above `capCounter` are not counted.
   */
  lacking(other: CausalContext, capIndex = -1, capCounter = 0): number {
    let missing = 0
    for (let i = 0; i < other.length; i++) {
      const d = other.of(i)
      if (d === undefined) continue
      const cap = i === capIndex ? capCounter : Infinity
      missing += this.#lackingRange(i, 1, Math.min(d.contiguous, cap))
      for (let k = 0; k < d.ranges.length; k += 2) missing += this.#lackingRange(i, d.ranges[k], Math.min(d.ranges[k + 1], cap))
    }
    return missing
  }

  #lackingRange(index: number, first: number, last: number): number {
    if (last < first) return 0
    const d = this.#dots[index]
    if (d === undefined) return last - first + 1
    let missing = 0
    let at = Math.max(first, d.contiguous + 1)
    const r = d.ranges
    for (let k = 0; k < r.length && at <= last; k += 2) {
      if (r[k + 1] < at) continue
      if (r[k] > last) break
      if (r[k] > at) missing += r[k] - at
      at = r[k + 1] + 1
    }
    if (at <= last) missing += last - at + 1
    return missing
  }

  /** A deep copy. */
  clone(): CausalContext {
    const copy = new CausalContext()
    copy.merge(this)
    return copy
  }

  /** True when both hold the same dots. */
  equals(other: CausalContext): boolean {
    return this.covers(other) && other.covers(this)
  }

  #get(index: number): OriginDots {
    let d = this.#dots[index]
    if (d === undefined) {
      while (this.#dots.length < index) this.#dots.push(undefined)
      d = { contiguous: 0, ranges: [] }
      this.#dots[index] = d
    }
    return d
  }
}

/** Moves ranges that touch the prefix into it. */
function absorb(d: OriginDots): void {
  const r = d.ranges
  let drop = 0
  while (drop < r.length && r[drop] <= d.contiguous + 1) {
    if (r[drop + 1] > d.contiguous) d.contiguous = r[drop + 1]
    drop += 2
  }
  if (drop > 0) r.splice(0, drop)
}

/** Inserts `[first, last]` (first > contiguous + 1) into the ranges, merging; true when any dot was new. */
function insertRange(d: OriginDots, first: number, last: number): boolean {
  const r = d.ranges
  // The first range that ends at or after first - 1 (it may touch or overlap).
  let lo = 0
  let hi = r.length / 2
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (r[2 * mid + 1] < first - 1) lo = mid + 1
    else hi = mid
  }
  let end = lo
  while (end < r.length / 2 && r[2 * end] <= last + 1) end++
  if (end === lo) {
    if (r.length / 2 >= MAX_RANGES) throw new TooManyRangesError(`more than ${MAX_RANGES} ranges for one origin`)
    r.splice(2 * lo, 0, first, last)
    return true
  }
  const start = Math.min(first, r[2 * lo])
  const stop = Math.max(last, r[2 * end - 1])
  const changed = !(end === lo + 1 && r[2 * lo] <= first && last <= r[2 * lo + 1])
  r.splice(2 * lo, 2 * (end - lo), start, stop)
  return changed
}
