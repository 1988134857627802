/**
 * The subscriptions of a topic layer, in the order they were made, with a version number that changes whenever one
 * is added or removed: what is derived from the set per topic (`known-topics.ts`) is valid while it stays the same.
 */
import type { Subscription } from './subscription'

/** See the module doc. */
export class SubscriptionSet {
  /** The subscriptions, oldest first (do not modify: use `add` and `delete`). */
  readonly all = new Set<Subscription<unknown>>()
  /** Changes with every `add` and every `delete` that removed one. */
  version = 0

  /** How many there are. */
  get size(): number {
    return this.all.size
  }

  /** Adds a subscription. */
  add(sub: Subscription<unknown>): void {
    this.all.add(sub)
    this.version++
  }

  /** Removes a subscription; true when it was there. */
  delete(sub: Subscription<unknown>): boolean {
    if (!this.all.delete(sub)) return false
    this.version++
    return true
  }
}
