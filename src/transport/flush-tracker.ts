/**
 * What `flush()` waits for: counts unsettled reliable messages per flush generation, so that a flush resolves
 * once every message sent before it is settled, however many are sent after it.
 */

interface Waiter {
  /** Resolves once every message of this generation or earlier is settled. */
  readonly generation: number
  readonly resolve: () => void
}

/** Unsettled messages by generation; a generation ends with each `flush()` that has something to wait for. */
export class FlushTracker {
  /**
   * Unsettled messages per ended generation; the keys are in ascending order (a generation only ever grows). The
   * current generation is counted in `#current` (no Map operation per message).
   */
  readonly #counts = new Map<number, number>()
  readonly #waiters: Waiter[] = []
  #generation = 0
  /** Unsettled messages of the current generation. */
  #current = 0

  /** Messages not yet settled. */
  get unsettled(): number {
    let count = this.#current
    for (const n of this.#counts.values()) count += n
    return count
  }

  /** Counts a new message; returns its generation (pass it to `settled()`). */
  add(): number {
    this.#current++
    return this.#generation
  }

  /**
   * A message of `generation` is settled. One of the current generation wakes nobody: every waiter waits for an
   * ended generation, and was woken when the last of those settled.
   */
  settled(generation: number): void {
    if (generation === this.#generation) {
      this.#current--
      return
    }
    const left = (this.#counts.get(generation) ?? 1) - 1
    if (left > 0) {
      this.#counts.set(generation, left)
      return
    }
    this.#counts.delete(generation)
    const oldest = this.#counts.keys().next().value ?? Number.POSITIVE_INFINITY
    while (this.#waiters.length > 0 && this.#waiters[0].generation < oldest) (this.#waiters.shift() as Waiter).resolve()
  }

  /** Resolves once every message added so far is settled; rejects with `signal.reason` when aborted first. */
  flush(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#counts.size === 0 && this.#current === 0) return Promise.resolve()
    const generation = this.#generation++
    if (this.#current > 0) this.#counts.set(generation, this.#current)
    this.#current = 0
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter)
        if (index >= 0) this.#waiters.splice(index, 1)
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        generation,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      this.#waiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}
