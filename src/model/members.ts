/**
 * The members of one replicated object as one replica knows them: the endpoints that sent a digest or delta for it,
 * with what they last reported (context, store summary) and how far they hold this replica's writes (for quorum
 * writes). A member is up while its endpoint is a peer; it is forgotten when it leaves (closes the object or its
 * endpoint), or when nothing was heard from it for the tombstone horizon.
 */
import type { MissingReceiver } from '../errors'
import type { CausalContext } from './causal-context'
import type { Origin } from './origins'

/** One member. */
export interface Member {
  readonly id: string
  name: string
  /** Its endpoint is a peer now. */
  up: boolean
  /** Its current origin (from its last digest or delta). */
  origin: Origin | undefined
  /** Its write counter at its last digest. */
  counter: number
  /** Its context at its last digest (undefined before the first). */
  context: CausalContext | undefined
  /** Its store summary at its last digest. */
  root: readonly [number, number] | undefined
  /** Monotonic ms of the last message from it. */
  heard: number
  /** Contiguous counter of this replica's origin it holds (from ACK or digest). */
  acked: number
  /** Monotonic ms of the last bucket exchange started with it. */
  bucketsAt: number
  /** The origin of its last delta, the highest counter that delta covered, and when it arrived (monotonic ms). */
  streamOrigin: Origin | undefined
  streamedTo: number
  streamedAt: number
}

/** See the module doc. */
export class Members {
  readonly #byId = new Map<string, Member>()

  /** The member with this ID, if known. */
  get(id: string): Member | undefined {
    return this.#byId.get(id)
  }

  /** The member with this ID, added (up) if new. */
  touch(id: string, name: string, now: number): Member {
    let m = this.#byId.get(id)
    if (m === undefined) {
      m = { id, name, up: true, origin: undefined, counter: 0, context: undefined, root: undefined, heard: now, acked: 0, bucketsAt: -Infinity,
        streamOrigin: undefined, streamedTo: 0, streamedAt: -Infinity }
      this.#byId.set(id, m)
    }
    m.heard = now
    if (name !== '') m.name = name
    return m
  }

  /** Forgets a member (it left). */
  forget(id: string): void {
    this.#byId.delete(id)
  }

  /** Forgets members not heard from since `before` (monotonic ms); returns how many. */
  expire(before: number): number {
    let gone = 0
    for (const [id, m] of this.#byId) {
      if (m.heard < before) {
        this.#byId.delete(id)
        gone++
      }
    }
    return gone
  }

  /** Every member known. */
  all(): IterableIterator<Member> {
    return this.#byId.values()
  }

  /** The members up. */
  up(): Member[] {
    return [...this.#byId.values()].filter((m) => m.up)
  }

  /** Number of members known. */
  get size(): number {
    return this.#byId.size
  }
}

/** A member as errors list it. */
export const receiver = (m: { id: string; name: string }): MissingReceiver => ({ id: m.id, name: m.name })
