/**
 * The last step of receiving: a publication that is in order, new and alive goes to every matching subscription that
 * accepts its type and QoS, decoded once per codec; what does not fit is counted.
 */
import { builtInCodec, type Codec, decodeValue, rawCodec } from './codec'
import { TopicMessage, type TopicMessageFields } from './message'
import type { TopicStats } from './stats'
import type { Subscription } from './subscription'
import type { SubscriptionSet } from './subscription-set'
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

/** The fields of the message being made (filled, then copied by the constructor: no object per message). */
const FIELDS: TopicMessageFields<unknown> = {
  topic: '',
  value: undefined,
  payload: Buffer.alloc(0),
  type: '',
  codec: 0,
  from: '',
  fromName: '',
  seq: 0,
  timestamp: 0,
  retained: false,
  replayed: false,
  reliable: false,
}

/**
 * Hands `item` to each of `subs` that matches its topic (`matched`: all of them do; ended ones are skipped);
 * `nameOf` names the publisher. When `live` is given, `subs` are those of `live` that matched at version `version`:
 * if a callback adds a subscription meanwhile, the ones added get it too, as they would iterating `live` itself.
 * Counts into `counts`. Under topic keys `open` gives the plain payload (undefined: dropped), once, when the first
 * subscription matches.
 */
export function deliver(
  item: Pending,
  subs: readonly Subscription<unknown>[],
  matched: boolean,
  live: SubscriptionSet | undefined,
  version: number,
  counts: TopicStats,
  nameOf: (id: string) => string,
  open?: (item: Pending) => Buffer | undefined,
): void {
  // Decoded once per codec: the built-in one of the id (all subscriptions share it), or custom ones (by object).
  let firstCodec: Codec<never, unknown> | undefined
  let firstValue: unknown
  let others: Map<Codec<never, unknown>, unknown> | undefined
  let payload: Buffer | undefined = open === undefined ? asBuffer(item.record.payload) : undefined
  let fromName: string | undefined
  let i = 0
  let late: Iterator<Subscription<unknown>> | undefined
  for (;;) {
    let sub: Subscription<unknown>
    if (i < subs.length) {
      sub = subs[i++]
      if (matched ? sub.ended : !sub.matcher.matches(item.topic)) continue
    } else {
      if (late === undefined) {
        if (live === undefined || live.version === version) return
        late = live.all[Symbol.iterator]()
      }
      const next = late.next()
      if (next.done === true) return
      sub = next.value
      if (subs.includes(sub) || !sub.matcher.matches(item.topic)) continue
    }
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
    if (sub.codec !== undefined && sub.codec.id !== id) {
      counts.topicCodecMismatch++
      continue
    }
    const codec = sub.codec ?? builtInCodec(id)
    if (codec === undefined) {
      counts.topicDecodeErrors++
      continue
    }
    let value: unknown
    if (codec === firstCodec) value = firstValue
    else if (others?.has(codec) === true) value = others.get(codec)
    else {
      try {
        // The raw codec's value is the payload itself (a Buffer already).
        value = codec === rawCodec ? payload : decodeValue(codec, item.topic, payload)
      } catch {
        counts.topicDecodeErrors++
        continue
      }
      if (firstCodec === undefined) {
        firstCodec = codec
        firstValue = value
      } else (others ??= new Map()).set(codec, value)
    }
    counts.topicDelivered++
    const f = FIELDS as { -readonly [K in keyof TopicMessageFields<unknown>]: TopicMessageFields<unknown>[K] }
    f.topic = item.topic
    f.value = value
    f.payload = payload
    f.type = item.type
    f.codec = id
    f.from = item.from
    f.fromName = fromName ??= nameOf(item.from)
    f.seq = item.record.seq
    f.timestamp = item.record.timestamp
    f.retained = item.record.retain
    f.replayed = item.replayed
    f.reliable = item.reliable
    sub.deliver(new TopicMessage(FIELDS))
  }
}
