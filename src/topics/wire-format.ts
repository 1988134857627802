/**
 * The topic layer's messages, carried as the payload of glue's reliable or best-effort messages. Version 1; all
 * integers unsigned and little-endian, like the rest of glue's protocol; strings are UTF-8 with a length in front.
 * Every message starts with the same four bytes:
 *
 * ```text
 *  0               1               2               3
 * +---------------+---------------+---------------+---------------+
 * |  version = 1  |     kind      |     flags     | codec / 0     |
 * +---------------+---------------+---------------+---------------+
 * ```
 *
 * Kinds: 1 PUBLISH (a live publication), 2 HISTORY (one stream's stored publications: for a late joiner, or a repair
 * answer), 3 DIGEST (what the sender has, per stream, exchanged after a partition), 4 REPAIR (numbers requested),
 * 5 DIRECT (a message of a layer above to one peer, outside any stream: Raft's messages), 6 REQUEST and 7 REPLY
 * (request/reply, see `wire-reqrep.ts`).
 * Decoding is strict: a wrong version or kind, unknown flag bits, a non-zero reserved byte, a length past the end,
 * trailing bytes, invalid UTF-8, an invalid topic or type name, a reserved codec id, out-of-order records or ranges
 * all throw a {@link TopicWireError}; receivers drop the message and count it.
 *
 * A *publisher* is an endpoint ID (u64, shown as 16 hex digits) plus an *epoch* (u32, random per start of its topic
 * layer), so that a restarted publisher's sequence numbers, which start at 1 again, never mix with the old ones.
 * Inside glue a publisher is a string key, see {@link publisherKey}.
 */
import { CodecId, MIN_CUSTOM_CODEC_ID } from './codec'
import type { StreamDigest, StreamRanges } from './sequence-tracker'
import type { ReplyMessage, RequestMessage } from './wire-reqrep'

/** Format version. */
export const TOPIC_WIRE_VERSION = 1

/** Message kinds. */
export const TopicKind = { PUBLISH: 1, HISTORY: 2, DIGEST: 3, REPAIR: 4, DIRECT: 5, REQUEST: 6, REPLY: 7 } as const

/** Flag of PUBLISH and of HISTORY records: the publication is to be retained. */
export const RETAIN_FLAG = 0x01
/** Flag of PUBLISH and of HISTORY records: the payload is sealed with a topic key (see `topic-keys.ts`). */
export const SEALED_FLAG = 0x02

/** Lifespan value meaning "no lifespan". */
export const NO_LIFESPAN = 0xffffffff

/** The fields of a publication that PUBLISH and HISTORY records share. */
export interface PublicationFields {
  /** Sequence number in the (publisher, topic) stream, 1..2^53-1. */
  readonly seq: number
  /** Publisher's timestamp, ms since the Unix epoch, a safe integer >= 0. */
  readonly timestamp: number
  /** Remaining lifespan, ms (> 0; rounded up; capped at 0xfffffffe); Infinity for none. */
  readonly lifespanMs: number
  /** To be retained as the topic's last value. */
  readonly retain: boolean
  /** The payload is sealed with a topic key (flag 0x02); absent: false. */
  readonly sealed?: boolean
  /** Codec id (see `CodecId`): 0..2 or 128..255. */
  readonly codec: number
  /** The encoded value. */
  readonly payload: Uint8Array
}

/**
 * PUBLISH (kind 1): a live publication; the publisher's endpoint ID is the glue sender's. Flags: 0x01 retain, 0x02
 * sealed (the payload is sealed with a topic key, see `topic-keys.ts`).
 *
 * ```text
 * +-------+-------+-------+-------+-------------------------------+
 * | 1     | 1     | flags | codec |        epoch (u32)            |
 * +-------+-------+-------+-------+-------------------------------+
 * |                     sequence number (u64)                     |
 * +---------------------------------------------------------------+
 * |                 timestamp, ms since 1970 (u64)                |
 * +-------------------------------+---------------+---------------+
 * | lifespan, ms (u32; ffffffff)  |  depth (u16)  | topic len u16 |
 * +-------+-----------------------+---------------+---------------+
 * |typelen| topic (UTF-8) ... | type (UTF-8, 0..255) ... | payload (to the end) ...
 * +-------+--------------------------------------------------------
 * ```
 */
export interface PublishMessage extends PublicationFields {
  /** Message kind. */
  readonly kind: 'publish'
  /** The publisher's epoch. */
  readonly epoch: number
  /** The publisher's history depth for the topic (receivers may cache as many), 0..65535. */
  readonly depth: number
  /** Topic name (names starting with `$` allowed). */
  readonly topic: string
  /** Type name; '' for an untyped topic. */
  readonly type: string
}

/** One record of a HISTORY message. */
export type HistoryRecordFields = PublicationFields

/**
 * HISTORY (kind 2): stored publications of one stream, oldest first, from the publisher or from any endpoint that
 * holds them. Flags and the reserved byte: 0. `firstAvailable` is the oldest number the sender holds for the stream
 * (0: none), so a late joiner can give up what is older.
 *
 * ```text
 * +-------+-------+-------+-------+
 * | 1     | 2     | 0     | 0     |
 * +-------+-------+-------+-------+-------------------------------+
 * |                  publisher endpoint ID (u64)                  |
 * +-------------------------------+-------------------------------+
 * |  publisher epoch (u32)        |
 * +-------------------------------+-------------------------------+
 * |                   first available (u64)                       |
 * +---------------+---------------+-------+-----------------------+
 * |  depth (u16)  | topic len u16 |typelen| topic ... | type ... |
 * +---------------+---------------+-------+-----------------------+
 * | record count (u16) | records ...
 * record: flags u8 | codec u8 | seq u64 | timestamp u64 | lifespan u32 | payload length u32 | payload
 * ```
 * Records are in strictly increasing sequence order.
 */
export interface HistoryMessage {
  /** Message kind. */
  readonly kind: 'history'
  /** Publisher key (see {@link publisherKey}). */
  readonly publisher: string
  /** Oldest number the sender holds for this stream; 0 for none. */
  readonly firstAvailable: number
  /** The publisher's history depth for the topic. */
  readonly depth: number
  /** Topic name. */
  readonly topic: string
  /** Type name; '' for an untyped topic. */
  readonly type: string
  /** The records, oldest first. */
  readonly records: readonly HistoryRecordFields[]
}

/**
 * DIGEST (kind 3): per stream, the highest contiguous number and the ranges received above it.
 * REPAIR (kind 4): per stream, the ranges requested. Flags and the reserved byte: 0.
 *
 * ```text
 * +-------+-------+-------+-------+---------------+
 * | 1     | 3 / 4 | 0     | 0     | count (u16)   | entries ...
 * +-------+-------+-------+-------+---------------+
 * entry: publisher ID u64 | epoch u32 | topic len u16 | topic | [DIGEST only: contiguous u64]
 *        | range count u16 | ranges: (first u64, last u64) ...
 * ```
 * Ranges are non-empty, in increasing order, disjoint, and (in a DIGEST) above `contiguous`.
 */
export interface DigestMessage {
  /** Message kind. */
  readonly kind: 'digest'
  /** One entry per stream. */
  readonly streams: readonly StreamDigest[]
}

/** REPAIR (kind 4), see {@link DigestMessage} for the layout. */
export interface RepairMessage {
  /** Message kind. */
  readonly kind: 'repair'
  /** One entry per stream. */
  readonly streams: readonly StreamRanges[]
}

/**
 * DIRECT (kind 5): a message of a layer above the topics (the consensus layer) to one peer, on a *channel* (a reserved
 * `$glue/...` name) that a handler on the receiver claims: no sequence number, no history, no interest summary, no
 * subscription matching — the lowest-cost way through the topic layer for point-to-point traffic whose layer keeps
 * its own order and retries (Raft). Not sealed with topic keys (the network key seals every datagram). A DIRECT on a
 * channel nobody claims is dropped and counted (`topicDirectUnclaimed`). Flags and the reserved byte: 0.
 *
 * ```text
 * +-------+-------+-------+-------+---------------+
 * | 1     | 5     | 0     | 0     | channel len   | channel (UTF-8) ... | payload (to the end) ...
 * +-------+-------+-------+-------+---------------+
 * ```
 */
export interface DirectMessage {
  /** Message kind. */
  readonly kind: 'direct'
  /** The channel: a reserved topic name (`$glue/...`). */
  readonly channel: string
  /** The layer's bytes (a view). */
  readonly payload: Uint8Array
}

/** Any decoded topic-layer message. */
export type TopicWireMessage =
  | PublishMessage
  | HistoryMessage
  | DigestMessage
  | RepairMessage
  | DirectMessage
  | RequestMessage
  | ReplyMessage

const KEY = /^([0-9a-f]{16})\.([0-9a-f]{8})$/

/** The last key made per endpoint ID (bounded): one string per publisher, not one per publication. */
const KEYS = new Map<string, { readonly epoch: number; readonly key: string }>()
const MAX_KEYS = 4096

/** The string key of a publisher: `<16 hex digits of the endpoint ID>.<8 hex digits of the epoch>`. */
export function publisherKey(id: string, epoch: number): string {
  const known = KEYS.get(id)
  if (known !== undefined && known.epoch === epoch) return known.key
  const key = `${id.toLowerCase()}.${(epoch >>> 0).toString(16).padStart(8, '0')}`
  if (KEYS.size >= MAX_KEYS) KEYS.clear()
  KEYS.set(id, { epoch, key })
  return key
}

/** Splits a publisher key; throws TypeError on anything else. */
export function parsePublisherKey(key: string): { id: string; epoch: number } {
  const match = KEY.exec(key)
  if (match === null) throw new TypeError(`not a publisher key: ${JSON.stringify(key)}`)
  return { id: match[1], epoch: Number.parseInt(match[2], 16) }
}

/** True for the codec ids a message may carry: the built-in ones (0..2) and custom ones (128..255). */
export const knownCodec = (id: number): boolean => id <= CodecId.MSGPACK || id >= MIN_CUSTOM_CODEC_ID
