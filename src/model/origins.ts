/**
 * Origins: who made a write. An origin is one run of one replica: the endpoint's ID and an incarnation number drawn
 * at random each time the replica opens, so the write counters of two runs (with or without `persist`) never share
 * numbers. Origins are interned: each replica numbers the ones it knows from 0 and refers to them by that index.
 */
import { hashText, SEED_1, SEED_2 } from './hash'

/** One origin (interned: compare with `===`). */
export interface Origin {
  /** The endpoint ID, 16 lowercase hex digits. */
  readonly id: string
  /** The incarnation, a 32-bit unsigned number. */
  readonly incarnation: number
  /** Index in this replica's table. */
  readonly index: number
  /** Two 32-bit hashes of ID and incarnation (for entry hashes). */
  readonly h1: number
  readonly h2: number
}

/**
 * The order of origins, used to break ties between writes with equal timestamps: by endpoint ID (as a number: 16
 * hex digits compare like their values), then incarnation.
 */
export function compareOrigins(a: Origin, b: Origin): number {
  if (a === b) return 0
  if (a.id !== b.id) return a.id < b.id ? -1 : 1
  return a.incarnation - b.incarnation
}

/** Origins one replica knows at most (each run of each endpoint that wrote is one; about 100 bytes each). */
export const MAX_ORIGINS = 65_536

/** A message named more origins than a replica keeps ({@link MAX_ORIGINS}): it is dropped and counted. */
export class TooManyOriginsError extends RangeError {}

/** The origins one replica knows. */
export class OriginTable {
  readonly #list: Origin[] = []
  readonly #byKey = new Map<string, Origin>()

  /** Number of origins known. */
  get size(): number {
    return this.#list.length
  }

  /** The origin with this ID and incarnation, added if new. */
  intern(id: string, incarnation: number): Origin {
    const key = `${id}.${incarnation}`
    let origin = this.#byKey.get(key)
    if (origin === undefined) {
      if (this.#list.length >= MAX_ORIGINS) throw new TooManyOriginsError(`more than ${MAX_ORIGINS} origins`)
      const h1 = hashText(key, SEED_1)
      const h2 = hashText(key, SEED_2)
      origin = { id, incarnation, index: this.#list.length, h1, h2 }
      this.#list.push(origin)
      this.#byKey.set(key, origin)
    }
    return origin
  }

  /** The origin with this ID and incarnation, if known. */
  find(id: string, incarnation: number): Origin | undefined {
    return this.#byKey.get(`${id}.${incarnation}`)
  }

  /** The origin at `index`. */
  at(index: number): Origin {
    return this.#list[index]
  }

  /** Every origin, by index. */
  all(): readonly Origin[] {
    return this.#list
  }
}
