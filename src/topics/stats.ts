/**
 * Counters of the topic layer, part of `Endpoint.stats()`. All only grow.
 */

/** The topic layer's counters. */
export interface TopicStats {
  /** Publications made by this endpoint. */
  topicPublished: number
  /** Messages handed to subscriptions (one per matching subscription). */
  topicDelivered: number
  /** Topic messages and interest summaries from the network that could not be decoded (dropped). */
  topicMalformed: number
  /**
   * Publications received for topics this endpoint neither subscribes to nor caches (a multicast, or a false positive
   * of its interest summary).
   */
  topicUnwanted: number
  /** Publications dropped by a subscription that asked for another type. */
  topicTypeMismatch: number
  /** Best-effort publications dropped by a reliable-only subscription. */
  topicQosMismatch: number
  /** Publications dropped by a subscription that asked for another codec (`subscribe(filter, { codec })`). */
  topicCodecMismatch: number
  /** Publications dropped because their lifespan had passed. */
  topicExpired: number
  /** Publications whose payload the codec could not decode (or whose custom codec id no subscription knows). */
  topicDecodeErrors: number
  /** Publications received again (live, history, repair) and dropped: each is delivered once. */
  topicDuplicates: number
  /** Sequence numbers given up (never received in time, or no longer held by anyone asked). */
  topicSkipped: number
  /** Messages dropped because a subscription's iterator was full. */
  topicQueueDrops: number
  /** REPAIR requests sent (for gaps, and after digests). */
  topicRepairRequests: number
  /** Publications sent again from history or cache (answers to REPAIR requests). */
  topicReplayed: number
  /** DIGEST messages sent to peers (on peer up, or when their interest changed). */
  topicDigestsSent: number
  /** Topic-layer sends that failed (reliable sends not acknowledged, full queues). */
  topicSendFailures: number
  /** Publications dropped from the history cache to respect its bounds. */
  topicCacheEvicted: number
  /** Sealed publications this endpoint has no topic key for (dropped). */
  topicKeyMissing: number
  /** Sealed publications whose seal did not verify (forged or corrupted; dropped). */
  topicUnauthenticated: number
  /** Unsealed publications on topics this endpoint has a topic key for (dropped: anyone could have forged them). */
  topicUnsealed: number
  /** DIRECT messages sent (point-to-point messages of the layers above: Raft's). */
  topicDirectSent: number
  /** DIRECT messages received. */
  topicDirectReceived: number
  /** DIRECT messages received on a channel nothing on this endpoint claims (dropped). */
  topicDirectUnclaimed: number
}
