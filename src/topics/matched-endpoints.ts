/**
 * Matched endpoints: which endpoints match a topic, a wait until enough do, and (for subscribers) a status event when
 * the set changes. One class, {@link MatchedEndpoints}, serves two kinds through its host: matched subscribers (DDS
 * "publication matched": `ep.subscribers()`, `ep.waitForSubscribers()`, the 'subscribers-changed' event for the
 * topics this endpoint publishes on or waits on), tested against the peers' interest summaries (extension 0x10); and
 * matched repliers (`ep.repliers()`, `ep.waitForRepliers()`, no event), tested against the peers' replier summaries
 * (extension 0x11, same format). What follows is said of subscribers; for repliers read "replier summary" and "this
 * endpoint's own open repliers" (`ep.reply()` / `Replier.close()` settle the `local` waits).
 *
 * **What "matched" means.** A remote endpoint matches a topic when its announced interest summary (see
 * `interest-filter.ts`) may match the topic: exactly the peers a publication on the topic is sent to. The summary is
 * a Bloom-like hashed summary of the peer's filters, so a match can be a false positive (about 1 % per applicable
 * filter shape with the default sizing; the peer then drops the publication, counted in its `topicUnwanted`); there
 * are no false negatives. A peer whose summary could not be decoded counts as matching every topic (that is how
 * publications are routed to it, too). This endpoint's own subscriptions are known exactly; they count only when
 * asked (`local: true`).
 *
 * **Driven by events, no polling.** The topic layer updates the peers' summaries on peer up / changed / down; then
 * {@link MatchedSubscribers.peerEvent} re-tests that one peer against every tracked topic, emits the events and
 * settles the waits whose condition now holds. Local subscribe / unsubscribe settles the `local` waits.
 *
 * **Tracked topics (bounded).** The matched set is followed (and events emitted) for at most
 * {@link MAX_TRACKED_TOPICS} topics: those this endpoint published on most recently plus those with a pending wait.
 * When a new topic needs room, the topic tracked longest without a publication (and without a wait) is dropped;
 * topics with pending waits are never dropped (their number is bounded by the caller's waits).
 */
import type { Peer } from '../discovery/peer-table'
import { ClosedError, InvalidOptionError } from '../errors'
import { TimeoutError } from '../errors'
import { checkNumber, describe, explicit, optionsObject } from '../option-checks'
import { validateTopicName } from './topic-name'

/** Most topics whose matched set is followed (see the module doc). */
export const MAX_TRACKED_TOPICS = 1024
/** Default of `waitForSubscribers()`'s and `waitForRepliers()`'s `timeoutMs`. */
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000
/** Largest finite `timeoutMs` (what a Node timer can wait). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** An endpoint that matches a topic, as listed by `Endpoint.subscribers()` and `Endpoint.repliers()`. */
export interface MatchedSubscriber {
  /** Endpoint ID, 16 hex digits. */
  readonly id: string
  /** Endpoint name. */
  readonly name: string
  /** Unicast address "ip:port". */
  readonly address: string
  /**
   * True for this endpoint itself (listed only with `local: true`, when one of its own subscriptions — for
   * `repliers()`: one of its own open repliers — matches).
   */
  readonly local: boolean
}

/** Options of `Endpoint.subscribers()`. */
export interface SubscribersOptions {
  /**
   * Count this endpoint too when one of its own subscriptions matches (as DDS counts local readers). Default: false —
   * only remote endpoints, the ones a publication has to travel to.
   */
  readonly local?: boolean
}

/** Options of `Endpoint.waitForSubscribers()`. */
export interface WaitForSubscribersOptions extends SubscribersOptions {
  /** How many matching endpoints to wait for, an integer 1..1_000_000. Default: 1. */
  readonly min?: number
  /**
   * How long to wait, milliseconds (0..2^31-1, or `Infinity` to wait until `min` match, the signal aborts or the
   * endpoint closes). Default: 10_000. Rejects with TimeoutError when it passes.
   */
  readonly timeoutMs?: number
  /** Aborting stops the wait: the promise rejects with `signal.reason`. */
  readonly signal?: AbortSignal
}

/** An endpoint with a replier (`ep.reply()`) whose filter may match a topic, as listed by `Endpoint.repliers()`. */
export type MatchedReplier = MatchedSubscriber

/**
 * Options of `Endpoint.repliers()`. `local`: count this endpoint too when one of its own open repliers matches
 * (`request()` asks those as well). Default: false — only remote endpoints.
 */
export type RepliersOptions = SubscribersOptions

/**
 * Options of `Endpoint.waitForRepliers()`: `min` (integer 1..1_000_000 endpoints, default 1), `timeoutMs` (0..2^31-1
 * ms or Infinity, default 10_000; TimeoutError when it passes), `signal` (rejects with `signal.reason`), `local`
 * (as in {@link RepliersOptions}).
 */
export type WaitForRepliersOptions = WaitForSubscribersOptions

/**
 * The matched set of a tracked topic changed (only for topics this endpoint published on or waits on; see
 * `Endpoint.subscribers()`). `peer` is the remote endpoint whose announcement (or arrival, or departure) changed it.
 */
export interface SubscribersChangedEvent {
  type: 'subscribers-changed'
  /** The peer that came, left or changed its interest. */
  peer: Peer
  /** The topic. */
  topic: string
  /** Remote endpoints matching the topic now. */
  subscribers: number
  /** Endpoints that match now and did not before. */
  added: readonly MatchedSubscriber[]
  /** Endpoints that matched before and do not now. */
  removed: readonly MatchedSubscriber[]
}

/** What the tracker needs from the endpoint and its topic layer: the kind of match it follows. */
export interface MatchedEndpointsHost {
  /** What matches, singular, for error messages: "subscriber", "replier". */
  readonly noun: string
  /** The list and wait methods, for option errors: "subscribers()", "waitForSubscribers()". */
  readonly listName: string
  readonly waitName: string
  /** The IDs of the peers whose summaries may match `topic`. */
  interested(topic: string): readonly string[]
  /** True when peer `id`'s summary may match `topic`. */
  peerWants(id: string, topic: string): boolean
  /** The current (accepted) peer of that ID. */
  peer(id: string): Peer | undefined
  /** True when this endpoint itself matches `topic` (its own subscriptions or cache filters; its open repliers). */
  wantsLocally(topic: string): boolean
  /** This endpoint. */
  readonly self: { readonly id: string; readonly name: string; readonly address: string }
  /** Emits the status event of a change of a tracked topic's matched set (none when absent). */
  emit?(event: SubscribersChangedEvent): void
}

interface Waiter {
  readonly min: number
  readonly local: boolean
  readonly resolve: (list: MatchedSubscriber[]) => void
  readonly reject: (err: unknown) => void
  /** Stops the timer and the abort listener. */
  readonly cleanup: () => void
}

interface Tracked {
  /** Remote endpoints (IDs) matching now. */
  readonly members: Set<string>
  readonly waiters: Set<Waiter>
  /** When it was last published on or waited on (a tick of the tracker's clock). */
  used: number
}

const asSubscriber = (p: { id: string; name: string; address: string }, local: boolean): MatchedSubscriber => ({
  id: p.id,
  name: p.name,
  address: p.address,
  local,
})

/** See the module doc. */
export class MatchedEndpoints {
  readonly #host: MatchedEndpointsHost
  readonly #limit: number
  readonly #tracked = new Map<string, Tracked>()
  /** Counts publications and waits; a tracked topic unused for longer than half the limit is moved to the end. */
  #clock = 0
  #closed = false

  constructor(host: MatchedEndpointsHost, limit = MAX_TRACKED_TOPICS) {
    this.#host = host
    this.#limit = limit
  }

  /** The endpoints matching `topic` now (validated: TopicError naming `topic`). */
  list(topic: string, options?: SubscribersOptions): MatchedSubscriber[] {
    validateTopicName(topic)
    const local = localOption(optionsObject(options, this.#host.listName))
    return this.#list(topic, local)
  }

  #list(topic: string, local: boolean): MatchedSubscriber[] {
    const out: MatchedSubscriber[] = []
    if (local && this.#host.wantsLocally(topic)) out.push(asSubscriber(this.#host.self, true))
    for (const id of this.#host.interested(topic)) {
      const peer = this.#host.peer(id)
      if (peer !== undefined) out.push(asSubscriber(peer, false))
    }
    return out
  }

  /** Resolves with {@link list} once at least `min` endpoints match (see {@link WaitForSubscribersOptions}). */
  wait(topic: string, options?: WaitForSubscribersOptions): Promise<MatchedSubscriber[]> {
    let min: number
    let local: boolean
    let timeoutMs: number
    let signal: AbortSignal | undefined
    try {
      if (this.#closed) throw new ClosedError()
      validateTopicName(topic)
      const o = optionsObject(options, this.#host.waitName)
      local = localOption(o)
      min = o.min === undefined ? 1 : checkNumber(explicit('min', o.min), { min: 1, max: 1_000_000, integer: true, unit: 'endpoints' })
      timeoutMs =
        o.timeoutMs === undefined
          ? DEFAULT_WAIT_TIMEOUT_MS
          : o.timeoutMs === Infinity
            ? Infinity
            : checkNumber(explicit('timeoutMs', o.timeoutMs), { min: 0, max: MAX_TIMEOUT_MS, integer: false, unit: 'ms, or Infinity' })
      signal = signalOption(o.signal)
    } catch (err) {
      return Promise.reject(err)
    }
    if (signal?.aborted) return Promise.reject(signal.reason)
    const now = this.#list(topic, local)
    if (now.length >= min) return Promise.resolve(now)
    const entry = this.#track(topic)
    return new Promise<MatchedSubscriber[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const onAbort = (): void => settle(() => reject(signal?.reason))
      const waiter: Waiter = {
        min,
        local,
        resolve: (list) => settle(() => resolve(list)),
        reject: (err) => settle(() => reject(err)),
        cleanup: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        },
      }
      const settle = (how: () => void): void => {
        if (!entry.waiters.delete(waiter)) return
        waiter.cleanup()
        how()
      }
      entry.waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs !== Infinity) {
        timer = setTimeout(() => {
          const have = this.#list(topic, local).length
          const message = `fewer than ${min} ${this.#host.noun}${min === 1 ? '' : 's'} of topic ${JSON.stringify(topic)} within ${timeoutMs} ms (${have} matched)`
          settle(() => reject(new TimeoutError(message)))
        }, timeoutMs)
      }
    })
  }

  /** Follows a topic this endpoint published on (for 'subscribers-changed'); cheap when already tracked. */
  published(topic: string): void {
    const entry = this.#tracked.get(topic)
    if (entry === undefined) this.#track(topic)
    else if (this.#clock - entry.used > this.#limit >> 1) this.#refresh(topic, entry)
    else this.#clock++
  }

  /** After the topic layer took a peer event: re-tests that peer against every tracked topic. */
  peerEvent(type: string, peer: Peer): void {
    if (this.#closed) return
    if (type !== 'peer-up' && type !== 'peer-down' && type !== 'peer-changed') return
    const id = peer.id
    const down = type === 'peer-down'
    for (const [topic, entry] of this.#tracked) {
      const was = entry.members.has(id)
      const is = !down && this.#host.peerWants(id, topic)
      if (was === is) continue
      if (is) entry.members.add(id)
      else entry.members.delete(id)
      const record = [asSubscriber(peer, false)]
      const added = is ? record : []
      const removed = is ? [] : record
      this.#host.emit?.({ type: 'subscribers-changed', peer, topic, subscribers: entry.members.size, added, removed })
      if (is) this.#check(topic, entry)
    }
  }

  /** After this endpoint's own subscriptions (repliers) changed: settles the `local` waits that now hold. */
  localChanged(): void {
    if (this.#closed) return
    for (const [topic, entry] of this.#tracked) this.#check(topic, entry)
  }

  /** Rejects the pending waits with ClosedError and stops following topics. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const entry of this.#tracked.values()) {
      for (const waiter of [...entry.waiters]) waiter.reject(new ClosedError())
    }
    this.#tracked.clear()
  }

  /** Topics followed now (for tests and stats). */
  get trackedTopics(): number {
    return this.#tracked.size
  }

  #check(topic: string, entry: Tracked): void {
    if (entry.waiters.size === 0) return
    let remote: MatchedSubscriber[] | undefined
    let all: MatchedSubscriber[] | undefined
    for (const waiter of [...entry.waiters]) {
      const list = waiter.local ? (all ??= this.#list(topic, true)) : (remote ??= this.#list(topic, false))
      if (list.length >= waiter.min) waiter.resolve([...list])
    }
  }

  /** The entry of `topic`, made (with its current matched set) if new, marked as just used. */
  #track(topic: string): Tracked {
    const known = this.#tracked.get(topic)
    if (known !== undefined) {
      this.#refresh(topic, known)
      return known
    }
    if (this.#tracked.size >= this.#limit) this.#evict()
    const members = new Set<string>()
    for (const id of this.#host.interested(topic)) if (this.#host.peer(id) !== undefined) members.add(id)
    const entry: Tracked = { members, waiters: new Set(), used: ++this.#clock }
    this.#tracked.set(topic, entry)
    return entry
  }

  /** Moves an entry to the end of the map (the map's order is roughly least recently used first). */
  #refresh(topic: string, entry: Tracked): void {
    entry.used = ++this.#clock
    this.#tracked.delete(topic)
    this.#tracked.set(topic, entry)
  }

  /** Drops the least recently used topic without a pending wait (none when every tracked topic has one). */
  #evict(): void {
    for (const [topic, entry] of this.#tracked) {
      if (entry.waiters.size === 0) {
        this.#tracked.delete(topic)
        return
      }
    }
  }
}

function localOption(o: Record<string, unknown>): boolean {
  if (o.local === undefined) return false
  if (typeof o.local !== 'boolean') {
    throw new InvalidOptionError(`Invalid option local: ${describe(o.local)} (expected true or false)`, {
      option: 'local',
      value: o.local,
    })
  }
  return o.local
}

function signalOption(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal
  throw new InvalidOptionError(`Invalid option signal: ${describe(signal)} (expected an AbortSignal)`, {
    option: 'signal',
    value: signal,
  })
}
