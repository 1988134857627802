/**
 * Lowe's memoisation for the search: configurations already explored (or being explored), each the set of answered
 * operations linearized, the set of unanswered ones linearized, the state, and the state before the current run of
 * unanswered operations (-1 when the latest operation was an answered one; see `wgl.ts`).
 *
 * A new configuration is covered by a cached one with the same answered operations and state, a subset of its
 * unanswered operations, and no constraint the new one lacks (no run under way, or a run from the same state): the
 * cached one can make every move of the new one and leave the extra unanswered operations out, so if it found no
 * linearization neither will the new one. (Lowe compares whole sets; covering also stops the search from trying every
 * subset of unanswered operations again at every later point.)
 */

interface CacheEntry {
  readonly done: Uint32Array
  readonly taken: Uint32Array
  readonly state: number
  readonly run: number
}

export class ConfigCache {
  readonly #buckets = new Map<number, CacheEntry[]>()
  readonly #zobrist: Int32Array
  /** Answered operations linearized (a bitset over operation numbers). */
  readonly done: Uint32Array
  /** Unanswered operations linearized. */
  readonly taken: Uint32Array
  #hash = 0

  constructor(n: number) {
    const words = (n + 31) >>> 5
    this.done = new Uint32Array(words)
    this.taken = new Uint32Array(words)
    this.#zobrist = zobristKeys(n)
  }

  /** Adds or removes `op` from the linearized sets. */
  flip(op: number, pending: boolean): void {
    if (pending) this.taken[op >>> 5] ^= 1 << (op & 31)
    else {
      this.done[op >>> 5] ^= 1 << (op & 31)
      this.#hash ^= this.#zobrist[op]
    }
  }

  /** Adds the current sets with `state` and `run`; false when a cached configuration covers them. */
  remember(state: number, run: number): boolean {
    const key = (this.#hash ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0
    let bucket = this.#buckets.get(key)
    if (bucket === undefined) {
      bucket = []
      this.#buckets.set(key, bucket)
    }
    for (const c of bucket) {
      if (c.state === state && (c.run === -1 || c.run === run) && sameBits(c.done, this.done) && subset(c.taken, this.taken)) return false
    }
    bucket.push({ done: this.done.slice(), taken: this.taken.slice(), state, run })
    return true
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function subset(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i] & ~b[i]) !== 0) return false
  return true
}

/** Deterministic pseudo-random 32-bit keys (xorshift32), one per operation, for an incremental hash of `done`. */
function zobristKeys(n: number): Int32Array {
  const keys = new Int32Array(n)
  let x = 0x2545f491
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    keys[i] = x
  }
  return keys
}
