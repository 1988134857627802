/**
 * Keeps one replica in sync with the other members of its object, over two reserved topics:
 *
 * - **Deltas.** Local writes of one tick go out as one DELTA on `.../all` (split at {@link CHUNK_BYTES}). While
 *   {@link MAX_IN_FLIGHT_BYTES} of deltas await acknowledgement, new writes wait and overwrites of a key merge, so a
 *   slow network carries the latest state, not every step.
 * - **Digests.** Each member publishes its context and store summary on `.../all` when it opens, when a peer that
 *   may be a member comes up, and every `digestIntervalMs` while something changed or differs (else every tenth).
 * - **Catch-up.** A member whose context lacks dots another one reports asks that one (WANT, one at a time) and gets
 *   exactly the entries it lacks (PUSH chunks), then the sender's context. Members whose contexts are equal but whose
 *   stores differ (a removal one of them has not seen) compare bucket hashes (BUCKETS) and the dots of the differing
 *   buckets (DOTS), and each removes what the other removed.
 * - **Acknowledgements** (ACK) for quorum writes; **garbage collection** of tombstones by what members reported.
 *
 * Everything from the network is checked: a malformed or inconsistent message is dropped and counted, never thrown.
 */
import { TooManyRangesError } from './causal-context'
import { CausalContext } from './causal-context'
import type { Entry } from './entry'
import { type Member, Members } from './members'
import { TooManyOriginsError } from './origins'
import type { ModelClock, ModelTopics } from './model-topics'
import type { ResolvedReplicaOptions } from './options'
import type { Origin } from './origins'
import type { Delta, Replica } from './replica'
import type { ModelCounts } from './stats'
import { objectTopics, type ObjectTopics } from './topics'
import { SyncWaits } from './waits'
import {
  type DeltaMessage,
  type DigestMessage,
  type DotsMessage,
  encodeAck,
  encodeBuckets,
  encodeDelta,
  encodeDigest,
  encodeDots,
  encodePush,
  encodeWant,
  decodeModelMessage,
  type ModelMessage,
  type PushMessage,
} from './wire'
import { TopicWireError } from '../topics/errors'

/** Largest DELTA or PUSH chunk, bytes (about). */
export const CHUNK_BYTES = 128 * 1024
/** Delta bytes awaiting acknowledgement before new writes wait (and merge). */
export const MAX_IN_FLIGHT_BYTES = 4 << 20
/** A WANT without a PUSH chunk for this long is given up (another member may be asked). */
export const WANT_TIMEOUT_MS = 5000
/** Unchanged members publish a digest every this many intervals. */
const KEEPALIVE_INTERVALS = 10

const EMPTY = new CausalContext()

/** See the module doc. */
export class MapSync {
  readonly topics: ObjectTopics
  readonly members = new Members()
  readonly waits: SyncWaits
  readonly #t: ModelTopics
  readonly #clock: ModelClock
  readonly #replica: Replica
  readonly #o: ResolvedReplicaOptions
  readonly #counts: ModelCounts
  readonly #unsubscribe: (() => void)[] = []
  #flushQueued = false
  #inFlight = 0
  #digestQueued = false
  #answeredAt = -Infinity
  #lastDigestVersion = -1
  #ticks = 0
  #timer: unknown
  #request = 0
  #want: { member: string; request: number; timer: unknown } | undefined
  readonly #pushChunks = new Map<string, number>()
  readonly #acksDue = new Set<string>()
  #closed = false
  /** Called after local or remote changes were applied (persistence). */
  onApplied: (() => void) | undefined

  constructor(t: ModelTopics, clock: ModelClock, replica: Replica, kind: string, name: string, o: ResolvedReplicaOptions, counts: ModelCounts) {
    this.#t = t
    this.#clock = clock
    this.#replica = replica
    this.#o = o
    this.#counts = counts
    this.topics = objectTopics(kind, name, t.id)
    this.waits = new SyncWaits(t, clock, replica, this.members, this.topics)
  }

  /** Subscribes, announces itself with a digest and starts the periodic work. */
  start(): void {
    this.#unsubscribe.push(this.#t.subscribe(this.topics.all, (from, data) => this.#receive(from, data)))
    this.#unsubscribe.push(this.#t.subscribe(this.topics.own, (from, data) => this.#receive(from, data)))
    this.#queueDigest()
    this.#schedule()
  }

  /** A local write happened: the delta goes out once this tick is done. */
  wrote(): void {
    this.onApplied?.()
    this.#queueFlush()
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#closed) return
    this.#flushQueued = true
    this.#clock.soon(() => this.#flush())
  }

  /** Follows the peer table: members up and down, digests for peers that may be members. */
  peerEvent(type: 'up' | 'down' | 'changed', id: string, reason?: string): void {
    if (this.#closed) return
    const m = this.members.get(id)
    if (type === 'down') {
      if (m !== undefined) m.up = false
      if (reason === 'left') this.members.forget(id)
      if (this.#want?.member === id) this.#giveUpWant()
    } else {
      if (m !== undefined) m.up = true
      if (this.#t.wants(id, this.topics.all)) this.#answerDigest(type === 'up')
    }
    this.waits.check()
  }

  /** Publishes a last digest saying this member leaves, and stops. */
  close(): void {
    if (this.#closed) return
    this.#flush()
    this.#sendDigest(true)
    this.#closed = true
    this.#clock.cancel(this.#timer)
    this.#clock.cancel(this.#want?.timer)
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    this.waits.close()
  }

  #schedule(): void {
    this.#timer = this.#clock.after(this.#o.digestIntervalMs, () => {
      if (this.#closed) return
      this.#tick()
      this.#schedule()
    })
  }

  /** The periodic work: held entries, digest, garbage collection, forgetting members. */
  #tick(): void {
    this.#ticks++
    if (this.#replica.releaseHeld() > 0) this.onApplied?.()
    const differs = this.members.up().some((m) => !this.#matches(m))
    if (differs || this.#replica.version !== this.#lastDigestVersion || this.#ticks % KEEPALIVE_INTERVALS === 0) {
      this.#sendDigest(false)
    }
    this.members.expire(this.#clock.monotonic() - this.#o.tombstoneHorizonMs)
    this.#collect()
    this.#maybeWant()
  }

  #matches(m: Member): boolean {
    if (m.context === undefined || m.root === undefined) return false
    const [a, b] = this.#replica.store.rootHash()
    return m.root[0] === a && m.root[1] === b && m.context.equals(this.#replica.context)
  }

  /** Collects tombstones every known member reported seeing (its report is usable once we hold its writes). */
  #collect(): void {
    const contexts: CausalContext[] = []
    for (const m of this.members.all()) {
      const usable = m.context !== undefined && m.origin !== undefined && this.#replica.context.contiguous(m.origin.index) >= m.counter
      contexts.push(usable ? (m.context as CausalContext) : EMPTY)
    }
    if (this.#replica.store.tombstones.size === 0) return
    if (this.#replica.collect(contexts, this.#o.tombstoneHorizonMs) > 0) this.onApplied?.()
  }

  #flush(): void {
    this.#flushQueued = false
    if (this.#closed) return
    while (this.#inFlight < MAX_IN_FLIGHT_BYTES) {
      const delta = this.#replica.takeDelta()
      if (delta === undefined) break
      const ack = this.waits.quorumPending
      for (const part of splitDelta(delta)) {
        const data = encodeDelta({ ack, sender: this.#replica.self, ...part })
        this.#inFlight += data.length
        this.#counts.modelDeltasSent++
        this.#publish(this.topics.all, data, () => {
          this.#inFlight -= data.length
          if (this.#replica.hasDelta) this.#queueFlush()
        })
      }
    }
    this.#sendAcks()
  }

  #publish(topic: string, data: Uint8Array, settled?: () => void, failed?: () => void): void {
    let sent: Promise<void>
    try {
      sent = this.#t.publish(topic, data)
    } catch {
      this.#counts.modelSendFailures++
      settled?.()
      failed?.()
      return
    }
    sent.then(settled, () => {
      this.#counts.modelSendFailures++
      settled?.()
      failed?.()
    })
  }

  /** A digest in answer to something (a new member, one that lacks what we hold), at most every quarter interval. */
  #answerDigest(force: boolean): void {
    const now = this.#clock.monotonic()
    if (!force && now - this.#answeredAt < Math.min(250, this.#o.digestIntervalMs / 4)) return
    this.#answeredAt = now
    this.#queueDigest()
  }

  #queueDigest(): void {
    if (this.#digestQueued || this.#closed) return
    this.#digestQueued = true
    this.#clock.soon(() => {
      this.#digestQueued = false
      if (!this.#closed) this.#sendDigest(false)
    })
  }

  #sendDigest(leaving: boolean): void {
    // Writes of this tick go out first: a digest that got ahead of their delta would make every member WANT them.
    if (this.#replica.hasDelta) this.#flush()
    const r = this.#replica
    this.#lastDigestVersion = r.version
    const digest = {
      leaving,
      sender: r.self,
      counter: r.counter,
      hlc: r.clock.peek(),
      liveKeys: r.store.liveKeys,
      entryCount: r.store.entryCount,
      root: r.store.rootHash(),
      context: r.context,
    }
    this.#counts.modelDigestsSent++
    this.#publish(this.topics.all, encodeDigest(digest, r.origins))
  }

  #send(to: string, data: Uint8Array, failed?: () => void): boolean {
    const topic = this.topics.to(to)
    if (!this.#t.wants(to, topic)) return false
    this.#publish(topic, data, undefined, failed)
    return true
  }

  #receive(from: string, data: Buffer): void {
    if (this.#closed || from === this.#t.id) return
    let message: ModelMessage
    try {
      message = decodeModelMessage(data, this.#replica.origins)
      this.#handle(from, message)
    } catch (err) {
      if (!(err instanceof TopicWireError || err instanceof TooManyRangesError || err instanceof TooManyOriginsError)) throw err
      this.#counts.modelMalformed++
      return
    }
    this.waits.check()
  }

  #handle(from: string, message: ModelMessage): void {
    // Checked before the sender becomes a member: a dropped message changes nothing.
    if ((message.kind === 'delta' || message.kind === 'digest') && message.sender.id !== from) {
      throw new TopicWireError(`a ${message.kind} for another endpoint`, 0)
    }
    const m = this.members.touch(from, this.#t.nameOf(from), this.#clock.monotonic())
    m.up = true
    switch (message.kind) {
      case 'delta':
        return this.#onDelta(m, message)
      case 'digest':
        return this.#onDigest(m, message)
      case 'want':
        return this.#onWant(m, message.request, message.context)
      case 'push':
        return this.#onPush(m, message)
      case 'buckets':
        return this.#onBuckets(m, message.request, message.hashes)
      case 'dots':
        return this.#onDots(m, message)
      case 'ack':
        if (message.incarnation === this.#replica.self.incarnation) m.acked = Math.max(m.acked, message.contiguous)
    }
  }

  #onDelta(m: Member, d: DeltaMessage): void {
    m.origin = d.sender
    if (m.streamOrigin !== d.sender) {
      m.streamOrigin = d.sender
      m.streamedTo = 0
    }
    m.streamedTo = Math.max(m.streamedTo, d.last)
    m.streamedAt = this.#clock.monotonic()
    this.#counts.modelDeltasReceived++
    this.#replica.applyEntries(d.entries)
    for (const r of d.removals) this.#replica.applyRemoval(r)
    this.#replica.applyRange(d.sender, d.first, d.last)
    this.onApplied?.()
    if (d.ack) {
      this.#acksDue.add(m.id)
      this.#queueFlush()
    }
  }

  #sendAcks(): void {
    for (const id of this.#acksDue) {
      const origin = this.members.get(id)?.origin
      if (origin !== undefined) this.#send(id, encodeAck(origin.incarnation, this.#replica.context.contiguous(origin.index)))
    }
    this.#acksDue.clear()
  }

  #onDigest(m: Member, d: DigestMessage): void {
    if (d.leaving) {
      // What it held when it left counts for the quorum writes waiting now (its ACK may not have come first).
      m.acked = Math.max(m.acked, d.context.contiguous(this.#replica.self.index))
      this.waits.check()
      this.members.forget(m.id)
      if (this.#want?.member === m.id) this.#giveUpWant()
      return
    }
    const first = m.context === undefined
    m.origin = d.sender
    m.counter = d.counter
    m.context = d.context
    m.root = d.root
    this.#replica.clock.observe(d.hlc)
    const self = this.#replica.self.index
    m.acked = Math.max(m.acked, d.context.contiguous(self))
    // A new member, or one that lacks what we hold: let it know what we have.
    if (first || !d.context.covers(this.#replica.context)) this.#answerDigest(first)
    if (!this.#maybeWant() && this.#replica.context.equals(d.context) && !this.#matches(m)) this.#compareBuckets(m, false)
  }

  /** Asks the member that has the most of what this replica lacks; false when nothing is lacking (or asked). */
  #maybeWant(): boolean {
    if (this.#want !== undefined) return true
    let best: Member | undefined
    let most = 0
    const now = this.#clock.monotonic()
    for (const m of this.members.up()) {
      if (m.context === undefined) continue
      // A member that is sending deltas reports writes of its own that are still on their way (they wait for room
      // in its window): those above its last delta here are not asked for, until its deltas have stopped for an
      // interval (a delta that was lost then is asked for at the next tick). Asking would fetch them twice.
      const streaming = m.streamOrigin !== undefined && now - m.streamedAt < this.#o.digestIntervalMs
      const lacking = streaming
        ? this.#replica.context.lacking(m.context, (m.streamOrigin as Origin).index, m.streamedTo)
        : this.#replica.context.lacking(m.context)
      if (lacking <= this.#replica.held || lacking <= most) continue
      if (!this.#t.wants(m.id, this.topics.to(m.id))) continue
      best = m
      most = lacking
    }
    if (best === undefined) return false
    const request = ++this.#request >>> 0
    this.#counts.modelWantsSent++
    this.#want = { member: best.id, request, timer: this.#clock.after(WANT_TIMEOUT_MS, () => this.#giveUpWant()) }
    // A WANT that did not arrive is retried at the next tick or digest, not after the timeout.
    this.#send(best.id, encodeWant(request, this.#replica.context, this.#replica.origins), () => this.#wantFailed(request))
    return true
  }

  #wantFailed(request: number): void {
    if (this.#want?.request !== request) return
    this.#clock.cancel(this.#want.timer)
    this.#want = undefined
  }

  #giveUpWant(): void {
    if (this.#want === undefined) return
    this.#clock.cancel(this.#want.timer)
    this.#want = undefined
    if (!this.#closed) this.#maybeWant()
  }

  #onWant(m: Member, request: number, context: CausalContext): void {
    const missing = this.#replica.missingFor(context)
    const chunks = splitEntries(missing)
    const r = this.#replica
    this.#counts.modelPushesSent++
    chunks.forEach((entries, chunk) => {
      const last = chunk === chunks.length - 1
      const end = last ? { chunks: chunks.length, root: r.store.rootHash(), context: r.context } : undefined
      this.#send(m.id, encodePush({ request, chunk, entries, end }, r.origins))
    })
  }

  #onPush(m: Member, p: PushMessage): void {
    const key = `${m.id}:${p.request}`
    const got = (this.#pushChunks.get(key) ?? 0) + 1
    this.#pushChunks.set(key, got)
    if (this.#pushChunks.size > 64) this.#pushChunks.delete(this.#pushChunks.keys().next().value as string)
    this.#replica.applyEntries(p.entries)
    this.#counts.modelEntriesPulled += p.entries.length
    const mine = this.#want?.member === m.id && this.#want.request === p.request
    if (mine && this.#want !== undefined) {
      this.#clock.cancel(this.#want.timer)
      this.#want.timer = this.#clock.after(WANT_TIMEOUT_MS, () => this.#giveUpWant())
    }
    this.onApplied?.()
    if (p.end === undefined) return
    this.#pushChunks.delete(key)
    if (got === p.end.chunks) this.#replica.mergeContext(p.end.context)
    this.onApplied?.()
    if (mine) this.#giveUpWant()
    const [a, b] = this.#replica.store.rootHash()
    const level = this.#replica.context.equals(p.end.context)
    if (level && (a !== p.end.root[0] || b !== p.end.root[1])) this.#compareBuckets(m, true)
  }

  /** Starts a bucket comparison with `m` (the lower endpoint ID starts, or `force`), at most once per interval. */
  #compareBuckets(m: Member, force: boolean): void {
    const now = this.#clock.monotonic()
    if (!force && this.#t.id > m.id) return
    if (now - m.bucketsAt < this.#o.digestIntervalMs) return
    m.bucketsAt = now
    this.#counts.modelBucketExchanges++
    this.#send(m.id, encodeBuckets(++this.#request >>> 0, this.#replica.store.bucketHashes()))
  }

  #onBuckets(m: Member, request: number, hashes: Uint32Array): void {
    const mine = this.#replica.store.bucketHashes()
    const differing = new Set<number>()
    for (let b = 0; b < mine.length / 2; b++) {
      if (mine[2 * b] !== hashes[2 * b] || mine[2 * b + 1] !== hashes[2 * b + 1]) differing.add(b)
    }
    if (differing.size === 0) return
    const r = this.#replica
    this.#send(m.id, encodeDots(request, true, r.context, r.dots(differing), r.origins))
  }

  #onDots(m: Member, d: DotsMessage): void {
    const r = this.#replica
    const lacking = r.applyDots(d.context, d.buckets)
    this.onApplied?.()
    if (d.answer) this.#send(m.id, encodeDots(d.request, false, r.context, r.dots(new Set(d.buckets.keys())), r.origins))
    if (lacking > 0) this.#maybeWant()
  }
}

/** Splits a delta into parts of about {@link CHUNK_BYTES}, each covering its own range of counters. */
export function splitDelta(delta: Delta): Omit<DeltaMessage, 'kind' | 'ack' | 'sender'>[] {
  const groups = splitEntries(delta.entries)
  let first = delta.first
  return groups.map((entries, i) => {
    const last = i === groups.length - 1 ? delta.last : entries[entries.length - 1].counter
    const part = { first, last, entries, removals: i === groups.length - 1 ? delta.removals : [] }
    first = last + 1
    return part
  })
}

/** Splits entries into groups of about {@link CHUNK_BYTES} (always at least one group, possibly empty). */
export function splitEntries(entries: readonly Entry[]): Entry[][] {
  const groups: Entry[][] = [[]]
  let size = 0
  for (const e of entries) {
    const bytes = e.key.length + e.size + 24
    if (size + bytes > CHUNK_BYTES && groups[groups.length - 1].length > 0) {
      groups.push([])
      size = 0
    }
    groups[groups.length - 1].push(e)
    size += bytes
  }
  return groups
}
