/**
 * The last step of receiving: a publication that is in order, new and alive goes to every matching subscription that
 * accepts its type and QoS, decoded once per codec; what does not fit is counted.
 */
import { builtInCodec, type Codec, decodeValue } from './codec'
import { TopicMessage } from './message'
import type { TopicStats } from './stats'
import type { Subscription } from './subscription'
import type { PublicationFields } from './wire'

/** A publication on its way to the subscriptions (possibly held back by the sequence tracker first). */
export interface Pending {
  /** Publisher key (endpoint ID and epoch). */
  readonly publisher: string
  /** The publisher's endpoint ID. */
  readonly from: string
  /** Topic name. */
  readonly topic: string
  /** Type name ('' untyped). */
  readonly type: string
  /** Sequence number, timestamp, codec, payload... */
  readonly record: PublicationFields
  /** When its lifespan ends, on the monotonic clock (ms). */
  readonly expiresAt: number
  /** Came through a reliable channel (or as a replay). */
  readonly reliable: boolean
  /** Came from a history, cache or repair answer. */
  readonly replayed: boolean
  /** The endpoint it came from (the publisher, or the peer that relayed it from its history or cache). */
  readonly sender: string
}

/** A {@link Pending} (always built here, so that every one has the same shape). */
export function pending(
  publisher: string,
  from: string,
  topic: string,
  type: string,
  record: PublicationFields,
  expiresAt: number,
  reliable: boolean,
  replayed: boolean,
  sender: string = from,
): Pending {
  return { publisher, from, topic, type, record, expiresAt, reliable, replayed, sender }
}

const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

/**
 * Hands `item` to each of `subs` that matches it; `nameOf` names the publisher. Counts into `counts`. Under topic keys
 * `open` gives the plain payload (undefined: dropped), once, when the first subscription matches.
 */
export function deliver(
  item: Pending,
  subs: Iterable<Subscription<unknown>>,
  counts: TopicStats,
  nameOf: (id: string) => string,
  open?: (item: Pending) => Buffer | undefined,
): void {
  let decoded: Map<Codec<never, unknown>, unknown> | undefined
  let payload: Buffer | undefined = open === undefined ? asBuffer(item.record.payload) : undefined
  for (const sub of subs) {
    if (!sub.matcher.matches(item.topic)) continue
    if (payload === undefined) {
      payload = (open as (item: Pending) => Buffer | undefined)(item)
      if (payload === undefined) return
    }
    if (sub.type !== undefined && sub.type !== item.type) {
      counts.topicTypeMismatch++
      continue
    }
    if (sub.reliable && !item.reliable) {
      counts.topicQosMismatch++
      continue
    }
    const id = item.record.codec
    const codec = builtInCodec(id) ?? (sub.codec?.id === id ? sub.codec : undefined)
    if (codec === undefined) {
      counts.topicDecodeErrors++
      continue
    }
    decoded ??= new Map()
    if (!decoded.has(codec)) {
      try {
        decoded.set(codec, decodeValue(codec, item.topic, payload))
      } catch {
        counts.topicDecodeErrors++
        continue
      }
    }
    counts.topicDelivered++
    const { seq, timestamp, retain } = item.record
    const { topic, type, from, replayed, reliable } = item
    const value = decoded.get(codec)
    const fromName = nameOf(from)
    const fields = { topic, value, payload, type, from, fromName, seq, timestamp, retained: retain, replayed, reliable }
    sub.deliver(new TopicMessage(fields))
  }
}
