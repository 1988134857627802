/**
 * What the topic layer remembers per topic name, so that a publication does not work it out again: the name was
 * validated, whether a topic key or a cache filter covers it, this endpoint's own stream and encoded PUBLISH header,
 * and which subscriptions match it (valid until the subscriptions change: see {@link KnownTopic.matching}).
 */
import type { OwnStream } from './local-streams'
import type { PublishHeader } from './publish-header'
import type { StreamHandle } from './sequence-tracker'
import type { Subscription } from './subscription'
import type { TopicKeys } from './topic-keys'
import type { TopicMatcher } from './topic-name'

/** Topics remembered at most (then forgotten all at once). */
const MAX_TOPICS = 4096
const DOLLAR = 0x24

/** One topic name (valid, `$` names included). */
export class KnownTopic {
  /** The name. */
  readonly name: string
  /** The name starts with `$` (valid only where reserved names are). */
  readonly reserved: boolean
  /** A topic key covers it. */
  readonly sealed: boolean
  /** A cache filter matches it. */
  readonly cached: boolean
  /** This endpoint's stream of the topic, once it published on it. */
  own: OwnStream | undefined = undefined
  /** The header of this endpoint's last publication on the topic. */
  header: PublishHeader | undefined = undefined
  /** This endpoint's stream of the topic in the sequence tracker. */
  tracked: StreamHandle | undefined = undefined
  /** The publisher key of the last publication received on the topic, and its stream in the sequence tracker. */
  lastPublisher = ''
  lastTracked: StreamHandle | undefined = undefined
  #version = -1
  #matching: Subscription<unknown>[] = []
  #wanted = false

  constructor(name: string, sealed: boolean, cached: boolean) {
    this.name = name
    this.reserved = name.charCodeAt(0) === DOLLAR
    this.sealed = sealed
    this.cached = cached
  }

  /**
   * The subscriptions of `subs` (version `version`: a number that changes whenever the set does) that match the
   * topic, in the set's order (do not modify the array).
   */
  matching(subs: ReadonlySet<Subscription<unknown>>, version: number): readonly Subscription<unknown>[] {
    if (version !== this.#version) this.#update(subs, version)
    return this.#matching
  }

  /** True when a subscription of `subs` (see `matching`) or a cache filter wants the topic. */
  wanted(subs: ReadonlySet<Subscription<unknown>>, version: number): boolean {
    if (version !== this.#version) this.#update(subs, version)
    return this.#wanted
  }

  #update(subs: ReadonlySet<Subscription<unknown>>, version: number): void {
    const matching: Subscription<unknown>[] = []
    for (const sub of subs) if (sub.matcher.matches(this.name)) matching.push(sub)
    this.#matching = matching
    this.#wanted = matching.length > 0 || this.cached
    this.#version = version
  }
}

/** The remembered topics of one topic layer. */
export class KnownTopics {
  readonly #topics = new Map<string, KnownTopic>()
  readonly #keys: TopicKeys
  readonly #cache: readonly TopicMatcher[]

  /** `keys`: the layer's topic keys; `cache`: its cache filters. */
  constructor(keys: TopicKeys, cache: readonly TopicMatcher[]) {
    this.#keys = keys
    this.#cache = cache
  }

  /** The topic `name`, if remembered. */
  find(name: string): KnownTopic | undefined {
    return this.#topics.get(name)
  }

  /** The topic `name`, a valid topic name (`$` names included), remembered from now on. */
  get(name: string): KnownTopic {
    let topic = this.#topics.get(name)
    if (topic === undefined) {
      const cached = this.#cache.some((m) => m.matches(name))
      topic = new KnownTopic(name, this.#keys.covers(name), cached)
      if (this.#topics.size >= MAX_TOPICS) this.#topics.clear()
      this.#topics.set(name, topic)
    }
    return topic
  }
}
