/**
 * Which endpoint is which member of a group: members are raft IDs (named members by the hash of their name,
 * members given as endpoint IDs by that ID; see ids.ts), endpoints are peers with an ID and a name. Rebuilt from
 * the peer list when peers come and go; both directions are looked up per message.
 */
import { raftIdOf } from './ids'

/** A member as the API shows it. */
export interface GroupMember {
  /** Endpoint ID, 16 hex digits ('' when the member is not a peer now). */
  readonly id: string
  /** Endpoint name (or the ID, for members given by ID that are not peers now). */
  readonly name: string
}

/** See the module doc. */
export class MemberRoutes {
  readonly #toEndpoint = new Map<string, string>()
  readonly #toRaft = new Map<string, string>()
  readonly #names = new Map<string, string>()

  /** Labels (names or IDs) by raft ID, as given in `members` or named by MEMBER commands. */
  label(raftId: string): string {
    return this.#names.get(raftId) ?? raftId
  }

  /** Records a member's name (or ID) by its raft ID. */
  name(raftId: string, label: string): void {
    this.#names.set(raftId, label)
  }

  /** True when the raft ID belongs to a named or listed member. */
  known(raftId: string): boolean {
    return this.#names.has(raftId)
  }

  /**
   * Rebuilds the routes from the current peers. A member restarted under a new endpoint ID is in the peer table
   * twice until its old entry expires (the announce period × the expiry multiplier): the one seen last (`since`) is
   * the member, so it takes part again at once rather than after the old entry expired.
   */
  update(peers: readonly { id: string; name: string; since?: Date }[]): void {
    this.#toEndpoint.clear()
    this.#toRaft.clear()
    const newestFirst = [...peers].sort((a, b) => (b.since?.getTime() ?? 0) - (a.since?.getTime() ?? 0))
    for (const p of newestFirst) {
      for (const raftId of [p.id, raftIdOf(p.name)]) {
        if (!this.#names.has(raftId) || this.#toEndpoint.has(raftId)) continue
        this.#toEndpoint.set(raftId, p.id)
        this.#toRaft.set(p.id, raftId)
      }
    }
  }

  /** The endpoint ID of a member that is a peer now. */
  endpointOf(raftId: string): string | undefined {
    return this.#toEndpoint.get(raftId)
  }

  /** The raft ID of a peer that is a member. */
  raftOf(endpointId: string): string | undefined {
    return this.#toRaft.get(endpointId)
  }

  /** A member as the API shows it. */
  member(raftId: string, nameOf: (id: string) => string): GroupMember {
    const id = this.#toEndpoint.get(raftId) ?? ''
    return { id, name: id === '' ? this.label(raftId) : nameOf(id) || this.label(raftId) }
  }
}
