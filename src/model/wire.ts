/**
 * The model layer's messages. They travel as raw-codec reliable publications on two topics per replicated object
 * (see `topics.ts`): DELTA and DIGEST on `.../all` (every member), WANT, PUSH, BUCKETS, DOTS and ACK on
 * `.../to/<endpoint ID>` (one member). The parts (origin table, context, entry) are in `wire-parts.ts`. The layouts
 * below are those of `docs/PROTOCOL.md` (Model messages), which also has the rules of receiving and synchronising and
 * hex test vectors (checked by `__test__/model-wire.spec.ts`). Fields without a size are varints; flag bits not
 * named are sent as 0 and ignored.
 *
 * ```text
 * +---------------+---------------+---------------------------------
 * |   kind (u8)   |  flags (u8)   |  body (to the end) ...
 * +---------------+---------------+---------------------------------
 *
 * DELTA (1)
 * +------+-------+--------------+------------+-------+------+
 * | 0x01 | flags | origin table | sender ref | first | last |
 * +------+-------+--------------+------------+-------+------+
 * | entry count | entry count x entry | removal count | removal count x removal |
 * +-------------+---------------------+---------------+-------------------------+
 * flags:   0x01 acknowledge
 * removal: key length | key (UTF-8) | origin ref | counter
 *
 * DIGEST (2)
 * +------+-------+--------------+------------+---------+-----------+
 * | 0x02 | flags | origin table | sender ref | counter | timestamp |
 * +------+-------+--------------+------------+---------+-----------+
 * | live keys | entries held | root hash (u32, u32) | context |
 * +-----------+--------------+----------------------+---------+
 * flags: 0x01 leaving
 *
 * WANT (3)
 * +------+-------+---------------+--------------+---------+
 * | 0x03 | flags | request (u32) | origin table | context |
 * +------+-------+---------------+--------------+---------+
 *
 * PUSH (4)
 * +------+-------+---------------+-------+--------------+-------------+---------------------+
 * | 0x04 | flags | request (u32) | chunk | origin table | entry count | entry count x entry |
 * +------+-------+---------------+-------+--------------+-------------+---------------------+
 * | last chunk only: chunks | root hash (u32, u32) | context |
 * +-------------------------+----------------------+---------+
 * flags: 0x01 last chunk
 *
 * BUCKETS (5)
 * +------+-------+---------------+----------------------------------------------------------+
 * | 0x05 | flags | request (u32) | 256 x bucket hash (u32, u32), bucket 0 first: 2048 bytes |
 * +------+-------+---------------+----------------------------------------------------------+
 *
 * DOTS (6)
 * +------+-------+---------------+--------------+---------+--------------+-----------------------+
 * | 0x06 | flags | request (u32) | origin table | context | bucket count | bucket count x bucket |
 * +------+-------+---------------+--------------+---------+--------------+-----------------------+
 * flags:  0x01 answer with yours
 * bucket: bucket (u8) | dot count | dot count x ( origin ref | counter )
 *
 * ACK (7)
 * +------+-------+-------------------+------------+
 * | 0x07 | flags | incarnation (u32) | contiguous |
 * +------+-------+-------------------+------------+
 * ```
 */
import { TopicWireError } from '../topics/errors'
import type { Reader } from '../topics/wire-io'
import { ModelReader } from './model-reader'
import { ByteWriter } from '../util/byte-writer'
import type { CausalContext } from './causal-context'
import { BUCKETS } from './dot-store'
import type { Entry } from './entry'
import type { Origin, OriginTable } from './origins'
import type { Removal } from './replica'
import {
  OriginRefs,
  readContext,
  readCount,
  readEntry,
  readKey,
  readRef,
  readOrigins,
  writeContext,
  writeEntry,
  writeOrigins,
} from './wire-parts'

/** Message kinds. */
export const ModelKind = { DELTA: 1, DIGEST: 2, WANT: 3, PUSH: 4, BUCKETS: 5, DOTS: 6, ACK: 7 } as const

/** Own writes: entries, the range of counters they cover, removals (mv). */
export interface DeltaMessage {
  readonly kind: 'delta'
  readonly ack: boolean
  readonly sender: Origin
  readonly first: number
  readonly last: number
  readonly entries: Entry[]
  readonly removals: Removal[]
}

/** What a member holds: its context and a summary of its store. */
export interface DigestMessage {
  readonly kind: 'digest'
  readonly leaving: boolean
  readonly sender: Origin
  readonly counter: number
  readonly hlc: number
  readonly liveKeys: number
  readonly entryCount: number
  readonly root: readonly [number, number]
  readonly context: CausalContext
}

/** "Send me what this context lacks." */
export interface WantMessage {
  readonly kind: 'want'
  readonly request: number
  readonly context: CausalContext
}

/** One chunk of the answer to a WANT; the last one carries the sender's context. */
export interface PushMessage {
  readonly kind: 'push'
  readonly request: number
  readonly chunk: number
  readonly entries: Entry[]
  /** Present on the last chunk. */
  readonly end?: { readonly chunks: number; readonly root: readonly [number, number]; readonly context: CausalContext }
}

/** The sender's 256 bucket hashes. */
export interface BucketsMessage {
  readonly kind: 'buckets'
  readonly request: number
  readonly hashes: Uint32Array
}

/** The dots the sender holds in some buckets, and its context. */
export interface DotsMessage {
  readonly kind: 'dots'
  readonly request: number
  readonly answer: boolean
  readonly context: CausalContext
  /** Per bucket, the dots held as `originIndex:counter` in this replica's numbering. */
  readonly buckets: Map<number, Set<string>>
}

/** "I hold your writes up to this counter" (for quorum writes). */
export interface AckMessage {
  readonly kind: 'ack'
  readonly incarnation: number
  readonly contiguous: number
}

/** Any model message. */
export type ModelMessage = DeltaMessage | DigestMessage | WantMessage | PushMessage | BucketsMessage | DotsMessage | AckMessage

function header(kind: number, flags: number, capacity = 256): ByteWriter {
  const w = new ByteWriter(capacity)
  w.u8(kind)
  w.u8(flags)
  return w
}

function writeEntries(w: ByteWriter, entries: readonly Entry[], refs: OriginRefs): void {
  w.varint(entries.length)
  for (const e of entries) writeEntry(w, e, refs)
}

const entriesSize = (entries: readonly Entry[]): number =>
  entries.reduce((sum, e) => sum + e.key.length * 3 + e.size + 24, 16)

/** A DELTA. */
export function encodeDelta(d: Omit<DeltaMessage, 'kind'>): Buffer {
  const refs = new OriginRefs()
  refs.ref(d.sender)
  for (const e of d.entries) refs.ref(e.origin)
  for (const r of d.removals) refs.ref(r.origin)
  const w = header(ModelKind.DELTA, d.ack ? 1 : 0, entriesSize(d.entries) + 12 * refs.list.length)
  writeOrigins(w, refs)
  w.varint(refs.ref(d.sender))
  w.varint(d.first)
  w.varint(d.last)
  writeEntries(w, d.entries, refs)
  w.varint(d.removals.length)
  for (const r of d.removals) {
    w.text(r.key)
    w.varint(refs.ref(r.origin))
    w.varint(r.counter)
  }
  return w.finish()
}

/** A DIGEST. */
export function encodeDigest(d: Omit<DigestMessage, 'kind'>, origins: OriginTable): Buffer {
  const refs = new OriginRefs()
  refs.ref(d.sender)
  refs.refContext(d.context, origins)
  const w = header(ModelKind.DIGEST, d.leaving ? 1 : 0, 64 + 20 * refs.list.length)
  writeOrigins(w, refs)
  w.varint(refs.ref(d.sender))
  w.varint(d.counter)
  w.varint(d.hlc)
  w.varint(d.liveKeys)
  w.varint(d.entryCount)
  w.u32(d.root[0])
  w.u32(d.root[1])
  writeContext(w, d.context, origins, refs)
  return w.finish()
}

/** A WANT. */
export function encodeWant(request: number, context: CausalContext, origins: OriginTable): Buffer {
  const refs = new OriginRefs()
  refs.refContext(context, origins)
  const w = header(ModelKind.WANT, 0, 32 + 20 * refs.list.length)
  w.u32(request)
  writeOrigins(w, refs)
  writeContext(w, context, origins, refs)
  return w.finish()
}

/** One PUSH chunk. */
export function encodePush(p: Omit<PushMessage, 'kind'>, origins: OriginTable): Buffer {
  const refs = new OriginRefs()
  for (const e of p.entries) refs.ref(e.origin)
  if (p.end !== undefined) refs.refContext(p.end.context, origins)
  const w = header(ModelKind.PUSH, p.end === undefined ? 0 : 1, entriesSize(p.entries) + 20 * refs.list.length)
  w.u32(p.request)
  w.varint(p.chunk)
  writeOrigins(w, refs)
  writeEntries(w, p.entries, refs)
  if (p.end !== undefined) {
    w.varint(p.end.chunks)
    w.u32(p.end.root[0])
    w.u32(p.end.root[1])
    writeContext(w, p.end.context, origins, refs)
  }
  return w.finish()
}

/** A BUCKETS. */
export function encodeBuckets(request: number, hashes: Uint32Array): Buffer {
  const w = header(ModelKind.BUCKETS, 0, 8 + 8 * BUCKETS)
  w.u32(request)
  for (let i = 0; i < 2 * BUCKETS; i++) w.u32(hashes[i])
  return w.finish()
}

/** A DOTS: the dots of the entries held in some buckets. */
export function encodeDots(
  request: number,
  answer: boolean,
  context: CausalContext,
  buckets: ReadonlyMap<number, readonly Entry[]>,
  origins: OriginTable,
): Buffer {
  const refs = new OriginRefs()
  refs.refContext(context, origins)
  for (const entries of buckets.values()) for (const e of entries) refs.ref(e.origin)
  const w = header(ModelKind.DOTS, answer ? 1 : 0)
  w.u32(request)
  writeOrigins(w, refs)
  writeContext(w, context, origins, refs)
  w.varint(buckets.size)
  for (const [bucket, entries] of buckets) {
    w.u8(bucket)
    w.varint(entries.length)
    for (const e of entries) {
      w.varint(refs.ref(e.origin))
      w.varint(e.counter)
    }
  }
  return w.finish()
}

/** An ACK. */
export function encodeAck(incarnation: number, contiguous: number): Buffer {
  const w = header(ModelKind.ACK, 0, 16)
  w.u32(incarnation)
  w.varint(contiguous)
  return w.finish()
}

/**
 * Decodes a model message, interning the origins it names in `origins`. Throws TopicWireError (naming the field) on
 * anything malformed: truncated, trailing bytes, unknown kind, bad refs, a DELTA entry of another origin or outside the
 * DELTA's counters (the rules are listed in `docs/PROTOCOL.md`, Model messages, Receiving).
 */
export function decodeModelMessage(data: Uint8Array, origins: OriginTable): ModelMessage {
  const r = new ModelReader(data)
  const kind = r.u8('kind')
  const flags = r.u8('flags')
  const message = decodeBody(r, kind, flags, origins)
  r.end('model message')
  return message
}

function decodeBody(r: Reader, kind: number, flags: number, table: OriginTable): ModelMessage {
  switch (kind) {
    case ModelKind.DELTA: {
      const origins = readOrigins(r, table)
      const sender = readRef(r, origins)
      const first = r.varint('first')
      const last = r.varint('last')
      if (first === 0 || last < first - 1) throw new TopicWireError(`bad counter range ${first}..${last}`, r.offset)
      const entries = readEntries(r, origins)
      if (entries.some((e) => e.origin !== sender || e.counter < first || e.counter > last)) {
        throw new TopicWireError(`an entry of another origin or outside ${first}..${last}`, r.offset)
      }
      const removals = Array.from({ length: readCount(r, 'removal count', 3) }, () => {
        const key = readKey(r)
        return { key, origin: readRef(r, origins), counter: r.varint('counter') }
      })
      return { kind: 'delta', ack: (flags & 1) !== 0, sender, first, last, entries, removals }
    }
    case ModelKind.DIGEST: {
      const origins = readOrigins(r, table)
      const sender = readRef(r, origins)
      const counter = r.varint('counter')
      const hlc = r.varint('timestamp')
      const liveKeys = r.varint('live keys')
      const entryCount = r.varint('entries held')
      const root = [r.u32('root hash'), r.u32('root hash')] as const
      const context = readContext(r, origins)
      return { kind: 'digest', leaving: (flags & 1) !== 0, sender, counter, hlc, liveKeys, entryCount, root, context }
    }
    case ModelKind.WANT: {
      const request = r.u32('request')
      return { kind: 'want', request, context: readContext(r, readOrigins(r, table)) }
    }
    case ModelKind.PUSH:
      return decodePush(r, flags, table)
    case ModelKind.BUCKETS: {
      const request = r.u32('request')
      const hashes = new Uint32Array(2 * BUCKETS)
      for (let i = 0; i < hashes.length; i++) hashes[i] = r.u32('bucket hash')
      return { kind: 'buckets', request, hashes }
    }
    case ModelKind.DOTS:
      return decodeDots(r, flags, table)
    case ModelKind.ACK:
      return { kind: 'ack', incarnation: r.u32('incarnation'), contiguous: r.varint('contiguous') }
    default:
      throw new TopicWireError(`unknown model message kind ${kind}`, 0)
  }
}

/** A count of entries, then the entries. */
function readEntries(r: Reader, origins: readonly Origin[]): Entry[] {
  const count = readCount(r, 'entry count', 5)
  const entries: Entry[] = []
  for (let i = 0; i < count; i++) entries.push(readEntry(r, origins))
  return entries
}

function decodePush(r: Reader, flags: number, table: OriginTable): PushMessage {
  const request = r.u32('request')
  const chunk = r.varint('chunk')
  const origins = readOrigins(r, table)
  const entries = readEntries(r, origins)
  if ((flags & 1) === 0) return { kind: 'push', request, chunk, entries }
  const chunks = r.varint('chunks')
  if (chunks !== chunk + 1) throw new TopicWireError(`last chunk ${chunk} of ${chunks}`, r.offset)
  const root = [r.u32('root hash'), r.u32('root hash')] as const
  return { kind: 'push', request, chunk, entries, end: { chunks, root, context: readContext(r, origins) } }
}

function decodeDots(r: Reader, flags: number, table: OriginTable): DotsMessage {
  const request = r.u32('request')
  const origins = readOrigins(r, table)
  const context = readContext(r, origins)
  const buckets = new Map<number, Set<string>>()
  const count = readCount(r, 'bucket count', 2)
  for (let i = 0; i < count; i++) {
    const bucket = r.u8('bucket')
    const dots = buckets.get(bucket) ?? new Set<string>()
    buckets.set(bucket, dots)
    const n = readCount(r, 'dot count', 2)
    for (let k = 0; k < n; k++) dots.add(`${readRef(r, origins).index}:${r.varint('counter')}`)
  }
  return { kind: 'dots', request, answer: (flags & 1) !== 0, context, buckets }
}
