/**
 * Encoding and decoding of the topic layer's messages (PUBLISH, HISTORY, DIGEST, REPAIR, DIRECT; REQUEST and REPLY
 * are encoded in `wire-reqrep.ts`). The format, with a bit diagram per message, is specified in `wire-format.ts`,
 * whose exports this module re-exports; the decoder of every kind lives in `wire-decode.ts`. Hex test vectors:
 * docs/PROTOCOL.md (checked by `__test__/topics-wire.spec.ts` and `__test__/request-reply-wire.spec.ts`).
 */
import type { SeqRange, StreamDigest, StreamRanges } from './sequence-tracker'
import { validateTopicName, validateTypeName } from './topic-name'
import {
  knownCodec,
  NO_LIFESPAN,
  parsePublisherKey,
  RETAIN_FLAG,
  SEALED_FLAG,
  TOPIC_WIRE_VERSION,
  TopicKind,
} from './wire-format'
import type { HistoryMessage, PublicationFields, PublishMessage } from './wire-format'
import { utf8Length, Writer } from './wire-io'

export * from './wire-format'
export { decodeTopicMessage } from './wire-decode'

const MAX_U16 = 0xffff
const NO_PREFIX = new Uint8Array(0)

/** A writer for a message of `size` bytes that starts with `prefix` (e.g. the topic envelope, see envelope.ts). */
function writer(size: number, prefix: Uint8Array): Writer {
  const w = new Writer(prefix.length + size)
  w.bytes(prefix)
  return w
}

/** Validates the names of a message; returns their UTF-8 lengths. */
function checkNames(topic: string, type: string): { topicBytes: number; typeBytes: number } {
  validateTopicName(topic, { reserved: true })
  if (type !== '') validateTypeName(type)
  return { topicBytes: utf8Length(topic), typeBytes: utf8Length(type) }
}

/** Validates a publication's fields; returns the lifespan as sent. */
function checkPublication(p: PublicationFields): number {
  if (!Number.isSafeInteger(p.seq) || p.seq < 1) throw new RangeError(`seq must be a positive safe integer: ${p.seq}`)
  if (!Number.isSafeInteger(p.timestamp) || p.timestamp < 0) throw new RangeError(`bad timestamp ${p.timestamp}`)
  if (!(p.lifespanMs > 0)) throw new RangeError(`lifespanMs must be > 0, not ${p.lifespanMs}`)
  if (!Number.isInteger(p.codec) || p.codec < 0 || p.codec > 255 || !knownCodec(p.codec)) {
    throw new RangeError(`codec id must be 0..2 or 128..255, not ${p.codec}`)
  }
  return p.lifespanMs === Infinity ? NO_LIFESPAN : Math.min(NO_LIFESPAN - 1, Math.ceil(p.lifespanMs))
}

/** Throws RangeError unless `value` fits a u16. */
function checkU16(name: string, value: number): void {
  if (Number.isInteger(value) && value >= 0 && value <= MAX_U16) return
  throw new RangeError(`${name} must be 0..65535, not ${value}`)
}

/** Bytes of a PUBLISH message with these names and payload size (what `encodePublish` writes after its prefix). */
export function publishSize(topic: string, type: string, payloadBytes: number): number {
  return 33 + utf8Length(topic) + utf8Length(type) + payloadBytes
}

/**
 * Encodes a PUBLISH message (copies the payload), after `prefix` (default none). Throws TopicError or RangeError on
 * invalid fields.
 */
export function encodePublish(m: Omit<PublishMessage, 'kind'>, prefix: Uint8Array = NO_PREFIX): Buffer {
  const lifespan = checkPublication(m)
  const { topicBytes, typeBytes } = checkNames(m.topic, m.type)
  checkU16('depth', m.depth)
  if (!Number.isInteger(m.epoch) || m.epoch < 0 || m.epoch > 0xffffffff) throw new RangeError(`bad epoch ${m.epoch}`)
  const w = writer(33 + topicBytes + typeBytes + m.payload.length, prefix) // = publishSize(...)
  w.u8(TOPIC_WIRE_VERSION)
  w.u8(TopicKind.PUBLISH)
  w.u8((m.retain ? RETAIN_FLAG : 0) | (m.sealed === true ? SEALED_FLAG : 0))
  w.u8(m.codec)
  w.u32(m.epoch)
  w.u64(m.seq)
  w.u64(m.timestamp)
  w.u32(lifespan)
  w.u16(m.depth)
  w.u16(topicBytes)
  w.u8(typeBytes)
  w.text(m.topic)
  w.text(m.type)
  w.bytes(m.payload)
  return w.data
}

/**
 * Encodes a HISTORY message (copies the payloads), after `prefix` (default none). Throws TopicError, RangeError or
 * TypeError on invalid fields.
 */
export function encodeHistory(m: Omit<HistoryMessage, 'kind'>, prefix: Uint8Array = NO_PREFIX): Buffer {
  const { id, epoch } = parsePublisherKey(m.publisher)
  const { topicBytes, typeBytes } = checkNames(m.topic, m.type)
  checkU16('depth', m.depth)
  checkU16('record count', m.records.length)
  if (!Number.isSafeInteger(m.firstAvailable) || m.firstAvailable < 0) throw new RangeError('bad firstAvailable')
  let size = 4 + 8 + 4 + 8 + 2 + 2 + 1 + topicBytes + typeBytes + 2
  const lifespans = m.records.map((record, i) => {
    if (i > 0 && record.seq <= m.records[i - 1].seq) throw new RangeError('records must be in increasing seq order')
    size += 26 + record.payload.length
    return checkPublication(record)
  })
  const w = writer(size, prefix)
  w.u8(TOPIC_WIRE_VERSION)
  w.u8(TopicKind.HISTORY)
  w.u16(0)
  w.id(id)
  w.u32(epoch)
  w.u64(m.firstAvailable)
  w.u16(m.depth)
  w.u16(topicBytes)
  w.u8(typeBytes)
  w.text(m.topic)
  w.text(m.type)
  w.u16(m.records.length)
  m.records.forEach((record, i) => {
    w.u8((record.retain ? RETAIN_FLAG : 0) | (record.sealed === true ? SEALED_FLAG : 0))
    w.u8(record.codec)
    w.u64(record.seq)
    w.u64(record.timestamp)
    w.u32(lifespans[i])
    w.u32(record.payload.length)
    w.bytes(record.payload)
  })
  return w.data
}

/** Checks ranges for encoding: non-empty, increasing, disjoint, above `floor`, safe integers. */
function checkRanges(ranges: readonly SeqRange[], floor: number): void {
  checkU16('range count', ranges.length)
  let previous = floor
  for (const [first, last] of ranges) {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first <= previous || last < first) {
      throw new RangeError(`ranges must be increasing, disjoint and above ${floor}: [${first}, ${last}]`)
    }
    previous = last
  }
}

/** Encodes a DIGEST (entries with `contiguous`) or a REPAIR, after `prefix`. */
function encodeStreams(
  kind: number,
  streams: readonly (StreamRanges & { contiguous?: number })[],
  prefix: Uint8Array,
): Buffer {
  checkU16('stream count', streams.length)
  let size = 6
  const parsed = streams.map((s) => {
    const publisher = parsePublisherKey(s.publisher)
    validateTopicName(s.topic, { reserved: true })
    const contiguous = s.contiguous ?? 0
    if (!Number.isSafeInteger(contiguous) || contiguous < 0) throw new RangeError(`bad contiguous ${contiguous}`)
    checkRanges(s.ranges, contiguous)
    const topicBytes = utf8Length(s.topic)
    size += 8 + 4 + 2 + topicBytes + (kind === TopicKind.DIGEST ? 8 : 0) + 2 + 16 * s.ranges.length
    return { ...publisher, topicBytes, contiguous }
  })
  const w = writer(size, prefix)
  w.u8(TOPIC_WIRE_VERSION)
  w.u8(kind)
  w.u16(0)
  w.u16(streams.length)
  streams.forEach((s, i) => {
    w.id(parsed[i].id)
    w.u32(parsed[i].epoch)
    w.u16(parsed[i].topicBytes)
    w.text(s.topic)
    if (kind === TopicKind.DIGEST) w.u64(parsed[i].contiguous)
    w.u16(s.ranges.length)
    for (const [first, last] of s.ranges) {
      w.u64(first)
      w.u64(last)
    }
  })
  return w.data
}

/** Encodes a DIGEST message (see `SequenceTracker.digest`) after `prefix` (default none). Throws on invalid fields. */
export function encodeDigest(streams: readonly StreamDigest[], prefix: Uint8Array = NO_PREFIX): Buffer {
  return encodeStreams(TopicKind.DIGEST, streams, prefix)
}

/** Encodes a REPAIR message (see `SequenceTracker.missing`) after `prefix` (default none). Throws on invalid fields. */
export function encodeRepair(streams: readonly StreamRanges[], prefix: Uint8Array = NO_PREFIX): Buffer {
  return encodeStreams(TopicKind.REPAIR, streams, prefix)
}

/**
 * The first bytes of every DIRECT message on `channel` (a reserved topic name), after `prefix`: the caller appends
 * the payload. Throws TopicError for a name that is not a valid reserved topic name.
 */
export function directHeader(channel: string, prefix: Uint8Array = NO_PREFIX): Buffer {
  validateTopicName(channel, { reserved: true })
  if (channel.charCodeAt(0) !== 0x24) throw new RangeError(`a DIRECT channel is a reserved name ($glue/...), not ${JSON.stringify(channel)}`)
  const channelBytes = utf8Length(channel)
  const w = writer(6 + channelBytes, prefix)
  w.u8(TOPIC_WIRE_VERSION)
  w.u8(TopicKind.DIRECT)
  w.u8(0)
  w.u8(0)
  w.u16(channelBytes)
  w.text(channel)
  return w.data
}

/** A DIRECT message: `header` (from {@link directHeader}) followed by `payload`, in one buffer. */
export function encodeDirect(header: Uint8Array, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(header.length + payload.length)
  out.set(header, 0)
  out.set(payload, header.length)
  return out
}
