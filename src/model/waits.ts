/**
 * What callers of a replicated object wait for: quorum writes (enough members hold a write) and `synced()` (this
 * replica holds everything every reachable member reported). Both are checked whenever something arrived.
 */
import { ClosedError, type MissingReceiver } from '../errors'
import { QuorumError, TimeoutError } from './errors'
import { type Members, receiver } from './members'
import type { ModelClock, ModelTopics } from './model-topics'
import type { Replica } from './replica'
import type { ObjectTopics } from './topics'

interface QuorumWait {
  readonly counter: number
  readonly required: number
  /** The members seen holding the write while it waited: one that leaves or goes down afterwards still counts. */
  readonly holders: Set<string>
  readonly resolve: () => void
  readonly reject: (err: Error) => void
  readonly timer: unknown
}

interface SyncedWait {
  readonly resolve: () => void
  readonly reject: (err: Error) => void
  readonly timer: unknown
}

/** See the module doc. */
export class SyncWaits {
  #quorum: QuorumWait[] = []
  #synced: SyncedWait[] = []
  readonly #t: ModelTopics
  readonly #clock: ModelClock
  readonly #replica: Replica
  readonly #members: Members
  readonly #topics: ObjectTopics
  #closed = false

  constructor(t: ModelTopics, clock: ModelClock, replica: Replica, members: Members, topics: ObjectTopics) {
    this.#t = t
    this.#clock = clock
    this.#replica = replica
    this.#members = members
    this.#topics = topics
  }

  /** True while a quorum write waits (deltas then ask for acknowledgements). */
  get quorumPending(): boolean {
    return this.#quorum.length > 0
  }

  /** The other members up: those heard from, and peers whose interest says they may be members. */
  othersUp(): MissingReceiver[] {
    const out = new Map<string, MissingReceiver>()
    for (const m of this.#members.up()) out.set(m.id, receiver(m))
    for (const id of this.#t.interested(this.#topics.all)) {
      if (!out.has(id) && id !== this.#t.id) out.set(id, { id, name: this.#t.nameOf(id) })
    }
    return [...out.values()]
  }

  /** The endpoints a quorum needs; throws QuorumError when it is larger than this endpoint and the members up. */
  required(quorum: 'majority' | number): number {
    const members = this.othersUp().length + 1
    if (quorum === 'majority') return Math.floor(members / 2) + 1
    if (quorum > members) {
      const message = `quorum ${quorum} is larger than the membership: ${members} (this endpoint and ${members - 1} members up)`
      throw new QuorumError(message, quorum, 0, [])
    }
    return quorum
  }

  /** Resolves once `required` endpoints (this one included) hold this replica's write `counter`. */
  quorum(counter: number, required: number, deadlineMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError())
    const holders = new Set(this.#held(counter))
    if (holders.size + 1 >= required) return Promise.resolve()
    // The members counted for the quorum now: one that leaves or goes down meanwhile without having held the write
    // is still missing at the deadline.
    const counted = this.othersUp()
    return new Promise((resolve, reject) => {
      const timer = this.#clock.after(deadlineMs, () => {
        this.#quorum = this.#quorum.filter((w) => w !== wait)
        this.#record(wait)
        const candidates = new Map(counted.map((m) => [m.id, m]))
        for (const m of this.othersUp()) candidates.set(m.id, m)
        const missing = [...candidates.values()].filter((m) => !holders.has(m.id))
        reject(QuorumError.missed(required, holders.size + 1, missing, deadlineMs))
      })
      const wait: QuorumWait = { counter, required, holders, resolve, reject, timer }
      this.#quorum.push(wait)
    })
  }

  /** Resolves once this replica holds what every reachable member reported; rejects with TimeoutError. */
  synced(timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError())
    if (this.#behind().length === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = this.#clock.after(timeoutMs, () => {
        this.#synced = this.#synced.filter((w) => w !== wait)
        reject(new TimeoutError(`not caught up within ${timeoutMs} ms with`, this.#behind()))
      })
      const wait: SyncedWait = { resolve, reject, timer }
      this.#synced.push(wait)
    })
  }

  /** Settles what can be settled. */
  check(): void {
    if (this.#quorum.length > 0) {
      this.#quorum = this.#quorum.filter((w) => {
        if (this.#record(w) + 1 < w.required) return true
        this.#clock.cancel(w.timer)
        w.resolve()
        return false
      })
    }
    if (this.#synced.length > 0 && this.#behind().length === 0) {
      for (const w of this.#synced) {
        this.#clock.cancel(w.timer)
        w.resolve()
      }
      this.#synced = []
    }
  }

  /** Rejects every wait with ClosedError. */
  close(): void {
    this.#closed = true
    for (const w of [...this.#quorum, ...this.#synced]) {
      this.#clock.cancel(w.timer)
      w.reject(new ClosedError('the replicated object was closed'))
    }
    this.#quorum = []
    this.#synced = []
  }

  /**
   * Adds the members up that hold the write of `w` to its holders and returns how many it has. Called whenever
   * something arrived, so a member is recorded before it is forgotten (a leaving member's last digest is checked
   * first): a member that left after its ACK came still counts when the last ACK the quorum needs comes later.
   */
  #record(w: QuorumWait): number {
    for (const id of this.#held(w.counter)) w.holders.add(id)
    return w.holders.size
  }

  /** IDs of the members up that hold this replica's write `counter`. */
  #held(counter: number): string[] {
    const out: string[] = []
    for (const m of this.#members.up()) if (m.acked >= counter) out.push(m.id)
    return out
  }

  /** The reachable members whose last report holds something this replica lacks (or that did not report yet). */
  #behind(): MissingReceiver[] {
    return this.othersUp().filter((m) => {
      const context = this.#members.get(m.id)?.context
      return context === undefined || !this.#replica.context.covers(context)
    })
  }
}
