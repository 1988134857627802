/**
 * The in-flight reliable messages by token: a ring of slots indexed by `token & mask`, cheaper than a Map on the
 * hot path (no hashing, no rehash garbage as tokens come and go). Tokens are handed out in sequence, skipping
 * any whose slot is still taken (see `freeToken`), so lookups never collide; the ring doubles when it is half
 * full, so skips stay rare.
 */

/** Smallest ring, slots. */
const INITIAL_SLOTS = 1024

/** An item stored under its own `token`. */
export interface Tokened {
  readonly token: number
}

/** Items by u32 token. */
export class TokenRing<T extends Tokened> {
  #slots: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined)
  #mask = INITIAL_SLOTS - 1
  #size = 0

  /** Items stored. */
  get size(): number {
    return this.#size
  }

  /** Whether `token` cannot be used now: its slot holds an item (of this token or another). */
  has(token: number): boolean {
    return this.#slots[token & this.#mask] !== undefined
  }

  /** The item stored under `token`, if any. */
  get(token: number): T | undefined {
    const item = this.#slots[token & this.#mask]
    return item !== undefined && item.token === token ? item : undefined
  }

  /** Stores `item` under `item.token`, whose slot must be free (`has()` false). */
  add(item: T): void {
    const index = item.token & this.#mask
    if (this.#slots[index] !== undefined) throw new Error(`token ${item.token} is taken`)
    this.#slots[index] = item
    if (++this.#size * 2 > this.#slots.length) this.#grow()
  }

  /** Removes the item stored under `token`; returns whether there was one. */
  delete(token: number): boolean {
    const index = token & this.#mask
    const item = this.#slots[index]
    if (item === undefined || item.token !== token) return false
    this.#slots[index] = undefined
    this.#size--
    return true
  }

  /** The stored items, in slot order. */
  values(): T[] {
    return this.#slots.filter((item): item is T => item !== undefined)
  }

  /** Removes every item. */
  clear(): void {
    this.#slots.fill(undefined)
    this.#size = 0
  }

  #grow(): void {
    const slots = new Array<T | undefined>(this.#slots.length * 2).fill(undefined)
    const mask = slots.length - 1
    for (const item of this.#slots) if (item !== undefined) slots[item.token & mask] = item
    this.#slots = slots
    this.#mask = mask
  }
}
