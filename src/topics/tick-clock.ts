/**
 * `performance.now()` read once per tick of the event loop (a publication or a received batch is one tick): its
 * readers (lifespans, hold timers, repair throttling) are ms-grained, and reading the clock per publication and per
 * received message costs more than the rest of some of those paths.
 */

/** See the module doc. */
export class TickClock {
  /** The time of this tick (-1: not read yet in this tick). */
  #now = -1
  readonly #reset = (): void => {
    this.#now = -1
  }

  /** Now, ms on the `performance.now()` clock, as read first in this tick. */
  now(): number {
    if (this.#now < 0) {
      this.#now = performance.now()
      queueMicrotask(this.#reset)
    }
    return this.#now
  }
}
