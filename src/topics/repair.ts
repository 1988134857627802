/**
 * Gap filling between endpoints: what to tell a peer we have (DIGEST), and how to answer a peer's REPAIR request
 * with HISTORY messages from the history cache (own publications and cached ones). The exchange:
 *
 * 1. On peer up, or when a peer's interest summary changed, each endpoint sends it a DIGEST of the streams the peer
 *    may want: per (publisher, topic), the highest contiguous number and the ranges above it.
 * 2. The peer compares it with its own sequence tracker and asks for what it lacks with a REPAIR.
 * 3. The answer is one HISTORY message per stream with the records held. A publisher answering for its own stream
 *    also says from which number on it holds records (`firstAvailable`), so the asker gives up older ones at once.
 */
import type { HistoryCache, HistoryRecord } from './history'
import type { LocalStreams } from './local-streams'
import type { SequenceTracker, StreamDigest, StreamRanges } from './sequence-tracker'
import type { HistoryMessage } from './wire-format'

/** What the history cache keeps beside each record's payload. */
export interface StoredMeta {
  /** Codec id. */
  readonly codec: number
  /** Type name ('' untyped). */
  readonly type: string
  /** The publisher's history depth for the topic. */
  readonly depth: number
  /** The payload is sealed with a topic key (kept and relayed as it is). */
  readonly sealed: boolean
}

/** Most streams per DIGEST or REPAIR message, most records per HISTORY message. */
export const MAX_ENTRIES = 1000

/** Splits a list into chunks of at most {@link MAX_ENTRIES}. */
export function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += MAX_ENTRIES) out.push(items.slice(i, i + MAX_ENTRIES))
  return out
}

/** The streams of `tracker` that a peer may want (`wants`), except those the peer published itself. */
export function digestFor(
  tracker: SequenceTracker<unknown>,
  peerId: string,
  wants: (topic: string) => boolean,
): StreamDigest[] {
  return tracker.digest({ include: (publisher, topic) => !publisher.startsWith(peerId) && wants(topic) })
}

/** The records held for the ranges of one stream, the retained value included, in sequence order. */
function held(history: HistoryCache, stream: StreamRanges): HistoryRecord[] {
  const records = stream.ranges.flatMap(([first, last]) => history.range(stream.topic, stream.publisher, first, last))
  const retained = history.retained(stream.topic)
  if (
    retained !== undefined &&
    retained.publisher === stream.publisher &&
    stream.ranges.some(([first, last]) => retained.seq >= first && retained.seq <= last) &&
    !records.some((r) => r.seq === retained.seq)
  ) {
    records.push(retained)
    records.sort((a, b) => a.seq - b.seq)
  }
  return records
}

/**
 * The HISTORY messages answering a REPAIR request (`now` on the cache's clock). For its own streams (`ownKey`) this
 * endpoint answers even when it holds nothing, so the asker gives up at once; for others' streams only what it holds.
 */
export function answerRepair(
  request: readonly StreamRanges[],
  history: HistoryCache,
  local: LocalStreams,
  ownKey: string,
  now: number,
): Omit<HistoryMessage, 'kind'>[] {
  const out: Omit<HistoryMessage, 'kind'>[] = []
  for (const stream of request) {
    const own = stream.publisher === ownKey
    const records = held(history, stream).filter((r) => r.expiresAt > now)
    const mine = own ? local.get(stream.topic) : undefined
    if (records.length === 0 && mine === undefined) continue
    const meta = records[0]?.meta as StoredMeta | undefined
    const oldest = [...history.history(stream.topic, stream.publisher), history.retained(stream.topic)]
      .filter((r): r is HistoryRecord => r !== undefined && r.publisher === stream.publisher)
      .reduce((min, r) => Math.min(min, r.seq), Infinity)
    // Numbers above the request may still be on their way: never tell the asker to give those up.
    const asked = stream.ranges.reduce((max, [, last]) => Math.max(max, last), 0)
    const firstAvailable = mine !== undefined ? Math.min(oldest, mine.seq + 1, asked + 1) : records[0].seq
    const fields = records.map((r) => ({
      seq: r.seq,
      timestamp: r.timestamp,
      lifespanMs: r.expiresAt === Infinity ? Infinity : r.expiresAt - now,
      retain: r.retain,
      sealed: (r.meta as StoredMeta).sealed,
      codec: (r.meta as StoredMeta).codec,
      payload: r.data,
    }))
    const type = mine?.type ?? meta?.type ?? ''
    const depth = mine?.depth ?? meta?.depth ?? 0
    const batches = fields.length === 0 ? [[]] : chunks(fields)
    for (const batch of batches) {
      out.push({ publisher: stream.publisher, firstAvailable, depth, topic: stream.topic, type, records: batch })
    }
  }
  return out
}
