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
  /** Requests this endpoint's repliers received (from peers or from this endpoint). */
  requestsReceived: number
  /** Requests answered with a value. */
  requestsAnswered: number
  /** Requests answered with an error reply (the handler threw, or its value could not be encoded). */
  requestErrors: number
  /** Requests refused with a busy reply (every matching replier's concurrency bound and queue were full). */
  requestsRefused: number
  /** Requests no replier of this endpoint matched (a false positive of its replier summary, or a closed replier). */
  requestsUnmatched: number
  /** Queued requests dropped unanswered because their requester had stopped waiting. */
  requestsExpired: number
  /** REQUEST messages sent by this endpoint's requests (one per replier asked). */
  requestsSent: number
  /** Replies with a value handed to `request()` / `requestAll()`. */
  requestReplies: number
  /** `request()` calls that timed out. */
  requestTimeouts: number
  /** Times `request()` asked another replier because the one asked went away, had none or was busy. */
  requestFailovers: number
  /** REPLY messages dropped because no request with their id is pending (late, duplicate or forged). */
  replyDropUnknown: number
  /** REPLY messages dropped because their sender was not asked under that id, or answered already (forged). */
  replyDropUnasked: number
  /** REPLY messages this endpoint could not send back (not acknowledged, or too large). */
  replySendFailures: number
}

/** The counters of request/reply's replier side (`ReplierSet`). */
export const REPLIER_COUNTERS = [
  'requestsReceived',
  'requestsAnswered',
  'requestErrors',
  'requestsRefused',
  'requestsUnmatched',
  'requestsExpired',
] as const satisfies readonly (keyof TopicStats)[]

/** The counters of request/reply's requester side (`Requester`). */
export const REQUESTER_COUNTERS = [
  'requestsSent',
  'requestReplies',
  'requestTimeouts',
  'requestFailovers',
  'replyDropUnknown',
  'replyDropUnasked',
] as const satisfies readonly (keyof TopicStats)[]

/** Every counter of request/reply (they live in `request-reply.ts`, which fills them into `stats()`). */
export const REQUEST_REPLY_COUNTERS = [...REPLIER_COUNTERS, ...REQUESTER_COUNTERS, 'replySendFailures'] as const

/** The named counters of {@link TopicStats}, each 0. */
export function zeroCounters<K extends keyof TopicStats>(names: readonly K[]): Pick<TopicStats, K> {
  const counts = {} as Pick<TopicStats, K>
  for (const name of names) counts[name] = 0
  return counts
}
