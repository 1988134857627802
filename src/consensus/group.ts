/**
 * A consensus group on one endpoint: drives its Raft core (tikv's `raft` crate, native, sans-IO) with ticks and the
 * members' messages, sends what the core hands out to one member as reliable DIRECT messages of the topic layer
 * (HELLO to all as a publication), applies committed entries to the {@link ConsensusState} in log order, and settles
 * the operations waiting for them. The core runs in a microtask after whatever fed it (a call, a message), so a
 * message is answered before the event loop moves on; commit notices are a turn later (see `#oweCommitNotice`).
 *
 * - **Proposals** of one run of application code (its synchronous work and the microtasks it queued) go into one
 *   log entry (a batch). A member that is not the leader forwards
 *   its batch to the leader (FORWARD); whoever proposed resolves its operation when it applies the entry itself, so a
 *   write is visible to the writer's own reads at once. Operations not applied within an election timeout are sent
 *   again (to the new leader, at once when the leader changes); sessions make a command take effect once, and keep
 *   its reply: an operation whose entry this member never applies (it was caught up by a snapshot that holds it) is
 *   resolved from the snapshot's sessions.
 * - **Linearizable reads** use Raft's ReadIndex (the leader confirms with a majority that it still leads, then the
 *   reader waits until it applied that index): no clocks involved. All reads of one turn share one ReadIndex.
 * - **Locks** are leases: the leader expires a lock whose holder did not renew it for its `ttlMs` (an EXPIRE entry);
 *   the holder stops trusting it `ttlMs` after it asked, which is earlier.
 * - **Events**: leader changes, members up and down (as peers), quorum reachable or lost, membership changes.
 */
import { randomBytes } from 'node:crypto'

import { ClosedError } from '../errors'
import type { MissingReceiver } from '../errors'
import { AsyncQueue } from '../util/async-queue'
import { Listeners } from '../util/listeners'
import type { ModelClock, ModelTopics } from '../model/model-topics'
import { type Command, commandArray, decodeBatch, encodeBatch, isBatch, Op } from './commands'
import { MembershipMismatchError, NotLeaderError, NotMemberError, QuorumLostError } from './errors'
import { groupIdOf, raftIdOf } from './ids'
import type { NativeCommitted, NativeRaft, NativeRaftReady, NativeRaftStatus, OpenRaft } from './native'
import type { ResolvedConsensusOptions } from './options'
import { type GroupMember, MemberRoutes } from './routes'
import { ConsensusState, type Outcome, type Reply } from './state-machine'
import type { ConsensusCounts } from './stats'
import { readGroupId, writeGroupId } from './group-id-file'
import { decodeEnvelope, encodeEnvelope, groupTopics, Kind } from './wire'

/** What the consensus layer needs from below: the model's topic interface, the current peers, DIRECT messages. */
export interface ConsensusNet extends ModelTopics {
  /** The peers now (ID, name, and when each was first seen). */
  peers(): readonly { id: string; name: string; since?: Date }[]
  /** Sends `payload` reliably to peer `id` on DIRECT channel `channel` (the topic layer's `sendDirect`). */
  sendDirect(id: string, channel: string, payload: Uint8Array): Promise<void>
  /** Receives DIRECT messages on `channel`; returns the function that stops it. */
  onDirect(channel: string, handler: (from: string, payload: Buffer) => void): () => void
}

/** An event of a group. */
export type ConsensusEvent =
  | { type: 'leader-changed'; leader: GroupMember | undefined; term: number }
  | { type: 'member-up' | 'member-down'; member: GroupMember }
  | { type: 'quorum' | 'lost-quorum'; reachable: number; needed: number }
  | { type: 'members-changed'; voters: GroupMember[] }
  | { type: 'error'; error: MembershipMismatchError }
  | { type: 'failed'; error: Error }

/** A committed entry of `g.propose()`, as `onApply` sees it. */
export interface AppliedEntry {
  readonly index: number
  readonly term: number
  readonly data: Buffer
}

/** A command without its session (the group adds it). */
export type CommandBody = Command extends infer C ? (C extends { session: unknown } ? Omit<C, 'session'> : never) : never

interface Pending {
  /** Monotonic ms after which it rejects (checked every tick). */
  readonly deadline: number
  readonly deadlineMs: number
  readonly seq: number
  readonly cmd: Command
  readonly resolve: (reply: Reply) => void
  readonly reject: (err: Error) => void
  sentAt: number
  /** Times sent (retries back off: an election timeout × 2^(attempts − 1), at most × 16). */
  attempts: number
  /** In the queue of the current turn. */
  queued: boolean
}

interface ReadBatch {
  readonly ctx: Buffer
  readonly waiters: { resolve: () => void; reject: (err: Error) => void; timer: unknown }[]
  index: number | undefined
  askedAt: number
}

/** HELLO flags: the sender does not know the group ID yet (it joins); the HELLO answers one (sent to one member). */
const HELLO_JOINING = 1
const HELLO_ANSWER = 2

/** Largest batch of commands in one entry, bytes (about). */
const MAX_BATCH_BYTES = 256 * 1024

/** Called around a snapshot that replaces a group's state (see `GroupCore.onRestore`). */
export interface RestoreListener {
  before(): void
  after(index: number): void
}

/** The application's own state machine, for snapshots (see `ConsensusGroup.stateMachine`). */
export interface UserStateMachine {
  /** The state after the entries applied so far (it goes into a Raft snapshot). */
  snapshot(): Uint8Array
  /** Replaces the state with a snapshot's (a lagging member, or a restart from `dataDir`). */
  restore(state: Uint8Array): void
}

/** See the module doc. */
export class GroupCore {
  readonly name: string
  readonly state = new ConsensusState()
  readonly routes = new MemberRoutes()
  readonly selfRaftId: string
  readonly #net: ConsensusNet
  readonly #clock: ModelClock
  readonly #o: ResolvedConsensusOptions
  readonly #counts: ConsensusCounts
  readonly #native: NativeRaft
  readonly #topics: ReturnType<typeof groupTopics>
  readonly #client: string
  readonly #events: Listeners<ConsensusEvent>
  readonly #applyListeners: Listeners<AppliedEntry>
  readonly #outcomeListeners = new Set<(o: Outcome, index: number) => void>()
  readonly #unsubscribe: (() => void)[] = []
  readonly #pending = new Map<number, Pending>()
  #queue: Pending[] = []
  #seq = 0
  #reads: ReadBatch[] = []
  #turnRead: ReadBatch | undefined
  #readCounter = 0
  #groupId: string | undefined
  #status: NativeRaftStatus
  #applied = 0
  #sinceSnapshot = 0
  #kicked = false
  /** A commit notice is queued (see `#oweCommitNotice`). */
  #commitOwed = false
  #timer: unknown
  #closed = false
  #removed = false
  #mismatch: MembershipMismatchError | undefined
  readonly #mismatchReported = new Set<string>()
  #quorum: boolean | undefined
  #up = new Set<string>()
  /** The endpoint each voter was last routed to. */
  readonly #routed = new Map<string, string>()
  readonly #retryMs: number
  /** The application's own state machine, for snapshots (set with `ConsensusGroup.setStateMachine`). */
  stateMachine: UserStateMachine | undefined

  constructor(net: ConsensusNet, clock: ModelClock, openRaft: OpenRaft, name: string, o: ResolvedConsensusOptions, counts: ConsensusCounts, onError: (err: unknown) => void) {
    this.#net = net
    this.#clock = clock
    this.#o = o
    this.#counts = counts
    this.name = name
    this.#events = new Listeners(onError)
    this.#applyListeners = new Listeners(onError)
    this.#topics = groupTopics(name)
    this.#client = `${net.id}.${randomBytes(4).toString('hex')}`
    this.#retryMs = o.electionTicks * o.tickMs
    const founders = o.members.map(raftIdOf)
    for (const [i, id] of founders.entries()) this.routes.name(id, o.members[i])
    const self = founders.includes(net.id) ? net.id : raftIdOf(net.name)
    this.selfRaftId = self
    if (!o.join && !founders.includes(self)) {
      throw new NotMemberError(
        `this endpoint (${net.name}, ${net.id}) is not a member of consensus group ${JSON.stringify(name)}: members are ${o.members.join(', ')} (open with { join: true } to join a running group)`,
        name,
      )
    }
    this.routes.name(self, founders.includes(net.id) ? net.id : net.name)
    this.#groupId = o.join ? (o.dataDir === undefined ? undefined : readGroupId(o.dataDir)) : groupIdOf(name, o.members)
    this.#native = openRaft({
      id: self,
      voters: o.join ? [] : founders,
      electionTick: o.electionTicks,
      heartbeatTick: o.heartbeatTicks,
      dataDir: o.dataDir,
    })
    this.#status = this.#native.status()
  }

  /** Subscribes, says hello, starts ticking. */
  start(): void {
    this.#unsubscribe.push(this.#net.onDirect(this.#topics.direct, (from, data) => this.#receive(from, data)))
    this.#unsubscribe.push(this.#net.subscribe(this.#topics.all, (from, data) => this.#receive(from, data)))
    this.#peersChanged()
    this.#hello()
    this.#schedule()
    this.#turn() // a restarted member applies what its data directory holds before open() returns
  }

  /** The core's view: role, term, leader, indexes, voters. */
  get status(): NativeRaftStatus {
    return this.#status
  }

  /** The leader, when one is known. */
  get leader(): GroupMember | undefined {
    const leader = this.#status.leader
    if (leader === '' || leader === '0000000000000000') return undefined
    if (leader === this.selfRaftId) return { id: this.#net.id, name: this.#net.name }
    return this.routes.member(leader, (id) => this.#net.nameOf(id))
  }

  /** Voters as the API shows them. */
  voters(): GroupMember[] {
    return this.#status.voters.map((v) => (v === this.selfRaftId ? { id: this.#net.id, name: this.#net.name } : this.routes.member(v, (id) => this.#net.nameOf(id))))
  }

  /** Index of the last entry applied here. */
  get applied(): number {
    return this.#applied
  }

  onEvent(cb: (ev: ConsensusEvent) => void): () => void {
    return this.#events.add(cb)
  }

  events(signal?: AbortSignal): AsyncIterableIterator<ConsensusEvent, undefined> {
    let remove = (): void => {}
    const queue = new AsyncQueue<ConsensusEvent>({ limit: this.#o.queueLimit, signal, onDrop: () => this.#counts.consensusEventDrops++, onFinish: () => remove() })
    if (this.#closed) queue.end()
    else remove = this.#events.add((ev) => queue.push(ev))
    this.#queues.add(queue)
    return queue
  }

  readonly #queues = new Set<{ end(): void }>()

  onApply(cb: (entry: AppliedEntry) => void): () => void {
    return this.#applyListeners.add(cb)
  }

  /** Sees every applied command's outcome (kv watchers, locks). */
  onOutcome(cb: (o: Outcome, index: number) => void): () => void {
    this.#outcomeListeners.add(cb)
    return () => this.#outcomeListeners.delete(cb)
  }

  /** Throws when this endpoint cannot take part (closed, removed). */
  checkUsable(): void {
    if (this.#closed) throw new ClosedError(`consensus group ${JSON.stringify(this.name)} is closed`)
    if (this.#failed !== undefined) throw this.#failed
    if (this.#removed) throw new NotMemberError(`this endpoint was removed from consensus group ${JSON.stringify(this.name)}`, this.name)
  }

  /** Proposes a command; resolves once this member applied it (its reply), rejects with QuorumLostError. */
  submit(body: CommandBody, deadlineMs: number): Promise<Reply> {
    this.checkUsable()
    const seq = ++this.#seq
    const cmd = { ...body, session: { client: this.#client, seq, low: 0 } } as Command
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = {
        deadline: this.#clock.monotonic() + deadlineMs,
        deadlineMs,
        seq,
        cmd,
        resolve: (a) => {
          this.#settle(p)
          resolve(a)
        },
        reject: (err) => {
          this.#settle(p)
          reject(err)
        },
        sentAt: -Infinity,
        attempts: 0,
        queued: false,
      }
      this.#pending.set(seq, p)
      this.#enqueue(p)
      this.#kick()
    })
  }

  #enqueue(p: Pending): void {
    if (p.queued) return
    p.queued = true
    this.#queue.push(p)
  }

  #settle(p: Pending): void {
    this.#pending.delete(p.seq)
  }

  /** Resolves once this member applied everything committed when it was called (ReadIndex), for a linearizable read. */
  readBarrier(deadlineMs: number): Promise<void> {
    this.checkUsable()
    return new Promise<void>((resolve, reject) => {
      let batch = this.#turnRead
      if (batch === undefined) {
        const ctx = Buffer.alloc(12)
        ctx.writeUInt32LE(++this.#readCounter >>> 0, 0)
        randomBytes(8).copy(ctx, 4)
        batch = { ctx, waiters: [], index: undefined, askedAt: -Infinity }
        this.#turnRead = batch
        this.#reads.push(batch)
      }
      const b = batch
      const waiter = {
        resolve,
        reject,
        timer: this.#clock.after(deadlineMs, () => {
          const i = b.waiters.indexOf(waiter)
          if (i >= 0) b.waiters.splice(i, 1)
          if (b.waiters.length === 0) this.#reads = this.#reads.filter((r) => r !== b)
          reject(this.deadlineError(`no linearizable read within ${deadlineMs} ms`))
        }),
      }
      b.waiters.push(waiter)
      this.#kick()
    })
  }

  /** Asks the core to change the membership (leader only; callers go through MEMBER commands). */
  proposeConfChange(add: boolean, raftId: string): void {
    if (this.#status.role !== 'leader') throw new NotLeaderError('only the leader changes the membership', this.leader)
    this.#native.proposeConfChange(add ? 'add-voter' : 'remove-voter', raftId)
    this.#kick()
  }

  /** Hands leadership to `raftId` (leader only). */
  transferLeader(raftId: string): void {
    if (this.#status.role !== 'leader') throw new NotLeaderError('only the leader can hand over leadership', this.leader)
    this.#native.transferLeader(raftId)
    this.#kick()
  }

  /** Starts an election now. */
  campaign(): void {
    this.#native.campaign()
    this.#kick()
  }

  /** Monotonic time, ms. */
  now(): number {
    return this.#clock.monotonic()
  }

  /** Resolves at the next membership change, or after `ms`. */
  whenMembersChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.after(ms, () => {
        off()
        resolve()
      })
      const off = this.#events.add((ev) => {
        if (ev.type !== 'members-changed') return
        this.#clock.cancel(timer)
        off()
        resolve()
      })
    })
  }

  /** The error of a deadline that passed: the mismatch if one was seen, else who was unreachable. */
  deadlineError(what: string): Error {
    if (this.#mismatch !== undefined) return this.#mismatch
    const unreachable: MissingReceiver[] = []
    for (const v of this.#status.voters) {
      if (v === this.selfRaftId) continue
      const member = this.routes.member(v, (id) => this.#net.nameOf(id))
      if (member.id === '') unreachable.push({ id: v, name: member.name })
    }
    const needed = Math.floor(this.#status.voters.length / 2) + 1
    return new QuorumLostError(`consensus group ${JSON.stringify(this.name)}: ${what} (a majority is ${needed} of ${this.#status.voters.length})`, unreachable)
  }

  /** Follows the peer table. */
  peerEvent(): void {
    if (this.#closed) return
    this.#peersChanged()
  }

  #peersChanged(): void {
    const before = this.#up
    this.routes.update(this.#net.peers())
    // A member that now routes to another endpoint than before (restarted, in memory perhaps): as the leader, append
    // an empty entry, so that the append shows whether its log is what its progress says (else a restarted member
    // is not caught up, and its reads wait, until the next write).
    let moved = false
    for (const v of this.#status.voters) {
      const endpoint = this.routes.endpointOf(v)
      if (v !== this.selfRaftId && endpoint !== undefined && this.#routed.get(v) !== endpoint) moved = true
      if (endpoint !== undefined) this.#routed.set(v, endpoint)
      else this.#routed.delete(v) // back under the same endpoint ID after a restart: still a new log
    }
    if (moved && this.#status.role === 'leader') {
      try {
        this.#native.propose(Buffer.alloc(0))
      } catch {
        // dropped (a leadership transfer): the next leader appends its own empty entry
      }
      this.#kick()
    }
    const now = new Set<string>()
    for (const v of [...this.#status.voters, ...this.#status.learners]) if (v !== this.selfRaftId && this.routes.endpointOf(v) !== undefined) now.add(v)
    this.#up = now
    for (const v of now) if (!before.has(v)) this.#emit({ type: 'member-up', member: this.routes.member(v, (id) => this.#net.nameOf(id)) })
    for (const v of before) if (!now.has(v)) this.#emit({ type: 'member-down', member: this.routes.member(v, (id) => this.#net.nameOf(id)) })
    if ([...now].some((v) => !before.has(v))) this.#hello()
    this.#checkQuorum()
  }

  #checkQuorum(): void {
    const voters = this.#status.voters
    if (voters.length === 0) return
    const reachable = voters.filter((v) => v === this.selfRaftId || this.#up.has(v)).length
    const needed = Math.floor(voters.length / 2) + 1
    const quorum = reachable >= needed
    if (quorum === this.#quorum) return
    this.#quorum = quorum
    this.#emit({ type: quorum ? 'quorum' : 'lost-quorum', reachable, needed })
  }

  #emit(ev: ConsensusEvent): void {
    this.#events.emit(ev)
  }

  #hello(): void {
    if (this.#closed) return
    const id = this.#groupId ?? '0000000000000000'
    this.#publish(this.#topics.all, encodeEnvelope(Kind.HELLO, id, Buffer.from([this.#groupId === undefined ? HELLO_JOINING : 0])))
  }

  /** Publishes on one of the group's topics (HELLO); a failure is counted. */
  #publish(topic: string, data: Uint8Array): void {
    try {
      this.#net.publish(topic, data).catch(this.#countSendFailure)
    } catch {
      this.#countSendFailure()
    }
  }

  /** Sends to one member's endpoint (RAFT, FORWARD, HELLO answers); a failure is counted (Raft sends again). */
  #sendTo(endpoint: string, data: Uint8Array): void {
    try {
      this.#net.sendDirect(endpoint, this.#topics.direct, data).catch(this.#countSendFailure)
    } catch {
      this.#countSendFailure()
    }
  }

  readonly #countSendFailure = (): void => {
    this.#counts.consensusSendFailures++
  }

  #receive(from: string, data: Buffer): void {
    if (this.#closed || from === this.#net.id) return
    const env = decodeEnvelope(data)
    if (env === undefined) {
      this.#counts.consensusMalformed++
      return
    }
    let raftId = this.routes.raftOf(from)
    if (raftId === undefined) {
      this.#peersChanged() // a peer we have not routed yet (its name arrived with this message)
      raftId = this.routes.raftOf(from)
    }
    if (raftId === undefined) {
      this.#counts.consensusForeign++
      return
    }
    if (env.kind === Kind.HELLO) {
      const joining = (env.body[0] & HELLO_JOINING) !== 0
      if (joining) return this.#hello() // it adopts our group ID from our answer
      // Answer a member's HELLO with ours, to it alone: it then knows at once whether we agree on the group (a
      // HELLO published before it subscribed did not reach it). Answers are not answered.
      if ((env.body[0] & HELLO_ANSWER) === 0 && this.#groupId !== undefined) {
        this.#sendTo(from, encodeEnvelope(Kind.HELLO, this.#groupId, Buffer.from([HELLO_ANSWER])))
      }
      this.#checkGroup(from, env.groupId)
      return
    }
    if (!this.#checkGroup(from, env.groupId)) return
    if (env.kind === Kind.RAFT) {
      try {
        this.#native.step(raftId, env.body)
        this.#counts.consensusMessagesReceived++
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'ERR_GLUE_RAFT_MALFORMED') this.#counts.consensusMalformed++
        else return this.#fail(err)
      }
    } else if (env.kind === Kind.FORWARD) {
      if (!isBatch(env.body)) {
        this.#counts.consensusMalformed++
        return
      }
      if (this.#status.role !== 'leader') return // the sender retries with the leader it learns of
      try {
        this.#native.propose(env.body)
        this.#counts.consensusForwardedIn++
      } catch {
        return // dropped (e.g. a leadership transfer): the sender retries
      }
    }
    this.#kick()
  }

  /** True when `groupId` is this group's (a joining member adopts the first one a member sends). */
  #checkGroup(from: string, groupId: string): boolean {
    if (this.#groupId === undefined) {
      if (groupId === '0000000000000000') return false
      this.#groupId = groupId
      if (this.#o.dataDir !== undefined) writeGroupId(this.#o.dataDir, groupId)
      return true
    }
    if (groupId === this.#groupId) return true
    this.#counts.consensusMismatched++
    if (!this.#mismatchReported.has(from)) {
      this.#mismatchReported.add(from)
      const peer = { id: from, name: this.#net.nameOf(from) }
      this.#mismatch = new MembershipMismatchError(
        `consensus group ${JSON.stringify(this.name)}: ${peer.name || from} opened it with a different member list (or name); its messages are dropped`,
        this.name,
        peer,
      )
      this.#emit({ type: 'error', error: this.#mismatch })
    }
    return false
  }

  #schedule(): void {
    this.#timer = this.#clock.after(this.#o.tickMs, () => {
      if (this.#closed) return
      if (this.#failed !== undefined) return
      this.#native.tick()
      this.#retry()
      this.ticked?.()
      this.#turn()
      this.#schedule()
    })
  }

  /** Called on every tick (leases). */
  ticked: (() => void) | undefined

  /** Operations and reads not answered within an election timeout go again. */
  #retry(): void {
    const now = this.#clock.monotonic()
    for (const p of this.#pending.values()) {
      if (now >= p.deadline) {
        p.reject(this.deadlineError(`not committed within ${p.deadlineMs} ms`))
        continue
      }
      if (now - p.sentAt >= this.#retryMs * 2 ** Math.min(Math.max(0, p.attempts - 1), 4)) this.#enqueue(p)
    }
    for (const r of this.#reads) if (r.index === undefined && now - r.askedAt >= this.#retryMs) r.askedAt = -Infinity
  }

  /**
   * A turn once the current task's synchronous work and the microtasks queued before are done: the operations of
   * one run of application code form one batch, and a message that arrived is answered before the event loop moves
   * on (no wait behind other I/O).
   */
  #kick(): void {
    if (this.#kicked || this.#closed) return
    this.#kicked = true
    queueMicrotask(this.#kickTask)
  }

  readonly #kickTask = (): void => {
    this.#kicked = false
    if (!this.#closed) this.#turn()
  }

  /** One turn: proposals and reads made since the last one go out, the core's output is handled. */
  #turn(): void {
    if (this.#failed !== undefined) return
    this.#turnRead = undefined
    this.#sendQueued()
    this.#askReads()
    this.#drain()
  }

  /**
   * Raft does not tell the followers of every commit (that is an extra append round per commit); the leader does it
   * in the event-loop turn after a commit, unless the proposals made meanwhile — an application that awaits one
   * put before the next — carried the commit index already. Followers learn a commit that quickly for their reads,
   * watchers and forwarded operations.
   */
  #oweCommitNotice(): void {
    if (this.#commitOwed) return
    this.#commitOwed = true
    this.#clock.soon(() => {
      this.#commitOwed = false
      if (this.#closed || this.#failed !== undefined) return
      this.#native.announceCommit()
      this.#drain()
    })
  }

  #sendQueued(): void {
    if (this.#queue.length === 0) return
    const leader = this.#status.leader
    const isLeader = this.#status.role === 'leader'
    const to = isLeader ? undefined : this.routes.endpointOf(leader)
    if (!isLeader && to === undefined) return // no leader known: the queue waits for one
    const queue = this.#queue
    this.#queue = []
    const now = this.#clock.monotonic()
    let low = Infinity
    for (const p of this.#pending.values()) low = Math.min(low, p.seq)
    let batch: unknown[][] = []
    let bytes = 0
    const flush = (): void => {
      if (batch.length === 0) return
      const data = encodeBatch(batch)
      batch = []
      bytes = 0
      if (isLeader) {
        try {
          this.#native.propose(data)
        } catch {
          // Dropped (a leadership transfer, a conf change in flight): retried after the timeout.
        }
      } else {
        this.#counts.consensusForwardedOut++
        this.#sendTo(to as string, encodeEnvelope(Kind.FORWARD, this.#groupId ?? '0000000000000000', data))
      }
    }
    for (const p of queue) {
      p.queued = false
      if (!this.#pending.has(p.seq)) continue
      p.attempts++
      p.cmd.session.low = low === Infinity ? p.seq : low
      p.sentAt = now
      const arr = commandArray(p.cmd)
      batch.push(arr)
      bytes += 64 + ('value' in p.cmd ? p.cmd.value.length : 0) + ('data' in p.cmd ? p.cmd.data.length : 0)
      if (bytes >= MAX_BATCH_BYTES) flush()
    }
    flush()
  }

  #askReads(): void {
    const now = this.#clock.monotonic()
    for (const r of this.#reads) {
      if (r.index !== undefined || r.askedAt !== -Infinity) continue
      r.askedAt = now
      this.#native.readIndex(r.ctx)
    }
  }

  /** Takes what the core has ready, until it has nothing more. */
  #drain(): void {
    let wantsSnapshot = false
    for (let rounds = 0; rounds < 64; rounds++) {
      let ready: NativeRaftReady | null
      try {
        ready = this.#native.ready()
      } catch (err) {
        return this.#fail(err)
      }
      if (ready === null) break
      if (ready.wantsSnapshot) wantsSnapshot = true
      if (ready.snapshot) this.#restore(ready.snapshot.index, ready.snapshot.data)
      for (const e of ready.committed) this.#apply(e)
      if (ready.committed.length > 0 && this.#status.role === 'leader') this.#oweCommitNotice()
      if (ready.status) this.#onStatus(ready.status)
      for (const m of ready.messages) this.#sendRaft(m.to, m.data)
      for (const rs of ready.readStates) this.#onReadState(rs.ctx, rs.index)
    }
    if (this.#reads.length > 0) this.#settleReads()
    this.#native.setApplied(this.#applied)
    if (wantsSnapshot || this.#sinceSnapshot >= this.#o.snapshotEntries) this.#compact()
  }

  #sendRaft(to: string, data: Buffer): void {
    const endpoint = this.routes.endpointOf(to)
    if (endpoint === undefined) {
      this.#counts.consensusUnroutable++
      return
    }
    this.#counts.consensusMessagesSent++
    this.#sendTo(endpoint, encodeEnvelope(Kind.RAFT, this.#groupId ?? '0000000000000000', data))
  }

  #onStatus(status: NativeRaftStatus): void {
    const before = this.#status
    this.#status = status
    if (status.leader !== before.leader || status.term !== before.term) {
      if (status.leader !== before.leader) {
        this.#emit({ type: 'leader-changed', leader: this.leader, term: status.term })
        // A new leader: what waited goes to it now rather than after the timeout.
        for (const p of this.#pending.values()) {
          p.attempts = 0
          this.#enqueue(p)
        }
        for (const r of this.#reads) if (r.index === undefined) r.askedAt = -Infinity
        if (this.#pending.size > 0 || this.#reads.length > 0) this.#kick()
      }
      this.becameLeader?.(status.role === 'leader' && before.role !== 'leader')
    }
    if (status.voters.join() !== before.voters.join() || status.learners.join() !== before.learners.join()) {
      if (!status.voters.includes(this.selfRaftId) && before.voters.includes(this.selfRaftId) && !status.learners.includes(this.selfRaftId)) {
        this.#removed = true
        for (const p of [...this.#pending.values()]) p.reject(new NotMemberError(`this endpoint was removed from consensus group ${JSON.stringify(this.name)}`, this.name))
      }
      this.#peersChanged()
      this.#emit({ type: 'members-changed', voters: this.voters() })
    }
  }

  /** Called when the leader changes (`true`: this member became the leader). */
  becameLeader: ((self: boolean) => void) | undefined

  #apply(e: NativeCommitted): void {
    this.#applied = e.index
    this.#sinceSnapshot++
    if (e.kind === 'conf-change') {
      this.#counts.consensusEntriesApplied++
      this.#onStatus(this.#native.status())
      this.confChanged?.(e.change)
      return
    }
    if (e.data.length === 0) return
    const bad = { count: 0 }
    const commands = decodeBatch(e.data, bad)
    this.#counts.consensusMalformed += bad.count
    for (const c of commands) {
      const outcome = this.state.apply(c, e.index, e.term)
      this.#counts.consensusEntriesApplied++
      const own = c.session.client === this.#client
      // A duplicate is answered too: its first application may have been inside a snapshot restored here.
      if (outcome.op === 'duplicate') {
        if (own) this.#answer(c.session.seq)
        continue
      }
      if (outcome.op === 'member' && outcome.add && !this.routes.known(outcome.raftId)) {
        this.routes.name(outcome.raftId, outcome.name)
        this.#peersChanged() // it may be a peer already
      }
      if (outcome.op === 'member') this.memberNamed?.(outcome.raftId, outcome.add)
      if (outcome.op === 'user') this.#applyListeners.emit({ index: e.index, term: e.term, data: outcome.data })
      for (const cb of this.#outcomeListeners) cb(outcome, e.index)
      if (own) this.#answer(c.session.seq)
    }
  }

  /** Resolves operation `seq` if the state holds its reply (it was applied, here or in a snapshot restored here). */
  #answer(seq: number): void {
    const p = this.#pending.get(seq)
    if (p === undefined) return
    const reply = this.state.reply(this.#client, seq)
    if (reply !== undefined) p.resolve(reply)
  }

  /** Called when a MEMBER command was applied (the leader then proposes the conf change). */
  memberNamed: ((raftId: string, add: boolean) => void) | undefined
  /** Called when a conf change was applied. */
  confChanged: ((change: { kind: string; id: string } | undefined) => void) | undefined

  #restore(index: number, data: Buffer): void {
    for (const l of this.#restoreListeners) l.before()
    const user = this.state.restore(data)
    for (const [raftId, name] of this.state.names) this.routes.name(raftId, name)
    if (user !== undefined) this.stateMachine?.restore(user)
    this.#applied = index
    this.#sinceSnapshot = 0
    this.#onStatus(this.#native.status())
    for (const l of this.#restoreListeners) l.after(index)
    // Operations of this member that the snapshot holds were committed, but their entries are not applied here.
    for (const seq of [...this.#pending.keys()]) this.#answer(seq)
  }

  readonly #restoreListeners = new Set<RestoreListener>()

  /** Sees every snapshot that replaces the state (a member far behind): just before, and after (at `index`). */
  onRestore(listener: RestoreListener): () => void {
    this.#restoreListeners.add(listener)
    return () => this.#restoreListeners.delete(listener)
  }

  #compact(): void {
    this.#sinceSnapshot = 0
    try {
      this.#native.compact(this.#applied, this.state.encode(this.stateMachine?.snapshot()))
    } catch (err) {
      return this.#fail(err)
    }
    this.#counts.consensusSnapshots++
  }

  /**
   * The core failed (its data directory, or it is poisoned after an internal error): this member stops taking part —
   * pending operations reject with the error, later calls throw it — and the error goes to `onError` (the endpoint
   * makes it an uncaught exception unless an 'error' event listener handles it). Close and reopen the group.
   */
  #fail(err: unknown): void {
    if (this.#failed !== undefined) return
    const error = err instanceof Error ? err : new Error(String(err))
    this.#failed = error
    for (const p of [...this.#pending.values()]) p.reject(error)
    for (const r of this.#reads) for (const w of r.waiters) {
      this.#clock.cancel(w.timer)
      w.reject(error)
    }
    this.#reads = []
    this.#emit({ type: 'failed', error })
  }

  #failed: Error | undefined

  #onReadState(ctx: Buffer, index: number): void {
    const r = this.#reads.find((b) => b.ctx.equals(ctx))
    if (r !== undefined) r.index = index
  }

  #settleReads(): void {
    this.#reads = this.#reads.filter((r) => {
      if (r.index === undefined || r.index > this.#applied) return true
      for (const w of r.waiters) {
        this.#clock.cancel(w.timer)
        w.resolve()
      }
      return false
    })
  }

  /** Stops: pending operations reject with ClosedError; the core's files stay. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#clock.cancel(this.#timer)
    for (const u of this.#unsubscribe) u()
    const closed = new ClosedError(`consensus group ${JSON.stringify(this.name)} was closed`)
    for (const p of [...this.#pending.values()]) p.reject(closed)
    for (const r of this.#reads) {
      for (const w of r.waiters) {
        this.#clock.cancel(w.timer)
        w.reject(closed)
      }
    }
    this.#reads = []
    for (const q of this.#queues) q.end()
    this.#native.close()
  }

  get isClosed(): boolean {
    return this.#closed
  }

  /** The op code table, for the layers above. */
  static readonly Op = Op
}
