/**
 * The endpoint's status events: what happens to peers (from discovery) and, from the topic layer, topics whose
 * publications cannot be delivered because of topic keys, and changes in the matched subscribers of the topics this
 * endpoint publishes on or waits on ('subscribers-changed', see `Endpoint.subscribers()`).
 */
import type { Peer, PeerEvent } from './discovery/peer-table'
import type { TopicKeyError } from './topics/errors'
import type { SubscribersChangedEvent } from './topics/matched-endpoints'

export type { SubscribersChangedEvent } from './topics/matched-endpoints'

/** Publications of `topic` were dropped because of topic keys (reported once per topic and reason). */
export interface TopicKeyErrorEvent {
  type: 'topic-key-error'
  /** The peer they came from (the publisher, or a peer that relayed them from its history or cache). */
  peer: Peer
  /** The topic. */
  topic: string
  /** What went wrong (`reason`: 'no-key', 'unauthenticated' or 'unsealed'). */
  error: TopicKeyError
}

/** A status event, as yielded by `status()` and passed to `onStatus()` callbacks: every one names a `peer`. */
export type StatusEvent = PeerEvent | TopicKeyErrorEvent | SubscribersChangedEvent
