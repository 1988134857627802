/**
 * Small queue data structures of the reliable send path: a first-in first-out queue with O(1) push and shift,
 * and a binary min-heap.
 */

/** Compact the backing array once this many consumed slots sit in front of it. */
const COMPACT_AFTER = 1024

/** A FIFO queue backed by an array with a moving head (amortized O(1) push and shift). */
export class Fifo<T> {
  #items: (T | undefined)[] = []
  #head = 0

  /** Items in the queue. */
  get size(): number {
    return this.#items.length - this.#head
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined
  }

  /** Appends an item. */
  push(item: T): void {
    this.#items.push(item)
  }

  /** Puts an item in front of all others. */
  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item
    else this.#items.unshift(item)
  }

  /**
   * Puts an item before the oldest one for which `isAfter` is true (at the back if there is none). O(1) when that
   * is the oldest; O(n) otherwise.
   */
  insertBefore(item: T, isAfter: (other: T) => boolean): void {
    let index = this.#head
    while (index < this.#items.length && !isAfter(this.#items[index] as T)) index++
    if (index === this.#head) this.unshift(item)
    else this.#items.splice(index, 0, item)
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#items.length) this.clear()
    else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Removes one item wherever it is (searching from the newest: O(1) for recent ones); returns whether it was there. */
  remove(item: T): boolean {
    const index = this.#items.lastIndexOf(item)
    if (index < this.#head) return false
    this.#items.splice(index, 1)
    return true
  }

  /** Removes every item. */
  clear(): void {
    this.#items = []
    this.#head = 0
  }

  /** The items, oldest first (a snapshot). */
  toArray(): T[] {
    return this.#items.slice(this.#head) as T[]
  }
}

/** A binary min-heap ordered by a numeric key that is fixed while the item is in the heap. */
export class MinHeap<T> {
  readonly #items: T[] = []
  readonly #key: (item: T) => number

  constructor(key: (item: T) => number) {
    this.#key = key
  }

  /** Items in the heap. */
  get size(): number {
    return this.#items.length
  }

  /** The item with the smallest key, without removing it. */
  peek(): T | undefined {
    return this.#items[0]
  }

  /** Adds an item (O(log n)). */
  push(item: T): void {
    const items = this.#items
    const key = this.#key(item)
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.#key(items[parent]) <= key) break
      items[i] = items[parent]
      i = parent
    }
    items[i] = item
  }

  /** Removes and returns the item with the smallest key (O(log n)). */
  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    const key = this.#key(last)
    let i = 0
    for (;;) {
      let child = 2 * i + 1
      if (child >= items.length) break
      if (child + 1 < items.length && this.#key(items[child + 1]) < this.#key(items[child])) child++
      if (this.#key(items[child]) >= key) break
      items[i] = items[child]
      i = child
    }
    items[i] = last
    return top
  }

  /** Removes every item. */
  clear(): void {
    this.#items.length = 0
  }
}
