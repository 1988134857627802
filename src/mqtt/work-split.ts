/**
 * Splitting the work between bridges of one glue network to one broker (same broker address and prefix), so that two
 * bridges do not both forward a message (no duplicates) and none is forwarded by nobody:
 *
 * - **glue → MQTT**, a publication of endpoint P on topic T: if P runs a bridge to this broker itself, only the
 *   bridges on P forward it (P's own bridge sees its application's publications locally, and never forwards its own
 *   imports); otherwise, among the live bridges whose to-MQTT filters match T, the one with the highest
 *   `hash(P, T, bridge)` (rendezvous hashing) forwards it.
 * - **MQTT → glue**, a message on topic T: among the live bridges whose from-MQTT filters match T, the one with the
 *   highest `hash(T, bridge)` publishes it into glue.
 *
 * Every bridge computes the same answer from the same registry (see `bridge-registry.ts`). While the registry
 * changes (a bridge starts, stops or crashes, until glue's discovery notices) two bridges may briefly disagree: a
 * message may then be forwarded twice or, for a bridge that died, not at all.
 */
import { compileFilter, type TopicMatcher } from '../topics/topic-name'
import type { BridgeDirection } from './options'

/** One bridge as the split sees it. */
export interface BridgeEntry {
  /** The bridge's ID (random, per bridge). */
  readonly bridge: string
  /** The endpoint it runs on. */
  readonly endpoint: string
  /** Broker address and prefix (`ResolvedBridgeOptions.brokerKey`). */
  readonly key: string
  /** Its glue topic filters. */
  readonly topics: readonly string[]
  /** Its direction. */
  readonly direction: BridgeDirection
}

interface Member {
  readonly bridge: string
  readonly endpoint: string
  readonly toMqtt: readonly TopicMatcher[] | undefined
  readonly fromMqtt: readonly TopicMatcher[] | undefined
}

/** FNV-1a, 32 bits, of `a`, a separator, then `b`. */
function hash(a: string, b: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ 0x0a, 0x01000193)
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const anyMatch = (matchers: readonly TopicMatcher[] | undefined, topic: string): boolean =>
  matchers !== undefined && matchers.some((m) => m.matches(topic))

/** Decisions cached at most (then forgotten all at once). */
const MAX_CACHED = 10_000

/** Who forwards what, for one bridge (`self`), given the live bridges of its network and broker. */
export class WorkSplit {
  readonly #self: string
  #members: Member[] = []
  /** Endpoints that run a bridge of this broker. */
  #endpoints = new Set<string>()
  #cache = new Map<string, boolean>()

  constructor(self: BridgeEntry) {
    this.#self = self.bridge
    this.update([self])
  }

  /** The other live bridges (their IDs), for stats and tests. */
  get others(): string[] {
    return this.#members.filter((m) => m.bridge !== this.#self).map((m) => m.bridge)
  }

  /** Replaces the set of live bridges (those of other brokers are ignored by the caller). */
  update(entries: readonly BridgeEntry[]): void {
    const matchers = (e: BridgeEntry, dir: BridgeDirection): TopicMatcher[] | undefined =>
      e.direction === 'both' || e.direction === dir ? e.topics.map(compileFilter) : undefined
    this.#members = entries.map((e) => ({
      bridge: e.bridge,
      endpoint: e.endpoint,
      toMqtt: matchers(e, 'to-mqtt'),
      fromMqtt: matchers(e, 'from-mqtt'),
    }))
    this.#endpoints = new Set(entries.map((e) => e.endpoint))
    this.#cache = new Map()
  }

  /** True when this bridge forwards endpoint `publisher`'s publication on `topic` to MQTT. */
  forwardsToMqtt(publisher: string, topic: string): boolean {
    if (this.#members.length === 1) return true
    const key = `${publisher}\n${topic}`
    let yes = this.#cache.get(key)
    if (yes === undefined) {
      const own = this.#endpoints.has(publisher)
      yes = this.#winner(key, (m) => anyMatch(m.toMqtt, topic) && (!own || m.endpoint === publisher))
      this.#remember(key, yes)
    }
    return yes
  }

  /** True when this bridge publishes a message from MQTT on glue topic `topic` into glue. */
  forwardsFromMqtt(topic: string): boolean {
    if (this.#members.length === 1) return true
    const key = `\n${topic}`
    let yes = this.#cache.get(key)
    if (yes === undefined) {
      yes = this.#winner(key, (m) => anyMatch(m.fromMqtt, topic))
      this.#remember(key, yes)
    }
    return yes
  }

  #winner(key: string, eligible: (m: Member) => boolean): boolean {
    let best: string | undefined
    let bestHash = -1
    for (const m of this.#members) {
      if (!eligible(m)) continue
      const h = hash(key, m.bridge)
      if (h > bestHash || (h === bestHash && best !== undefined && m.bridge < best)) {
        best = m.bridge
        bestHash = h
      }
    }
    return best === this.#self
  }

  #remember(key: string, yes: boolean): void {
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear()
    this.#cache.set(key, yes)
  }
}
