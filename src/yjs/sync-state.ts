/**
 * When a provider counts as synced, and `whenSynced()`.
 *
 * Synced means: the document holds what the other providers of the document had when it asked. It becomes true
 *  - when a sync step 2 (an answer to our step 1) arrives from any peer, or
 *  - when a step 1 of ours was acknowledged by every endpoint interested in it (glue's reliable publish resolved, at
 *    once when none is) and no step 2 arrived within `syncTimeoutMs` after that: no peer holds the document (alone,
 *    or no other endpoint runs a provider of it), so there is nothing to wait for.
 * It never goes back to false: after a partition the provider catches up by itself (resync), without a new
 * 'synced'.
 */

/** The synced flag and its waiters. */
export class SyncState {
  #synced = false
  #ended = false
  #timer: NodeJS.Timeout | undefined
  #waiting: Promise<void> | undefined
  #settle: { resolve: () => void; reject: (err: Error) => void } | undefined
  readonly #onSynced: () => void

  /** `onSynced` is called once, when the flag becomes true. */
  constructor(onSynced: () => void) {
    this.#onSynced = onSynced
  }

  /** True once synced. */
  get synced(): boolean {
    return this.#synced
  }

  /** A step 2 arrived. */
  answered(): void {
    this.#mark()
  }

  /** A step 1 was acknowledged: synced after `timeoutMs` unless an answer comes first. */
  acknowledged(timeoutMs: number): void {
    if (this.#synced || this.#ended || this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#mark()
    }, timeoutMs)
    this.#timer.unref()
  }

  /** Resolves once synced (at once if it is); rejects with `Error` if the provider is destroyed first. */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve()
    if (this.#ended) return Promise.reject(new Error('the Yjs provider was destroyed before it synced'))
    this.#waiting ??= new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }))
    return this.#waiting
  }

  /** The provider is destroyed: no more changes; a pending `whenSynced()` rejects. */
  end(): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#settle?.reject(new Error('the Yjs provider was destroyed before it synced'))
    this.#settle = undefined
  }

  #mark(): void {
    if (this.#synced || this.#ended) return
    this.#synced = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#settle?.resolve()
    this.#settle = undefined
    this.#onSynced()
  }
}
