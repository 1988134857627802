/**
 * Counters of the model layer, summed over every replicated object of an endpoint (part of `ep.stats()`).
 */

/** See the module doc. */
export interface ModelCounts {
  /** DELTA messages published (one per tick with writes, or more for large ones). */
  modelDeltasSent: number
  /** DELTA messages received and applied. */
  modelDeltasReceived: number
  /** DIGEST messages published. */
  modelDigestsSent: number
  /** WANT messages sent (catch-up requests). */
  modelWantsSent: number
  /** WANT messages answered. */
  modelPushesSent: number
  /** Entries received in answers to WANTs. */
  modelEntriesPulled: number
  /** Bucket comparisons started. */
  modelBucketExchanges: number
  /** Model messages dropped as malformed or inconsistent. */
  modelMalformed: number
  /** Model messages whose publication failed (repaired by the digest exchange). */
  modelSendFailures: number
  /** Entries held back because their timestamp was too far ahead of this clock. */
  modelHeldAhead: number
  /**
   * Tombstones collected: once every member reported seeing the delete (or after the horizon), or because a member
   * that collected one showed in a bucket comparison that it no longer holds it.
   */
  modelTombstonesCollected: number
  /** Values that could not be decoded for a change event (the event shows undefined; `get()` throws CodecError). */
  modelDecodeErrors: number
  /** Change events dropped because a `changes()` iterator was full. */
  modelChangeDrops: number
}

/** All counters zero. */
export function zeroModelCounts(): ModelCounts {
  return {
    modelDeltasSent: 0,
    modelDeltasReceived: 0,
    modelDigestsSent: 0,
    modelWantsSent: 0,
    modelPushesSent: 0,
    modelEntriesPulled: 0,
    modelBucketExchanges: 0,
    modelMalformed: 0,
    modelSendFailures: 0,
    modelHeldAhead: 0,
    modelTombstonesCollected: 0,
    modelDecodeErrors: 0,
    modelChangeDrops: 0,
  }
}
