/**
 * The strict decoder of topic-layer messages (format: `wire-format.ts`). Anything malformed throws a
 * {@link TopicWireError} naming the field and the byte offset.
 */
import type { TopicError } from './errors'
import { TopicWireError } from './errors'
import type { SeqRange, StreamRanges } from './sequence-tracker'
import { isTopicName, validateTopicName, validateTypeName } from './topic-name'
import {
  knownCodec,
  NO_LIFESPAN,
  publisherKey,
  RETAIN_FLAG,
  SEALED_FLAG,
  TOPIC_WIRE_VERSION,
  TopicKind,
} from './wire-format'
import type { HistoryMessage, HistoryRecordFields, PublishMessage, TopicWireMessage } from './wire-format'
import { TOPIC_NAMES, TYPE_NAMES } from './name-cache'
import { Reader } from './wire-io'
import { decodeReply, decodeRequest, REPLY_KIND, REQUEST_KIND } from './wire-reqrep'

const RESERVED_OK = { reserved: true } as const

/** Reads a topic name and validates it (`$` names allowed); remembers it in {@link TOPIC_NAMES}. */
function readTopic(r: Reader, length: number): string {
  const at = r.offset
  const topic = r.text(length, 'topic')
  if (!isTopicName(topic, true)) {
    try {
      validateTopicName(topic, RESERVED_OK)
    } catch (err) {
      throw new TopicWireError((err as TopicError).message, at, { cause: err })
    }
  }
  TOPIC_NAMES.add(r.data, at, length, topic)
  return topic
}

/** Reads a type name ('' for none) and validates it; remembers it in {@link TYPE_NAMES}. */
function readType(r: Reader, length: number): string {
  const at = r.offset
  const type = r.text(length, 'type')
  if (type === '') return type
  try {
    validateTypeName(type)
  } catch (err) {
    throw new TopicWireError((err as TopicError).message, at, { cause: err })
  }
  TYPE_NAMES.add(r.data, at, length, type)
  return type
}

/** Throws on unknown flag bits or a reserved codec id (`at`: offset of the flags byte). */
function checkFlagsAndCodec(flags: number, codec: number, at: number): void {
  if (flags & ~(RETAIN_FLAG | SEALED_FLAG)) throw new TopicWireError(`unknown flags ${flags}`, at)
  if (!knownCodec(codec)) throw new TopicWireError(`reserved codec id ${codec}`, at + 1)
}

/** A sequence number, 1..2^53-1. */
function readSeq(r: Reader): number {
  const seq = r.u64('sequence number')
  if (seq === 0) throw new TopicWireError('sequence number 0', r.offset - 8)
  return seq
}

/** A lifespan in ms (Infinity for none); 0 is malformed. */
function readLifespan(r: Reader): number {
  const lifespan = r.u32('lifespan')
  if (lifespan === 0) throw new TopicWireError('lifespan 0', r.offset - 4)
  return lifespan === NO_LIFESPAN ? Infinity : lifespan
}

/** The rest of a PUBLISH after its first four bytes. */
function decodePublish(r: Reader, flags: number, codec: number): PublishMessage {
  checkFlagsAndCodec(flags, codec, 2)
  const epoch = r.u32('epoch')
  const seq = readSeq(r)
  const timestamp = r.u64('timestamp')
  const lifespanMs = readLifespan(r)
  const depth = r.u16('depth')
  const topicBytes = r.u16('topic length')
  const typeBytes = r.u8('type length')
  const topic = readTopic(r, topicBytes)
  const type = readType(r, typeBytes)
  const payload = r.bytes(r.remaining, 'payload')
  const retain = (flags & RETAIN_FLAG) !== 0
  const sealed = (flags & SEALED_FLAG) !== 0
  return { kind: 'publish', epoch, seq, timestamp, lifespanMs, retain, sealed, codec, depth, topic, type, payload }
}

/** The rest of a HISTORY after its first four bytes. */
function decodeHistory(r: Reader): HistoryMessage {
  const publisher = publisherKey(r.id('publisher'), r.u32('epoch'))
  const firstAvailable = r.u64('first available')
  const depth = r.u16('depth')
  const topicBytes = r.u16('topic length')
  const typeBytes = r.u8('type length')
  const topic = readTopic(r, topicBytes)
  const type = readType(r, typeBytes)
  const count = r.u16('record count')
  const records: HistoryRecordFields[] = []
  for (let i = 0; i < count; i++) {
    const at = r.offset
    const flags = r.u8('record flags')
    const codec = r.u8('record codec')
    checkFlagsAndCodec(flags, codec, at)
    const seq = readSeq(r)
    if (i > 0 && seq <= records[i - 1].seq) throw new TopicWireError('records out of order', at + 2)
    const timestamp = r.u64('timestamp')
    const lifespanMs = readLifespan(r)
    const payload = r.bytes(r.u32('payload length'), 'payload')
    const retain = (flags & RETAIN_FLAG) !== 0
    records.push({ seq, timestamp, lifespanMs, retain, sealed: (flags & SEALED_FLAG) !== 0, codec, payload })
  }
  r.end('history records')
  return { kind: 'history', publisher, firstAvailable, depth, topic, type, records }
}

/** The entries of a DIGEST (with `contiguous`) or a REPAIR. */
function decodeStreams(r: Reader, digest: boolean): (StreamRanges & { contiguous: number })[] {
  const count = r.u16('stream count')
  const streams: (StreamRanges & { contiguous: number })[] = []
  for (let i = 0; i < count; i++) {
    const publisher = publisherKey(r.id('publisher'), r.u32('epoch'))
    const topic = readTopic(r, r.u16('topic length'))
    const contiguous = digest ? r.u64('contiguous') : 0
    const rangeCount = r.u16('range count')
    const ranges: SeqRange[] = []
    let previous = contiguous
    for (let j = 0; j < rangeCount; j++) {
      const at = r.offset
      const first = r.u64('range first')
      const last = r.u64('range last')
      if (first <= previous || last < first) throw new TopicWireError('ranges not increasing and disjoint', at)
      ranges.push([first, last])
      previous = last
    }
    streams.push({ publisher, topic, contiguous, ranges })
  }
  r.end('streams')
  return streams
}

/** A DIRECT message after its first four bytes: the channel must be a reserved name; the payload is the rest. */
function decodeDirect(r: Reader, data: Uint8Array): TopicWireMessage {
  const at = r.offset + 2
  const channel = readTopic(r, r.u16('channel length'))
  if (channel.charCodeAt(0) !== 0x24) throw new TopicWireError('a DIRECT channel must be a reserved ($) name', at)
  return { kind: 'direct', channel, payload: data.subarray(r.offset) }
}

/** Decodes any topic-layer message strictly (see `wire-format.ts`). Payloads are views into `data`. */
export function decodeTopicMessage(data: Uint8Array): TopicWireMessage {
  const r = new Reader(data)
  const version = r.u8('version')
  if (version !== TOPIC_WIRE_VERSION) throw new TopicWireError(`unknown version ${version}`, 0)
  const kind = r.u8('kind')
  const flags = r.u8('flags')
  const fourth = r.u8('codec')
  if (kind === TopicKind.PUBLISH) return decodePublish(r, flags, fourth)
  if (kind === REQUEST_KIND) return decodeRequest(r, flags, fourth)
  if (kind === REPLY_KIND) return decodeReply(r, flags, fourth)
  if (kind < TopicKind.HISTORY || kind > TopicKind.DIRECT) throw new TopicWireError(`unknown kind ${kind}`, 1)
  if (flags !== 0 || fourth !== 0) throw new TopicWireError('flags and reserved byte must be 0', 2)
  if (kind === TopicKind.DIRECT) return decodeDirect(r, data)
  if (kind === TopicKind.HISTORY) return decodeHistory(r)
  if (kind === TopicKind.DIGEST) return { kind: 'digest', streams: decodeStreams(r, true) }
  const streams = decodeStreams(r, false).map(({ publisher, topic, ranges }) => ({ publisher, topic, ranges }))
  return { kind: 'repair', streams }
}