/**
 * The public face of a consensus group (`await ep.consensus(name, { members })`): its leader, term and role,
 * events, the linearizable key-value store (`g.kv`), locks with fencing tokens, a replicated log for the
 * application's own state machine (`propose` / `onApply`), and membership changes.
 */
import { Op } from './commands'
import type { AppliedEntry, ConsensusEvent, GroupCore, UserStateMachine } from './group'
import { raftIdOf } from './ids'
import type { ConsensusKv } from './kv'
import type { GroupLocks, Lock } from './locks'
import { type LockOptions, type OperationOptions, resolveDeadline } from './options'
import type { GroupMember } from './routes'

/** Options of `g.events()`. */
export interface EventsOptions {
  /** Aborting ends the iteration. */
  signal?: AbortSignal
}

/** See the module doc. */
export class ConsensusGroup<V = unknown> implements AsyncDisposable {
  /** The group's name. */
  readonly name: string
  /** The linearizable key-value store. */
  readonly kv: ConsensusKv<V>
  readonly #core: GroupCore
  readonly #locks: GroupLocks
  readonly #deadlineMs: number
  readonly #selfName: string
  readonly #close: () => void

  constructor(core: GroupCore, kv: ConsensusKv<V>, locks: GroupLocks, deadlineMs: number, selfName: string, close: () => void) {
    this.name = core.name
    this.#core = core
    this.kv = kv
    this.#locks = locks
    this.#deadlineMs = deadlineMs
    this.#selfName = selfName
    this.#close = close
  }

  /** The leader, when one is known (`{ id, name }`). */
  get leader(): GroupMember | undefined {
    return this.#core.leader
  }

  /** The current term (grows with every election). */
  get term(): number {
    return this.#core.status.term
  }

  /** This member's role: 'leader', 'follower', 'candidate' or 'pre-candidate'. */
  get role(): 'leader' | 'follower' | 'candidate' | 'pre-candidate' {
    return this.#core.status.role
  }

  /** Index of the last entry committed (as this member knows it) and applied here. */
  get commitIndex(): number {
    return this.#core.status.commit
  }

  get appliedIndex(): number {
    return this.#core.applied
  }

  /** The voting members now. */
  members(): GroupMember[] {
    return this.#core.voters()
  }

  /**
   * Group events as callbacks: `leader-changed`, `member-up`, `member-down`, `quorum`, `lost-quorum`,
   * `members-changed`, `error` (a peer opened the group with another member list). Returns the unsubscribe.
   */
  onEvent(callback: (event: ConsensusEvent) => void): () => void {
    return this.#core.onEvent(callback)
  }

  /** The same events as a bounded async iterator (ends when the group closes). */
  events(options: EventsOptions = {}): AsyncIterableIterator<ConsensusEvent, undefined> {
    return this.#core.events(options.signal)
  }

  /**
   * Takes the lock `name` (waiting up to `waitMs` while another holder has it); resolves with the held lock and
   * its fencing token. Rejects with TimeoutError when it stayed held, QuorumLostError without a majority.
   */
  lock(name: string, options?: LockOptions): Promise<Lock> {
    this.#core.checkUsable()
    return this.#locks.lock(name, this.#selfName, options)
  }

  /**
   * Appends `data` to the replicated log for the application's own state machine; resolves with its `{ index,
   * term }` once committed and applied here. `onApply` callbacks see it on every member, in log order.
   */
  async propose(data: Uint8Array, options?: OperationOptions): Promise<{ index: number; term: number }> {
    if (!(data instanceof Uint8Array)) throw new TypeError('propose(data): data must be a Uint8Array')
    const deadline = resolveDeadline(options, this.#deadlineMs)
    const { index, term } = await this.#core.submit({ op: Op.USER, data: Buffer.from(data) }, deadline)
    return { index, term }
  }

  /**
   * Calls `callback` for every entry of `propose()` (from any member) as it is applied here: in log order, once per
   * entry. After a restart from `dataDir`, entries after the last snapshot are applied again (with
   * `setStateMachine`, the snapshot restores the application's state first). Returns the unsubscribe.
   */
  onApply(callback: (entry: AppliedEntry) => void): () => void {
    return this.#core.onApply(callback)
  }

  /** Lets the application's state go into Raft snapshots (log compaction, a lagging member, a restart). */
  setStateMachine(machine: UserStateMachine): void {
    this.#core.stateMachine = machine
  }

  /**
   * Adds a voting member (an endpoint name or ID; it opens the group with `{ join: true }`); resolves once the
   * configuration change is applied here.
   */
  addMember(member: string, options?: OperationOptions): Promise<void> {
    return this.#change(member, true, options)
  }

  /** Removes a voting member; resolves once the configuration change is applied here. */
  removeMember(member: string, options?: OperationOptions): Promise<void> {
    return this.#change(member, false, options)
  }

  async #change(member: string, add: boolean, options?: OperationOptions): Promise<void> {
    if (typeof member !== 'string' || member.length === 0) throw new TypeError('a member is an endpoint name or ID')
    const deadline = resolveDeadline(options, this.#deadlineMs)
    const raftId = raftIdOf(member)
    const done = (): boolean => this.#core.status.voters.includes(raftId) === add
    const end = this.#core.now() + deadline
    // MEMBER names the member everywhere; the leader then proposes the Raft change (one at a time: if another one is
    // in flight, the next MEMBER, a new command, tries again).
    while (!done()) {
      const left = end - this.#core.now()
      if (left <= 0) throw this.#core.deadlineError(`membership change not applied within ${deadline} ms`)
      await this.#core.submit({ op: Op.MEMBER, raftId, name: member, add }, left)
      if (done()) return
      await this.#core.whenMembersChange(Math.min(Math.max(1, end - this.#core.now()), 1000))
    }
  }

  /** Hands leadership to `member` (on the leader; NotLeaderError elsewhere). */
  transferLeadership(member: string): void {
    this.#core.transferLeader(raftIdOf(member))
  }

  /** Leaves: stops taking part (the others go on without it while they have a majority). */
  async close(): Promise<void> {
    this.#close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
