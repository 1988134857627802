/**
 * A copy-on-write list of callbacks: adding or removing one during an emit is safe, emitting allocates nothing.
 */

/** Callbacks of one kind; exceptions they throw go to `onError`, and the remaining callbacks still run. */
export class Listeners<T> {
  #fns: readonly ((value: T) => void)[] = []
  readonly #onError: (err: unknown) => void

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError
  }

  /** Number of callbacks. */
  get size(): number {
    return this.#fns.length
  }

  /** Adds a callback; returns a function that removes it (idempotent). */
  add(fn: (value: T) => void): () => void {
    this.#fns = [...this.#fns, fn]
    let removed = false
    return () => {
      if (removed) return
      removed = true
      const index = this.#fns.indexOf(fn)
      if (index >= 0) this.#fns = this.#fns.filter((_, i) => i !== index)
    }
  }

  /** Calls every callback with `value`, in the order they were added. */
  emit(value: T): void {
    const fns = this.#fns
    for (let i = 0; i < fns.length; i++) {
      try {
        fns[i](value)
      } catch (err) {
        this.#onError(err)
      }
    }
  }

  /** Removes every callback. */
  clear(): void {
    this.#fns = []
  }
}
