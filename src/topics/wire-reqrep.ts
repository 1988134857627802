/**
 * The request/reply messages of the topic layer (kinds 6 and 7, see `wire-format.ts` for the common first bytes):
 * REQUEST carries a value to one replier, REPLY carries its answer (or an error, "no replier here", "busy") back.
 * Both travel reliably by unicast, from the requester to a peer that advertises a replier whose filter may match the
 * topic (announcement extension 0x11, see `repliers.ts`), and back. Decoding is strict, as for the other kinds.
 */
import { TopicWireError } from './errors'
import { validateTopicName } from './topic-name'
import { knownCodec, TOPIC_WIRE_VERSION, TopicKind } from './wire-format'
import { type Reader, utf8Length, Writer } from './wire-io'

/** Kind of REQUEST messages. */
export const REQUEST_KIND = TopicKind.REQUEST
/** Kind of REPLY messages. */
export const REPLY_KIND = TopicKind.REPLY

/** REPLY flags (at most one is set; none: a value). */
export const ReplyFlag = {
  /** The replier threw: the payload is its error message (UTF-8, codec 0). */
  ERROR: 0x01,
  /** No replier of the receiving endpoint matches the topic (a false positive of its summary): payload empty. */
  NONE: 0x02,
  /** The replier's concurrency bound and queue are full: refused, payload a UTF-8 message (codec 0). */
  BUSY: 0x04,
} as const

/** Largest REQUEST timeout on the wire, ms. */
export const MAX_REQUEST_TIMEOUT_MS = 0xffffffff

/**
 * REQUEST (kind 6): a value for one replier. `request id`: 8 random bytes chosen by the requester, echoed by the
 * REPLY; `timeout`: how long the requester still waits, ms (1..2^32-1): the replier drops the request (without
 * calling its handler) when it has waited that long in its queue. Flags 0.
 *
 * ```text
 * +-------+-------+-------+-------+
 * | 1     | 6     | 0     | codec |
 * +-------+-------+-------+-------+-------------------------------+
 * |                     request id (8 bytes)                      |
 * +-------------------------------+---------------+---------------+
 * |  timeout, ms (u32, >= 1)      | topic len u16 | topic (UTF-8) ...
 * +-------------------------------+---------------+----------------
 * | payload (to the end) ...
 * +---------------------------------------------------------------
 * ```
 */
export interface RequestMessage {
  /** Message kind. */
  readonly kind: 'request'
  /** The request id, 16 hex digits (the 8 bytes read as a little-endian u64). */
  readonly id: string
  /** Codec id of the payload. */
  readonly codec: number
  /** How long the requester waits, ms. */
  readonly timeoutMs: number
  /** The topic (not a reserved `$` name). */
  readonly topic: string
  /** The encoded value (a view). */
  readonly payload: Uint8Array
}

/**
 * REPLY (kind 7): the answer to the REQUEST with the same id, sent only to its requester. Flags: none (a value in
 * `codec`), `01` error (the handler threw; the payload is its message in UTF-8, codec 0), `02` none (no replier of
 * the sender matches the topic; empty payload, codec 0), `04` busy (refused; a UTF-8 message, codec 0).
 *
 * ```text
 * +-------+-------+-------+-------+
 * | 1     | 7     | flags | codec |
 * +-------+-------+-------+-------+-------------------------------+
 * |                     request id (8 bytes)                      |
 * +---------------------------------------------------------------+
 * | payload (to the end) ...
 * +---------------------------------------------------------------
 * ```
 */
export interface ReplyMessage {
  /** Message kind. */
  readonly kind: 'reply'
  /** The id of the request answered. */
  readonly id: string
  /** 0, or one of {@link ReplyFlag}. */
  readonly flags: number
  /** Codec id of the payload (0 for the flagged replies). */
  readonly codec: number
  /** The encoded value, or the UTF-8 message (a view). */
  readonly payload: Uint8Array
}

const ID = /^[0-9a-f]{16}$/

function checkId(id: string): void {
  if (!ID.test(id)) throw new RangeError(`a request id is 16 lowercase hex digits, not ${JSON.stringify(id)}`)
}

function checkCodec(codec: number): void {
  if (!Number.isInteger(codec) || codec < 0 || codec > 255 || !knownCodec(codec)) {
    throw new RangeError(`codec id must be 0..2 or 128..255, not ${codec}`)
  }
}

/** Encodes a REQUEST after `prefix` (the topic envelope). Throws TopicError, RangeError on invalid fields. */
export function encodeRequest(m: Omit<RequestMessage, 'kind'>, prefix: Uint8Array): Buffer {
  checkId(m.id)
  checkCodec(m.codec)
  validateTopicName(m.topic)
  if (!Number.isInteger(m.timeoutMs) || m.timeoutMs < 1 || m.timeoutMs > MAX_REQUEST_TIMEOUT_MS) {
    throw new RangeError(`timeoutMs must be 1..${MAX_REQUEST_TIMEOUT_MS}, not ${m.timeoutMs}`)
  }
  const topicBytes = utf8Length(m.topic)
  const w = new Writer(prefix.length + 18 + topicBytes + m.payload.length)
  w.bytes(prefix)
  w.u8(TOPIC_WIRE_VERSION)
  w.u8(REQUEST_KIND)
  w.u8(0)
  w.u8(m.codec)
  w.id(m.id)
  w.u32(m.timeoutMs)
  w.u16(topicBytes)
  w.text(m.topic)
  w.bytes(m.payload)
  return w.data
}

/** Encodes a REPLY after `prefix` (the topic envelope). Throws RangeError on invalid fields. */
export function encodeReply(m: Omit<ReplyMessage, 'kind'>, prefix: Uint8Array): Buffer {
  checkId(m.id)
  checkCodec(m.codec)
  if (m.flags !== 0 && m.flags !== ReplyFlag.ERROR && m.flags !== ReplyFlag.NONE && m.flags !== ReplyFlag.BUSY) {
    throw new RangeError(`bad REPLY flags ${m.flags}`)
  }
  if (m.flags !== 0 && m.codec !== 0) throw new RangeError('a flagged REPLY has codec 0')
  const w = new Writer(prefix.length + 12 + m.payload.length)
  w.bytes(prefix)
  w.u8(TOPIC_WIRE_VERSION)
  w.u8(REPLY_KIND)
  w.u8(m.flags)
  w.u8(m.codec)
  w.id(m.id)
  w.bytes(m.payload)
  return w.data
}

/** The rest of a REQUEST after its first four bytes (`r` positioned after them). */
export function decodeRequest(r: Reader, flags: number, codec: number): RequestMessage {
  if (flags !== 0) throw new TopicWireError(`unknown flags ${flags}`, 2)
  if (!knownCodec(codec)) throw new TopicWireError(`reserved codec id ${codec}`, 3)
  const id = r.id('request id')
  const timeoutMs = r.u32('timeout')
  if (timeoutMs === 0) throw new TopicWireError('timeout 0', r.offset - 4)
  const topicBytes = r.u16('topic length')
  const at = r.offset
  const topic = r.text(topicBytes, 'topic')
  try {
    validateTopicName(topic)
  } catch (err) {
    throw new TopicWireError((err as Error).message, at, { cause: err })
  }
  return { kind: 'request', id, codec, timeoutMs, topic, payload: r.bytes(r.remaining, 'payload') }
}

/** The rest of a REPLY after its first four bytes. */
export function decodeReply(r: Reader, flags: number, codec: number): ReplyMessage {
  if (flags !== 0 && flags !== ReplyFlag.ERROR && flags !== ReplyFlag.NONE && flags !== ReplyFlag.BUSY) {
    throw new TopicWireError(`unknown flags ${flags}`, 2)
  }
  if (!knownCodec(codec) || (flags !== 0 && codec !== 0)) throw new TopicWireError(`bad codec id ${codec}`, 3)
  const id = r.id('request id')
  return { kind: 'reply', id, flags, codec, payload: r.bytes(r.remaining, 'payload') }
}
