/**
 * Model messages for the wire tests (`model-wire.spec.ts`) as plain values: a projection of decoded messages that
 * names origins by endpoint ID and incarnation (so that it does not depend on a replica's numbering), one encoder for
 * any message, and fast-check arbitraries of random messages in that plain form.
 */
import fc from 'fast-check'

import { CausalContext } from '../../src/model/causal-context'
import { Entry } from '../../src/model/entry'
import type { OriginTable } from '../../src/model/origins'
import {
  encodeAck,
  encodeBuckets,
  encodeDelta,
  encodeDigest,
  encodeDots,
  encodePush,
  encodeWant,
  type ModelMessage,
} from '../../src/model/wire'

/** An origin by name. */
export interface PlainOrigin {
  id: string
  incarnation: number
}
/** An entry: `value` null for a delete. */
export interface PlainEntry {
  key: string
  origin: PlainOrigin
  counter: number
  hlc: number
  codec: number
  value: number[] | null
}
/** A context: per origin (sorted by ID, incarnation) its prefix and ranges. */
export type PlainContext = [PlainOrigin, number, [number, number][]][]
/** Any model message, plain (see the module doc). */
export type Plain =
  | {
      kind: 'delta'
      ack: boolean
      sender: PlainOrigin
      first: number
      last: number
      entries: PlainEntry[]
      removals: { key: string; origin: PlainOrigin; counter: number }[]
    }
  | {
      kind: 'digest'
      leaving: boolean
      sender: PlainOrigin
      counter: number
      hlc: number
      liveKeys: number
      entryCount: number
      root: [number, number]
      context: PlainContext
    }
  | { kind: 'want'; request: number; context: PlainContext }
  | { kind: 'push'; request: number; chunk: number; entries: PlainEntry[]; end: { chunks: number; root: [number, number]; context: PlainContext } | null }
  | { kind: 'buckets'; request: number; hashes: number[] }
  | { kind: 'dots'; request: number; answer: boolean; context: PlainContext; buckets: [number, [PlainOrigin, number][]][] }
  | { kind: 'ack'; incarnation: number; contiguous: number }

const plainOrigin = (o: PlainOrigin): PlainOrigin => ({ id: o.id, incarnation: o.incarnation })
const byOrigin = (a: PlainOrigin, b: PlainOrigin): number => (a.id === b.id ? a.incarnation - b.incarnation : a.id < b.id ? -1 : 1)

/** An entry (or entry spec), plain. */
export function plainEntry(e: { key: string; origin: PlainOrigin; counter: number; hlc: number; codec: number; value?: ArrayLike<number> }): PlainEntry {
  const value = e.value === undefined ? null : Array.from(e.value)
  return { key: e.key, origin: plainOrigin(e.origin), counter: e.counter, hlc: e.hlc, codec: e.codec, value }
}

/** A context of `table`'s numbering, plain. */
export function plainContext(context: CausalContext, table: OriginTable): PlainContext {
  const out: PlainContext = []
  for (let i = 0; i < context.length; i++) {
    const d = context.of(i)
    if (d === undefined) continue
    const ranges: [number, number][] = []
    for (let k = 0; k < d.ranges.length; k += 2) ranges.push([d.ranges[k], d.ranges[k + 1]])
    out.push([plainOrigin(table.at(i)), d.contiguous, ranges])
  }
  return out.sort(([a], [b]) => byOrigin(a, b))
}

/** A decoded message (origins of `table`), plain. */
export function plain(m: ModelMessage, table: OriginTable): Plain {
  const ctx = (c: CausalContext) => plainContext(c, table)
  switch (m.kind) {
    case 'delta':
      return {
        ...m,
        sender: plainOrigin(m.sender),
        entries: m.entries.map(plainEntry),
        removals: m.removals.map((r) => ({ ...r, origin: plainOrigin(r.origin) })),
      }
    case 'digest':
      return { ...m, sender: plainOrigin(m.sender), root: [...m.root], context: ctx(m.context) }
    case 'want':
      return { ...m, context: ctx(m.context) }
    case 'push':
      return {
        kind: 'push',
        request: m.request,
        chunk: m.chunk,
        entries: m.entries.map(plainEntry),
        end: m.end === undefined ? null : { ...m.end, root: [...m.end.root], context: ctx(m.end.context) },
      }
    case 'buckets':
      return { ...m, hashes: Array.from(m.hashes) }
    case 'dots': {
      const buckets = [...m.buckets].map(([b, dots]): [number, [PlainOrigin, number][]] => {
        const list = [...dots].map((dot): [PlainOrigin, number] => {
          const [o, c] = dot.split(':').map(Number)
          return [plainOrigin(table.at(o)), c]
        })
        return [b, list.sort(([a, x], [b2, y]) => byOrigin(a, b2) || x - y)]
      })
      return { ...m, context: ctx(m.context), buckets: buckets.sort(([a], [b]) => a - b) }
    }
    case 'ack':
      return { ...m }
  }
}

/** The context of `table` holding the dots of a plain context. */
export function contextFrom(c: PlainContext, table: OriginTable): CausalContext {
  const context = new CausalContext()
  for (const [o, contiguous, ranges] of c) {
    const index = table.intern(o.id, o.incarnation).index
    context.addRange(index, 1, contiguous)
    for (const [start, end] of ranges) context.addRange(index, start, end)
  }
  return context
}

/** Encodes a plain message with origins of `table` (interned as needed). */
export function encodePlain(m: Plain, table: OriginTable): Buffer {
  const origin = (o: PlainOrigin) => table.intern(o.id, o.incarnation)
  const entry = (e: PlainEntry) => new Entry(e.key, origin(e.origin), e.counter, e.hlc, e.codec, e.value === null ? undefined : Uint8Array.from(e.value))
  const ctx = (c: PlainContext) => contextFrom(c, table)
  switch (m.kind) {
    case 'delta':
      return encodeDelta({
        ...m,
        sender: origin(m.sender),
        entries: m.entries.map(entry),
        removals: m.removals.map((r) => ({ ...r, origin: origin(r.origin) })),
      })
    case 'digest':
      return encodeDigest({ ...m, sender: origin(m.sender), context: ctx(m.context) }, table)
    case 'want':
      return encodeWant(m.request, ctx(m.context), table)
    case 'push': {
      const end = m.end === null ? undefined : { ...m.end, context: ctx(m.end.context) }
      return encodePush({ request: m.request, chunk: m.chunk, entries: m.entries.map(entry), end }, table)
    }
    case 'buckets':
      return encodeBuckets(m.request, Uint32Array.from(m.hashes))
    case 'dots': {
      const dots = new Map(m.buckets.map(([b, list]) => [b, list.map(([o, c]) => new Entry('', origin(o), c, 0, 0, undefined))]))
      return encodeDots(m.request, m.answer, ctx(m.context), dots, table)
    }
    case 'ack':
      return encodeAck(m.incarnation, m.contiguous)
  }
}

const MAX = Number.MAX_SAFE_INTEGER
const u32 = fc.integer({ min: 0, max: 0xffffffff })
/** Small numbers mostly, up to 2^53 - 1 sometimes: every varint length. */
const big = fc.oneof(fc.nat(300), fc.integer({ min: 0, max: MAX }))
const counter = big.map((n) => Math.max(1, n))
const idArb = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => n.toString(16).padStart(16, '0'))
const originArb: fc.Arbitrary<PlainOrigin> = fc.record({ id: idArb, incarnation: u32 })
/** 1..4 distinct origins. */
const originsArb = fc.uniqueArray(originArb, { minLength: 1, maxLength: 4, selector: (o) => `${o.id}.${o.incarnation}` })
const key = fc.string({ unit: 'binary', maxLength: 12 })
const valueArb = fc.option(fc.array(fc.nat(255), { maxLength: 12 }), { nil: null })

function entryArb(origin: fc.Arbitrary<PlainOrigin>, counters: fc.Arbitrary<number>): fc.Arbitrary<PlainEntry> {
  return fc
    .record({ key, origin, counter: counters, hlc: big, codec: fc.nat(255), value: valueArb })
    .map((e) => ({ ...e, codec: e.value === null ? 0 : e.codec }))
}

/** A context over some of `origins`: prefixes of any size, a few ranges above them. */
function contextArb(origins: PlainOrigin[]): fc.Arbitrary<PlainContext> {
  const one = fc.record({
    origin: fc.constantFrom(...origins),
    contiguous: fc.oneof(fc.nat(50), fc.integer({ min: 0, max: 2 ** 40 })),
    ranges: fc.array(fc.tuple(fc.nat(1000), fc.nat(1000)), { maxLength: 4 }),
  })
  return fc.uniqueArray(one, { maxLength: origins.length, selector: (o) => o.origin }).map((list) => {
    const out: PlainContext = []
    for (const { origin, contiguous, ranges } of list) {
      let end = contiguous
      const rs: [number, number][] = ranges.map(([gap, length]) => {
        const start = end + 2 + gap
        end = start + length
        return [start, end]
      })
      if (contiguous > 0 || rs.length > 0) out.push([origin, contiguous, rs])
    }
    return out.sort(([a], [b]) => byOrigin(a, b))
  })
}

/** A random message of any kind, as the encoders would be given it. */
export const messageArb: fc.Arbitrary<Plain> = originsArb.chain((origins) => {
  const anyOrigin = fc.constantFrom(...origins)
  const ctx = contextArb(origins)
  const root = fc.tuple(u32, u32)
  const sender = origins[0]
  const delta = fc
    .record({ first: fc.integer({ min: 1, max: MAX - 1000 }), span: fc.nat(1000), ack: fc.boolean() })
    .chain(({ first, span, ack }) =>
      fc.record({
        kind: fc.constant('delta' as const),
        ack: fc.constant(ack),
        sender: fc.constant(sender),
        first: fc.constant(first),
        last: fc.constant(first + span - 1),
        entries:
          span === 0 ? fc.constant([]) : fc.array(entryArb(fc.constant(sender), fc.integer({ min: first, max: first + span - 1 })), { maxLength: 4 }),
        removals: fc.array(fc.record({ key, origin: anyOrigin, counter: big }), { maxLength: 3 }),
      }),
    )
  const digest = fc.record({
    kind: fc.constant('digest' as const),
    leaving: fc.boolean(),
    sender: fc.constant(sender),
    counter: big,
    hlc: big,
    liveKeys: big,
    entryCount: big,
    root,
    context: ctx,
  })
  const want = fc.record({ kind: fc.constant('want' as const), request: u32, context: ctx })
  const push = fc
    .record({ request: u32, chunk: fc.nat(1000), entries: fc.array(entryArb(anyOrigin, counter), { maxLength: 4 }), last: fc.boolean(), root, context: ctx })
    .map(({ last, root: r, context, ...p }): Plain => ({ kind: 'push', ...p, end: last ? { chunks: p.chunk + 1, root: r, context } : null }))
  const buckets = fc.record({ kind: fc.constant('buckets' as const), request: u32, hashes: fc.array(u32, { minLength: 512, maxLength: 512 }) })
  const dotList = fc.uniqueArray(fc.tuple(anyOrigin, counter), { maxLength: 4, selector: ([o, c]) => `${o.id}.${o.incarnation}:${c}` })
  const dots = fc.record({
    kind: fc.constant('dots' as const),
    request: u32,
    answer: fc.boolean(),
    context: ctx,
    buckets: fc.uniqueArray(fc.tuple(fc.nat(255), dotList), { maxLength: 4, selector: ([b]) => b }),
  })
  const ack = fc.record({ kind: fc.constant('ack' as const), incarnation: u32, contiguous: big })
  return fc.oneof(delta, digest, want, push, buckets, dots, ack) as fc.Arbitrary<Plain>
})

/** A plain message as `plain()` returns it (ordinary objects, buckets and dots sorted), for comparisons. */
export function normalised(generated: Plain): Plain {
  const m = JSON.parse(JSON.stringify(generated)) as Plain
  if (m.kind !== 'dots') return m
  const buckets = m.buckets
    .map(([b, list]): [number, [PlainOrigin, number][]] => [b, [...list].sort(([a, x], [b2, y]) => byOrigin(a, b2) || x - y)])
    .sort(([a], [b]) => a - b)
  return { ...m, buckets }
}
