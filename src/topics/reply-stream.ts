/**
 * The async iterator of `requestAll()`: replies are pushed as they arrive (at most one per replier asked, so the
 * buffer is bounded by the number of repliers), and the stream ends when every replier asked answered or went away,
 * at the timeout, or with an error (`NoResponderError`, an abort's reason, `ClosedError`).
 */
import type { TopicMessage } from './message'

interface Waiter {
  resolve: (result: IteratorResult<TopicMessage, undefined>) => void
  reject: (reason: unknown) => void
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined })

/** See the module doc. */
export class ReplyStream implements AsyncIterableIterator<TopicMessage, undefined> {
  readonly #items: TopicMessage[] = []
  readonly #waiters: Waiter[] = []
  readonly #onReturn: () => void
  #ended = false
  #error: unknown = undefined

  /** `onReturn`: called when the consumer stops early (`break`, `return()`). */
  constructor(onReturn: () => void) {
    this.#onReturn = onReturn
  }

  /** Adds a reply. */
  push(item: TopicMessage): void {
    if (this.#ended) return
    const waiter = this.#waiters.shift()
    if (waiter !== undefined) waiter.resolve({ done: false, value: item })
    else this.#items.push(item)
  }

  /** Ends the stream after the buffered replies; with `error`, the iteration then throws it. */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    if (this.#items.length > 0) return
    for (const waiter of this.#waiters.splice(0)) this.#settleEnd(waiter)
  }

  #settleEnd(waiter: Waiter): void {
    if (this.#error === undefined) return waiter.resolve(DONE)
    const error = this.#error
    this.#error = undefined
    waiter.reject(error)
  }

  next(): Promise<IteratorResult<TopicMessage, undefined>> {
    const item = this.#items.shift()
    if (item !== undefined) return Promise.resolve({ done: false, value: item })
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject }
      if (this.#ended) this.#settleEnd(waiter)
      else this.#waiters.push(waiter)
    })
  }

  return(): Promise<IteratorResult<TopicMessage, undefined>> {
    this.#items.length = 0
    if (!this.#ended) {
      this.#ended = true
      this.#onReturn()
      for (const waiter of this.#waiters.splice(0)) waiter.resolve(DONE)
    }
    return Promise.resolve(DONE)
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
