/**
 * The parts the model layer's messages are made of (see `wire.ts`): an origin table, causal contexts, entries and
 * dots. Integers are unsigned LEB128 varints (1..8 bytes, at most 2^53 - 1, minimal) unless a size is given; an
 * origin ref is an index into the message's origin table; a context's range starts at the previous end + 2 + gap (the
 * previous end being `contiguous` at first) and ends at its start + length. The layouts are those of
 * `docs/PROTOCOL.md` (Model messages: Origins and the origin table, Entries, Causal context).
 *
 * ```text
 * origin table
 * +-------+---------------------------------------------------+
 * | count | count x ( endpoint ID (u64) | incarnation (u32) ) |
 * +-------+---------------------------------------------------+
 *
 * entry
 * +------------+-------------+------------+---------+-----------+------------------+------------+-----------------+
 * | key length | key (UTF-8) | origin ref | counter | timestamp | value length + 1 | codec (u8) | value ...       |
 * +------------+-------------+------------+---------+-----------+------------------+------------+-----------------+
 *                                                                codec and value only when value length + 1 > 0
 *
 * context
 * +-------+------------------------------------------------------------------------------------+
 * | count | count x ( origin ref | contiguous | range count | range count x ( gap | length ) ) |
 * +-------+------------------------------------------------------------------------------------+
 * ```
 */
import { CausalContext } from './causal-context'
import { Entry } from './entry'
import { latin1Of } from './latin1'
import { ModelReader } from './model-reader'
import type { Origin, OriginTable } from './origins'
import type { ByteWriter } from '../util/byte-writer'
import type { Reader } from '../topics/wire-io'
import { TopicWireError } from '../topics/errors'

/** Longest key, UTF-8 bytes. */
export const MAX_KEY_BYTES = 4096

/** Origins referenced by one message being written, numbered from 0 in order of first use. */
export class OriginRefs {
  readonly list: Origin[] = []
  readonly #refs = new Map<Origin, number>()
  /** The origin of the last call and its ref (the entries of a delta are mostly of one origin). */
  #last: Origin | undefined
  #lastRef = 0

  /** The ref of `origin`, assigned if new. */
  ref(origin: Origin): number {
    if (origin === this.#last) return this.#lastRef
    let ref = this.#refs.get(origin)
    if (ref === undefined) {
      ref = this.list.push(origin) - 1
      this.#refs.set(origin, ref)
    }
    this.#last = origin
    this.#lastRef = ref
    return ref
  }

  /** Refs every origin of a context. */
  refContext(context: CausalContext, origins: OriginTable): void {
    for (let i = 0; i < context.length; i++) if (context.of(i) !== undefined) this.ref(origins.at(i))
  }
}

/** Writes the origin table. */
export function writeOrigins(w: ByteWriter, refs: OriginRefs): void {
  w.varint(refs.list.length)
  for (const o of refs.list) {
    w.id(o.id)
    w.u32(o.incarnation)
  }
}

/** Reads an origin table, interning each origin in `table`. */
export function readOrigins(r: Reader, table: OriginTable): Origin[] {
  const count = readCount(r, 'origin count', 12)
  const out: Origin[] = []
  for (let i = 0; i < count; i++) out.push(table.intern(r.id('origin ID'), r.u32('incarnation')))
  return out
}

/** Reads an origin ref and returns the origin it names. */
export function readRef(r: Reader, origins: readonly Origin[]): Origin {
  const at = r.offset
  const ref = r.varint('origin ref')
  const origin = origins[ref]
  if (origin === undefined) throw new TopicWireError(`origin ref ${ref} beyond the table`, at)
  return origin
}

/** Writes a context (every origin in it must have been ref'd). */
export function writeContext(w: ByteWriter, context: CausalContext, origins: OriginTable, refs: OriginRefs): void {
  let count = 0
  for (let i = 0; i < context.length; i++) if (context.of(i) !== undefined) count++
  w.varint(count)
  for (let i = 0; i < context.length; i++) {
    const d = context.of(i)
    if (d === undefined) continue
    w.varint(refs.ref(origins.at(i)))
    w.varint(d.contiguous)
    w.varint(d.ranges.length / 2)
    let end = d.contiguous
    for (let k = 0; k < d.ranges.length; k += 2) {
      w.varint(d.ranges[k] - end - 2)
      w.varint(d.ranges[k + 1] - d.ranges[k])
      end = d.ranges[k + 1]
    }
  }
}

/** Reads a context into this replica's origin numbering. */
export function readContext(r: Reader, origins: readonly Origin[]): CausalContext {
  const context = new CausalContext()
  const count = readCount(r, 'context size', 3)
  for (let i = 0; i < count; i++) {
    const origin = readRef(r, origins)
    const contiguous = r.varint('contiguous')
    context.addRange(origin.index, 1, contiguous)
    const ranges = r.varint('range count')
    if (ranges > r.remaining / 2) throw new TopicWireError('truncated ranges', r.offset)
    let end = contiguous
    for (let k = 0; k < ranges; k++) {
      const start = end + 2 + r.varint('range gap')
      end = start + r.varint('range length')
      if (end > Number.MAX_SAFE_INTEGER) throw new TopicWireError('range beyond 2^53 - 1', r.offset)
      context.addRange(origin.index, start, end)
    }
  }
  return context
}

/** Reads a key (varint length, UTF-8). */
export function readKey(r: Reader): string {
  const at = r.offset
  const length = r.varint('key length')
  if (length > MAX_KEY_BYTES) throw new TopicWireError(`key longer than ${MAX_KEY_BYTES} bytes`, at)
  return r.text(length, 'key')
}

/** Writes one entry (its origin must have been ref'd). */
export function writeEntry(w: ByteWriter, e: Entry, refs: OriginRefs): void {
  w.text(e.key)
  w.varint(refs.ref(e.origin))
  w.varint(e.counter)
  w.varint(e.hlc)
  if (e.latin1 === undefined) {
    w.varint(0)
    return
  }
  w.varint(e.size + 1)
  w.u8(e.codec)
  w.latin1(e.latin1)
}

/** Reads one entry. Its value is copied out of the message (a kept entry does not keep the whole message alive). */
export function readEntry(r: Reader, origins: readonly Origin[]): Entry {
  const key = readKey(r)
  const origin = readRef(r, origins)
  const counterAt = r.offset
  const counter = r.varint('counter')
  if (counter === 0) throw new TopicWireError('counter 0 (counters start at 1)', counterAt)
  const hlc = r.varint('timestamp')
  const size = r.varint('value length')
  if (size === 0) return new Entry(key, origin, counter, hlc, 0, undefined)
  const codec = r.u8('codec')
  const value = r instanceof ModelReader ? r.latin1(size - 1, 'value') : latin1Of(r.bytes(size - 1, 'value'))
  return new Entry(key, origin, counter, hlc, codec, value)
}

/** Reads a count that announces at least `minBytes` bytes per item; more than the message holds is malformed. */
export function readCount(r: Reader, field: string, minBytes: number): number {
  const at = r.offset
  const count = r.varint(field)
  if (count * minBytes > r.remaining) throw new TopicWireError(`${field} ${count} exceeds the message`, at)
  return count
}
