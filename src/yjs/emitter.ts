/**
 * A tiny typed event emitter for the provider's events (`synced`, `status`): `on`, `off`, `emit`. A listener that
 * throws does not stop the others nor the provider: the exception is rethrown on a later tick (an uncaught
 * exception, as with an EventEmitter listener or a glue callback).
 */

/** The emitter; `Events` maps each event name to its listener's signature. */
export class Emitter<Events extends { [E in keyof Events]: (...args: never[]) => void }> {
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>()

  /** Adds a listener (once per function). */
  on<E extends keyof Events>(event: E, listener: Events[E]): void {
    let set = this.#listeners.get(event)
    if (set === undefined) this.#listeners.set(event, (set = new Set()))
    set.add(listener)
  }

  /** Removes a listener; nothing happens if it was not added. */
  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    this.#listeners.get(event)?.delete(listener)
  }

  /** Calls the listeners of `event`, in the order they were added. */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        ;(listener as (...a: Parameters<Events[E]>) => void)(...args)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear()
  }
}
