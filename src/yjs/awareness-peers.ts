/**
 * Awareness bookkeeping beside y-protocols' `Awareness`: checking a received awareness update before it is applied,
 * and remembering which endpoint announced which awareness client, so that the states of an endpoint that goes down
 * (peer-down) are removed at once instead of after y-protocols' 30 s timeout.
 *
 * An awareness update (y-protocols' encoding) is `varUint(count)` then, per client, `varUint(clientID)
 * varUint(clock) varString(JSON of the state, or "null" when the client is gone)`.
 */
import { ByteReader, MalformedError } from './bytes'

/** One entry of an awareness update. */
export interface AwarenessEntry {
  readonly clientID: number
  readonly clock: number
  /** The state; null when the client is gone. */
  readonly state: unknown
}

/** The entries of an awareness update; throws {@link MalformedError} unless it is well formed throughout. */
export function parseAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const r = new ByteReader(update)
  const count = r.varUint()
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientID = r.varUint()
    const clock = r.varUint()
    let state: unknown
    try {
      state = JSON.parse(r.varString())
    } catch (err) {
      if (err instanceof MalformedError) throw err
      throw new MalformedError('awareness state is not JSON')
    }
    if (typeof state !== 'object') throw new MalformedError('awareness state is neither an object nor null')
    entries.push({ clientID, clock, state })
  }
  if (!r.done) throw new MalformedError('trailing bytes after the awareness update')
  return entries
}

/** Which endpoint announced which awareness clients (the latest announcer of a client owns it). */
export class AwarenessPeers {
  readonly #ownerOf = new Map<number, string>()
  readonly #clientsOf = new Map<string, Set<number>>()

  /** Notes that `peerId` announced `clientIDs`. */
  note(peerId: string, clientIDs: Iterable<number>): void {
    for (const clientID of clientIDs) {
      const previous = this.#ownerOf.get(clientID)
      if (previous === peerId) continue
      if (previous !== undefined) this.#clientsOf.get(previous)?.delete(clientID)
      this.#ownerOf.set(clientID, peerId)
      let set = this.#clientsOf.get(peerId)
      if (set === undefined) this.#clientsOf.set(peerId, (set = new Set()))
      set.add(clientID)
    }
  }

  /** Forgets `peerId`; returns the clients it had announced. */
  remove(peerId: string): number[] {
    const clients = [...(this.#clientsOf.get(peerId) ?? [])]
    this.#clientsOf.delete(peerId)
    for (const clientID of clients) this.#ownerOf.delete(clientID)
    return clients
  }
}
