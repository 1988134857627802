/**
 * A bounded single-producer queue that is consumed as an async iterator: the producer never waits (when the
 * queue is full the oldest item is dropped and counted), the consumer awaits the next item.
 */

/** Options of an {@link AsyncQueue}. */
export interface AsyncQueueOptions {
  /** Capacity in items (≥ 1). When full, `push()` drops the oldest item. */
  limit: number
  /** Aborting stops the iteration: the next `next()` rejects with `signal.reason`, buffered items are discarded. */
  signal?: AbortSignal
  /** Called for every item dropped because the queue was full. */
  onDrop?: () => void
  /** Called once when the iteration is over for any reason (end, `return()`, abort); use it to unsubscribe. */
  onFinish?: () => void
}

interface Waiter<T> {
  resolve: (result: IteratorResult<T, undefined>) => void
  reject: (reason: unknown) => void
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined })
/** Compact the backing array once this many consumed slots sit in front of it. */
const COMPACT_AFTER = 1024

/** Bounded async iterator fed by `push()`; ends after `end()` once drained. */
export class AsyncQueue<T> implements AsyncIterableIterator<T, undefined> {
  #items: (T | undefined)[] = []
  #head = 0
  #waiters: Waiter<T>[] = []
  #ending = false
  #finished = false
  #abortReason: unknown = undefined
  #aborted = false
  readonly #limit: number
  readonly #options: AsyncQueueOptions
  readonly #onAbort = (): void => this.#abort()

  constructor(options: AsyncQueueOptions) {
    this.#options = options
    this.#limit = Math.max(1, Math.floor(options.limit))
    const { signal } = options
    if (signal?.aborted) this.#abort()
    else signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** Items waiting to be consumed. */
  get size(): number {
    return this.#items.length - this.#head
  }

  /** True once the iteration is over (ended and drained, returned, or aborted). */
  get finished(): boolean {
    return this.#finished
  }

  /** Adds an item; hands it straight to a waiting consumer if there is one. Ignored once ending or finished. */
  push(item: T): void {
    if (this.#ending || this.#finished) return
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: item })
      return
    }
    if (this.size >= this.#limit) {
      this.#items[this.#head++] = undefined
      this.#options.onDrop?.()
      this.#compact()
    }
    this.#items.push(item)
  }

  /** No more items will come: the consumer gets the buffered ones, then `done`. */
  end(): void {
    if (this.#ending || this.#finished) return
    this.#ending = true
    if (this.size === 0) this.#finish()
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#aborted) {
      this.#aborted = false
      return Promise.reject(this.#abortReason)
    }
    if (this.size > 0) {
      const value = this.#items[this.#head] as T
      this.#items[this.#head++] = undefined
      this.#compact()
      if (this.#ending && this.size === 0) this.#finish()
      return Promise.resolve({ done: false, value })
    }
    if (this.#finished || this.#ending) {
      this.#finish()
      return Promise.resolve(DONE)
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /** Stops the iteration (e.g. `break` in `for await`): discards buffered items and unsubscribes. */
  return(): Promise<IteratorResult<T, undefined>> {
    this.#aborted = false
    this.#finish()
    return Promise.resolve(DONE)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #abort(): void {
    if (this.#finished) return
    const reason = this.#options.signal?.reason
    const waiters = this.#waiters
    this.#waiters = []
    this.#finish()
    if (waiters.length === 0) {
      this.#aborted = true
      this.#abortReason = reason
    }
    for (const waiter of waiters) waiter.reject(reason)
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#items = []
    this.#head = 0
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter.resolve(DONE)
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    this.#options.onFinish?.()
  }

  #compact(): void {
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
  }
}
