/**
 * The clocks read once per tick of the event loop (a run of sends or publications, or a received batch, is one tick):
 * reading `performance.now()` or `Date.now()` costs 250-350 ns on this kind of VM, more than the rest of a publication's
 * topic work, and their readers are ms-grained (delivery deadlines, lifespans, hold timers, repair throttling, a
 * publication's timestamp). Used by the reliable transport and the topic layer.
 * A value is as old as the synchronous run that reads it, as Node's own timers see the loop's time.
 */

/** See the module doc. */
export class TickClock {
  /** The times of this tick (-1: not read yet in this tick). */
  #now = -1
  #wall = -1
  #queued = false
  readonly #reset = (): void => {
    this.#now = -1
    this.#wall = -1
    this.#queued = false
  }

  /** Now, ms on the `performance.now()` clock, as read first in this tick. */
  now(): number {
    if (this.#now < 0) {
      this.#now = performance.now()
      this.#resetLater()
    }
    return this.#now
  }

  /** Now, ms since the Unix epoch (`Date.now()`), as read first in this tick. */
  wall(): number {
    if (this.#wall < 0) {
      this.#wall = Date.now()
      this.#resetLater()
    }
    return this.#wall
  }

  #resetLater(): void {
    if (this.#queued) return
    this.#queued = true
    queueMicrotask(this.#reset)
  }
}
