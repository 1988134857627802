/**
 * Per-stream received-sequence tracking: de-duplication and ordering of publications that reach an endpoint over
 * several paths (live, history for late joiners, repair after a partition), and the digests endpoints exchange to
 * find what they miss.
 *
 * A *stream* is one publisher on one topic; its publications carry sequence numbers 1, 2, 3, ... For each stream the
 * tracker keeps `next`, the lowest number neither delivered nor given up, and the ranges of numbers above it that
 * arrived early. Like the rest of glue's core it is sans-IO: the caller passes the time in and drains the output.
 *
 * **Gap policy** (`holdMs`). With 0 (the default), an early publication is delivered at once: delivery is
 * de-duplicated but not ordered, and the gap stays open for repair (a late arrival inside it is delivered too).
 * With `holdMs > 0`, early publications are held back, and released in order when the gap fills or when it has been
 * open for `holdMs` (then the missing numbers are given up: arriving later, they count as duplicates). Infinity waits
 * until the gap fills or {@link SequenceTracker.skipTo} gives it up.
 *
 * **Use.** `accept()` says what to do with one publication: `'deliver'` (deliver it now, then drain `poll()`, which
 * yields held publications it released, in order), `'duplicate'` (drop it) or `'gap'` (held; it comes out of `poll()`
 * later). Call `handleTimeout(now)` when `pollTimeout()` is due, and drain `poll()` after every call.
 *
 * **Late joiners.** A new stream expects number 1. When history arrives that starts later (the publisher keeps only
 * the last N), the caller calls `skipTo(firstAvailable)`; everything below is given up.
 */
import { Fifo } from '../util/fifo'

/** What to do with one publication, see the module doc. */
export type Verdict = 'deliver' | 'duplicate' | 'gap'

/** An inclusive range of sequence numbers, `[first, last]`. */
export type SeqRange = readonly [first: number, last: number]

/** What an endpoint has of one stream: every number up to `contiguous`, plus `ranges` (sorted, disjoint, above it). */
export interface StreamDigest {
  /** Publisher key. */
  readonly publisher: string
  /** Topic name. */
  readonly topic: string
  /** Highest number up to which everything was received or given up; 0 for none. */
  readonly contiguous: number
  /** Numbers received above `contiguous + 1`, sorted ascending, disjoint, not adjacent. */
  readonly ranges: readonly SeqRange[]
}

/** Numbers of one stream to request or to send. */
export interface StreamRanges {
  /** Publisher key. */
  readonly publisher: string
  /** Topic name. */
  readonly topic: string
  /** Sorted, disjoint ranges. */
  readonly ranges: readonly SeqRange[]
}

/** Options of {@link SequenceTracker}. */
export interface SequenceTrackerOptions {
  /** How long early publications are held waiting for a gap to fill, ms; 0 delivers them at once. Default: 0. */
  readonly holdMs?: number
  /** Most publications held per stream; past it the first gap is given up. Default: 1024. */
  readonly maxHeld?: number
  /** Most ranges of early numbers kept per stream; past it the first gap is given up. Default: 64. */
  readonly maxRanges?: number
  /** Most streams tracked; past it the least recently active tenth is forgotten. Default: 100000. */
  readonly maxStreams?: number
}

/** Options of {@link SequenceTracker.digest}. */
export interface DigestOptions {
  /** Most ranges per stream; the lowest are left out first. Default: 16. */
  readonly maxRanges?: number
  /** Which streams to include. Default: all. */
  readonly include?: (publisher: string, topic: string) => boolean
}

/** Options of {@link SequenceTracker.missing} and {@link SequenceTracker.lacking}. */
export interface DiffOptions {
  /** Most numbers per stream, the newest kept. Default: 1024. */
  readonly maxPerStream?: number
  /** Which streams to consider. Default: `missing` those this tracker knows, `lacking` all. */
  readonly include?: (publisher: string, topic: string) => boolean
}

/** The state of one (publisher, topic) stream. */
class Stream<T> {
  /** Lowest number neither delivered nor given up. */
  next = 1
  /** Early numbers, flat: [first0, last0, first1, last1, ...], sorted, each first > next. */
  ranges: number[] = []
  /** Held publications by number (hold policy only). */
  held: Map<number, T> | undefined
  /** When the first gap is given up (hold policy); Infinity when not waiting. */
  deadline = Infinity
  /** Tick of the last access, to forget the idlest streams first. */
  touched = 0
  /** No longer tracked (forgotten): a handle to it must be looked up again. */
  forgotten = false
  constructor(
    readonly publisher: string,
    readonly topic: string,
  ) {}
}

/**
 * One stream of a tracker, held by a caller that accepts many publications of it (`SequenceTracker.handle`): no
 * look-up per publication. Valid while not `forgotten`.
 */
export interface StreamHandle {
  /** The tracker forgot the stream: get a new handle. */
  readonly forgotten: boolean
}

/** The tracker; `T` is whatever the caller holds back (e.g. a decoded message). */
export class SequenceTracker<T = unknown> {
  /** Publications dropped as duplicates (including late arrivals of given-up numbers). */
  duplicates = 0
  /** Sequence numbers given up (never delivered). */
  skipped = 0
  readonly #holdMs: number
  readonly #maxHeld: number
  readonly #maxRanges: number
  readonly #maxStreams: number
  readonly #streams = new Map<string, Map<string, Stream<T>>>()
  readonly #waiting = new Set<Stream<T>>()
  readonly #ready = new Fifo<T>()
  #count = 0
  #tick = 0

  /** Throws RangeError on bad options. */
  constructor(options: SequenceTrackerOptions = {}) {
    this.#holdMs = options.holdMs ?? 0
    this.#maxHeld = options.maxHeld ?? 1024
    this.#maxRanges = options.maxRanges ?? 64
    this.#maxStreams = options.maxStreams ?? 100_000
    if (!(this.#holdMs >= 0)) throw new RangeError(`holdMs must be >= 0, not ${this.#holdMs}`)
    const limits = { maxHeld: this.#maxHeld, maxRanges: this.#maxRanges, maxStreams: this.#maxStreams }
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${name} must be an integer >= 1, not ${value}`)
      }
    }
  }

  /** Streams tracked. */
  get streamCount(): number {
    return this.#count
  }

  /** True while a gap holds publications back (`pollTimeout()` then says when to call `handleTimeout`). */
  get holding(): boolean {
    return this.#waiting.size > 0
  }

  /** The stream; `create`: made if new, expecting number `first` (at least 1) first. */
  #stream(publisher: string, topic: string, create: boolean, first = 1): Stream<T> | undefined {
    let byTopic = this.#streams.get(publisher)
    let stream = byTopic?.get(topic)
    if (stream === undefined && create) {
      if (this.#count >= this.#maxStreams) this.#forgetIdle()
      if (byTopic === undefined) this.#streams.set(publisher, (byTopic = new Map()))
      byTopic.set(topic, (stream = new Stream(publisher, topic)))
      stream.next = Math.max(1, first)
      this.#count++
    }
    if (stream !== undefined) stream.touched = ++this.#tick
    return stream
  }

  /**
   * Sorts one publication of stream (publisher, topic) with number `seq` (a positive safe integer); `now` in ms.
   * A stream not seen before starts at `first` (default 1; as `start()` would).
   */
  accept(publisher: string, topic: string, seq: number, item: T, now: number, first = 1): Verdict {
    return this.acceptIn(this.handle(publisher, topic, first), seq, item, now)
  }

  /** The stream (publisher, topic), made if new (starting at `first`, as `start()` would), for `acceptIn`. */
  handle(publisher: string, topic: string, first = 1): StreamHandle {
    return this.#stream(publisher, topic, true, first) as Stream<T>
  }

  /** `accept()` for the stream of `handle` (from this tracker's `handle()`, not forgotten). */
  acceptIn(handle: StreamHandle, seq: number, item: T, now: number): Verdict {
    const stream = handle as Stream<T>
    stream.touched = ++this.#tick
    const ranges = stream.ranges
    if (seq === stream.next) {
      stream.next++
      if (ranges.length > 0 && ranges[0] === stream.next) this.#absorb(stream, now)
      return 'deliver'
    }
    if (seq < stream.next || !Number.isSafeInteger(seq) || contains(ranges, seq)) {
      this.duplicates++
      return 'duplicate'
    }
    insert(ranges, seq)
    if (this.#holdMs === 0) {
      if (ranges.length > 2 * this.#maxRanges) this.#giveUpFirstGap(stream, now)
      return 'deliver'
    }
    ;(stream.held ??= new Map()).set(seq, item)
    if (!this.#waiting.has(stream)) this.#arm(stream, now)
    if (stream.held.size > this.#maxHeld || ranges.length > 2 * this.#maxRanges) this.#giveUpFirstGap(stream, now)
    return 'gap'
  }

  /** Moves `next` over the first range (if it starts at `next`), releasing held items in order. */
  #absorb(stream: Stream<T>, now: number): void {
    const ranges = stream.ranges
    while (ranges.length > 0 && ranges[0] <= stream.next) {
      const last = ranges[1]
      const held = stream.held
      if (held !== undefined) {
        for (let seq = ranges[0]; seq <= last; seq++) {
          const item = held.get(seq)
          if (item !== undefined || held.has(seq)) this.#ready.push(item as T)
          held.delete(seq)
        }
      }
      stream.next = Math.max(stream.next, last + 1)
      ranges.splice(0, 2)
    }
    if (ranges.length === 0) {
      stream.deadline = Infinity
      this.#waiting.delete(stream)
    } else if (this.#holdMs > 0) {
      this.#arm(stream, now)
    }
  }

  /** Starts the hold timer of the stream's first gap (none with holdMs Infinity: only filling or skipTo end it). */
  #arm(stream: Stream<T>, now: number): void {
    if (this.#holdMs === Infinity) return
    stream.deadline = now + this.#holdMs
    this.#waiting.add(stream)
  }

  #giveUpFirstGap(stream: Stream<T>, now: number): void {
    this.skipped += stream.ranges[0] - stream.next
    stream.next = stream.ranges[0]
    this.#absorb(stream, now)
  }

  /**
   * Gives up every number of the stream below `seq` (e.g. the first one a history batch holds): held publications
   * below it are released in order, the rest is skipped. Returns how many numbers were skipped.
   */
  skipTo(publisher: string, topic: string, seq: number, now: number): number {
    const stream = this.#stream(publisher, topic, true) as Stream<T>
    const before = this.skipped
    while (stream.next < seq) {
      const ranges = stream.ranges
      const target = ranges.length > 0 && ranges[0] < seq ? ranges[0] : seq
      this.skipped += target - stream.next
      stream.next = target
      this.#absorb(stream, now)
    }
    return this.skipped - before
  }

  /**
   * Starts a stream not seen before at `seq` (numbers below it were never this endpoint's to receive: not counted as
   * skipped). Does nothing for a known stream.
   */
  start(publisher: string, topic: string, seq: number): void {
    if (!this.has(publisher, topic)) this.#stream(publisher, topic, true, seq)
  }

  /** The highest number of the stream this endpoint has seen, delivered, held or given up (0 for an unknown one). */
  highest(publisher: string, topic: string): number {
    const stream = this.#streams.get(publisher)?.get(topic)
    if (stream === undefined) return 0
    return Math.max(stream.next - 1, stream.ranges.length > 0 ? (stream.ranges.at(-1) as number) : 0)
  }

  /** The next held publication released for delivery, in order per stream; undefined when none. */
  poll(): T | undefined {
    return this.#ready.shift()
  }

  /** When `handleTimeout` is next due (ms, the caller's clock); undefined when nothing is held. */
  pollTimeout(): number | undefined {
    let earliest: number | undefined
    for (const stream of this.#waiting) {
      if (earliest === undefined || stream.deadline < earliest) earliest = stream.deadline
    }
    return earliest
  }

  /** Gives up the gaps that have been open for `holdMs`; drain `poll()` afterwards. */
  handleTimeout(now: number): void {
    for (const stream of [...this.#waiting]) {
      if (stream.deadline <= now) this.#giveUpFirstGap(stream, now)
    }
  }

  /** True when the stream (publisher, topic) is tracked. */
  has(publisher: string, topic: string): boolean {
    return this.#streams.get(publisher)?.has(topic) === true
  }

  /** The highest number up to which the stream is complete (0 for an unknown stream). */
  contiguous(publisher: string, topic: string): number {
    return (this.#streams.get(publisher)?.get(topic)?.next ?? 1) - 1
  }

  /** Forgets every stream of a publisher (held publications are dropped). */
  forget(publisher: string): void {
    const byTopic = this.#streams.get(publisher)
    if (byTopic === undefined) return
    for (const stream of byTopic.values()) {
      this.#waiting.delete(stream)
      stream.forgotten = true
    }
    this.#count -= byTopic.size
    this.#streams.delete(publisher)
  }

  #forgetIdle(): void {
    const all: Stream<T>[] = []
    for (const byTopic of this.#streams.values()) all.push(...byTopic.values())
    all.sort((a, b) => a.touched - b.touched)
    for (const stream of all.slice(0, Math.max(1, Math.floor(all.length / 10)))) {
      const byTopic = this.#streams.get(stream.publisher) as Map<string, Stream<T>>
      byTopic.delete(stream.topic)
      if (byTopic.size === 0) this.#streams.delete(stream.publisher)
      this.#waiting.delete(stream)
      stream.forgotten = true
      this.#count--
    }
  }

  /**
   * What this endpoint has, per stream, to send to peers after a partition. At most `maxRanges` ranges per stream
   * (default 16): the lowest go first, which can only make peers send publications again (dropped as duplicates).
   */
  digest(options: DigestOptions = {}): StreamDigest[] {
    const maxRanges = options.maxRanges ?? 16
    const out: StreamDigest[] = []
    for (const [publisher, byTopic] of this.#streams) {
      for (const [topic, stream] of byTopic) {
        if (options.include !== undefined && !options.include(publisher, topic)) continue
        const pairs = toPairs(stream.ranges)
        const ranges = pairs.slice(Math.max(0, pairs.length - maxRanges))
        out.push({ publisher, topic, contiguous: stream.next - 1, ranges })
      }
    }
    return out
  }

  /** The numbers a peer has (per its digest) that this endpoint lacks: what to request from that peer. */
  missing(peer: readonly StreamDigest[], options: DiffOptions = {}): StreamRanges[] {
    const include = options.include ?? ((publisher, topic) => this.#streams.get(publisher)?.has(topic) === true)
    const out: StreamRanges[] = []
    for (const theirs of peer) {
      if (!include(theirs.publisher, theirs.topic)) continue
      const mine = this.#streams.get(theirs.publisher)?.get(theirs.topic)
      const ranges = subtract(
        intervals(theirs.contiguous, theirs.ranges),
        mine === undefined ? [] : intervals(mine.next - 1, toPairs(mine.ranges)),
        options.maxPerStream ?? 1024,
      )
      if (ranges.length > 0) out.push({ publisher: theirs.publisher, topic: theirs.topic, ranges })
    }
    return out
  }

  /** The numbers this endpoint has that a peer (per its digest) lacks: what to send it, from the history cache. */
  lacking(peer: readonly StreamDigest[], options: DiffOptions = {}): StreamRanges[] {
    const theirs = new Map<string, Map<string, StreamDigest>>()
    for (const entry of peer) {
      let byTopic = theirs.get(entry.publisher)
      if (byTopic === undefined) theirs.set(entry.publisher, (byTopic = new Map()))
      byTopic.set(entry.topic, entry)
    }
    const out: StreamRanges[] = []
    for (const [publisher, byTopic] of this.#streams) {
      for (const [topic, mine] of byTopic) {
        if (options.include !== undefined && !options.include(publisher, topic)) continue
        const other = theirs.get(publisher)?.get(topic)
        const ranges = subtract(
          intervals(mine.next - 1, toPairs(mine.ranges)),
          other === undefined ? [] : intervals(other.contiguous, other.ranges),
          options.maxPerStream ?? 1024,
        )
        if (ranges.length > 0) out.push({ publisher, topic, ranges })
      }
    }
    return out
  }
}

/** True when `seq` lies in one of the flat ranges. */
function contains(ranges: readonly number[], seq: number): boolean {
  for (let i = ranges.length - 2; i >= 0; i -= 2) {
    if (seq > ranges[i + 1]) return false
    if (seq >= ranges[i]) return true
  }
  return false
}

/** Adds `seq` (not yet present) to the flat ranges, merging neighbours. */
function insert(ranges: number[], seq: number): void {
  let i = 0
  while (i < ranges.length && ranges[i] < seq) i += 2
  const joinsPrevious = i > 0 && ranges[i - 1] === seq - 1
  const joinsNext = i < ranges.length && ranges[i] === seq + 1
  if (joinsPrevious && joinsNext) {
    ranges[i - 1] = ranges[i + 1]
    ranges.splice(i, 2)
  } else if (joinsPrevious) ranges[i - 1] = seq
  else if (joinsNext) ranges[i] = seq
  else ranges.splice(i, 0, seq, seq)
}

function toPairs(flat: readonly number[]): SeqRange[] {
  const out: SeqRange[] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]])
  return out
}

/** `[1, contiguous]` followed by `ranges`, merged where they touch. */
function intervals(contiguous: number, ranges: readonly SeqRange[]): SeqRange[] {
  const out: [number, number][] = contiguous >= 1 ? [[1, contiguous]] : []
  for (const [first, last] of ranges) {
    const tail = out[out.length - 1]
    if (tail !== undefined && first <= tail[1] + 1) tail[1] = Math.max(tail[1], last)
    else out.push([first, last])
  }
  return out
}

/** `a` minus `b` (both sorted and disjoint), keeping only the newest `limit` numbers. */
function subtract(a: readonly SeqRange[], b: readonly SeqRange[], limit: number): SeqRange[] {
  const out: SeqRange[] = []
  let j = 0
  for (const [first, last] of a) {
    let from = first
    while (j < b.length && b[j][1] < from) j++
    for (let k = j; k < b.length && b[k][0] <= last && from <= last; k++) {
      if (b[k][0] > from) out.push([from, b[k][0] - 1])
      from = Math.max(from, b[k][1] + 1)
    }
    if (from <= last) out.push([from, last])
  }
  let budget = limit
  for (let i = out.length - 1; i >= 0; i--) {
    const size = out[i][1] - out[i][0] + 1
    if (size >= budget) {
      if (budget > 0) out[i] = [out[i][1] - budget + 1, out[i][1]]
      return budget > 0 ? out.slice(i) : out.slice(i + 1)
    }
    budget -= size
  }
  return out
}
