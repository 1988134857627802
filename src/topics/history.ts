/**
 * The history cache: per (topic, publisher) stream the last `depth` publications by sequence number, plus per topic
 * the retained last value (MQTT's retained message), all bounded in count and bytes, with lifespans.
 *
 * Publishers keep their own publications here (for late joiners) and receivers keep what they received (to repair
 * other endpoints' gaps after a partition, even when the publisher is gone). The cache never looks at a socket or the
 * wall clock: lifespans are measured on an injectable clock, and expiry is due when `clock() >= expiresAt`.
 *
 * **Retained values.** A publication with `retain: true` becomes its topic's retained value if it is newer than the
 * current one: from the same publisher by sequence number, otherwise by timestamp, with the publisher key breaking
 * ties (so every endpoint converges on the same value). A retained publication with an empty payload clears the
 * value (MQTT's rule); it is kept as a tombstone so that the older value cannot come back through repair.
 *
 * **Eviction order**, when a new record would break `maxRecords` or `maxBytes`:
 * 1. records whose lifespan has passed;
 * 2. history records, the one stored longest ago first, across all streams (a record that is also a retained value
 *    stays as the retained value);
 * 3. retained values and tombstones, the one stored longest ago first.
 * Bytes counted are payload bytes (`data.byteLength`); `maxRecords` bounds the per-record overhead.
 */
import { MinHeap } from '../util/fifo'

/** One stored publication. The cache hands these out; treat them as read-only. */
export interface HistoryRecord {
  /** Topic name. */
  readonly topic: string
  /** Publisher key (e.g. endpoint ID and epoch, see `wire.ts`'s `publisherKey`). */
  readonly publisher: string
  /** The publisher's sequence number on this topic, 1..2^53-1. */
  readonly seq: number
  /** The publisher's timestamp, ms since the Unix epoch (informative; orders retained values across publishers). */
  readonly timestamp: number
  /** When the record expires, on the cache's clock (ms); Infinity for never. */
  readonly expiresAt: number
  /** Published with `retain`. */
  readonly retain: boolean
  /** The stored bytes (the encoded payload, or whatever the caller chose to keep); counted toward `maxBytes`. */
  readonly data: Uint8Array
  /** Whatever the caller attached (e.g. the codec and type name); not counted. */
  readonly meta: unknown
}

/** What {@link HistoryCache.put} stores. */
export interface HistoryInput {
  /** Topic name. */
  readonly topic: string
  /** Publisher key. */
  readonly publisher: string
  /** Sequence number, a positive safe integer. */
  readonly seq: number
  /** Publisher's timestamp, ms since the Unix epoch. Default: 0. */
  readonly timestamp?: number
  /** Remaining lifespan, ms from now; Infinity (the default) for none; 0 or less means already expired. */
  readonly lifespanMs?: number
  /** Make it the topic's retained value (if newer); an empty payload clears the retained value. Default: false. */
  readonly retain?: boolean
  /** The bytes to keep. Keep a copy if the original is a view into a larger buffer you want freed. */
  readonly data: Uint8Array
  /** Anything to hand back with the record (keep it small: it is not counted toward `maxBytes`). */
  readonly meta?: unknown
}

/**
 * What became of a {@link HistoryCache.put}: `stored` (in history, as retained value, or both), `duplicate` (this
 * sequence number is already held), `stale` (older than the kept window and not a newer retained value), `expired`
 * (lifespan already over) or `too-large` (larger than `maxBytes` on its own).
 */
export type PutResult = 'stored' | 'duplicate' | 'stale' | 'expired' | 'too-large'

/** A stream's records, as returned by {@link HistoryCache.select}. */
export interface HistoryStream {
  /** Topic name. */
  readonly topic: string
  /** Publisher key. */
  readonly publisher: string
  /** Live records, oldest sequence number first (a snapshot). */
  readonly records: readonly HistoryRecord[]
}

/** Options of {@link HistoryCache}. */
export interface HistoryOptions {
  /** Most records held (history and retained together). Default: 10000. */
  readonly maxRecords?: number
  /** Most payload bytes held. Default: 16 MiB. */
  readonly maxBytes?: number
  /** The clock lifespans are measured on, ms. Default: `performance.now()` (monotonic). */
  readonly clock?: () => number
}

const HISTORY = 1
const RETAINED = 2

class Entry implements HistoryRecord {
  /** Which of HISTORY and RETAINED hold this entry; 0 once it is gone. */
  holders = 0
  constructor(
    readonly topic: string,
    readonly publisher: string,
    readonly seq: number,
    readonly timestamp: number,
    readonly expiresAt: number,
    readonly retain: boolean,
    readonly data: Uint8Array,
    readonly meta: unknown,
  ) {}
}

/** True when `a` should replace `b` as the retained value. */
function newer(a: HistoryRecord, b: HistoryRecord): boolean {
  if (a.publisher === b.publisher) return a.seq > b.seq
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp
  return a.publisher > b.publisher
}

/** Index of the first record with seq >= `seq` (records are sorted by seq). */
function lowerBound(records: readonly Entry[], seq: number): number {
  let lo = 0
  let hi = records.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (records[mid].seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

function positiveInteger(name: string, value: number, zero = false): void {
  if (!Number.isSafeInteger(value) || value < (zero ? 0 : 1)) {
    throw new RangeError(`${name} must be an integer ${zero ? '>= 0' : '>= 1'}, not ${value}`)
  }
}

/** The history cache; see the module doc. */
export class HistoryCache {
  /** Records dropped to respect `maxRecords` or `maxBytes`. */
  evicted = 0
  /** Records dropped because their lifespan passed. */
  expired = 0
  readonly #maxRecords: number
  readonly #maxBytes: number
  readonly #clock: () => number
  /** topic → publisher → records sorted by seq. */
  readonly #streams = new Map<string, Map<string, Entry[]>>()
  readonly #retained = new Map<string, Entry>()
  /** History entries, stored longest ago first. */
  readonly #historyOrder = new Set<Entry>()
  /** Retained entries, stored longest ago first. */
  readonly #retainedOrder = new Set<Entry>()
  /** Entries with a finite expiry (lazily deleted: entries gone for other reasons stay until popped). */
  readonly #expiry = new MinHeap<Entry>((entry) => entry.expiresAt)
  #finite = 0
  #records = 0
  #bytes = 0

  /** Throws RangeError on bad limits. */
  constructor(options: HistoryOptions = {}) {
    this.#maxRecords = options.maxRecords ?? 10_000
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024
    positiveInteger('maxRecords', this.#maxRecords)
    positiveInteger('maxBytes', this.#maxBytes)
    this.#clock = options.clock ?? (() => performance.now())
  }

  /** Records held (history and retained, each counted once). */
  get size(): number {
    return this.#records
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * Stores a publication in its stream's history, keeping the last `depth` (0..: 0 keeps no history, only a retained
   * value), and as its topic's retained value when `retain` is set and it is newer. The depth is the stream's from now
   * on: a smaller one drops the oldest records. Throws RangeError on a bad seq or depth.
   */
  put(input: HistoryInput, depth: number): PutResult {
    positiveInteger('seq', input.seq)
    positiveInteger('depth', depth, true)
    const now = this.#clock()
    this.expire(now)
    const lifespan = input.lifespanMs ?? Infinity
    if (!(lifespan > 0)) return 'expired'
    if (input.data.byteLength > this.#maxBytes) return 'too-large'
    const { topic, publisher, seq } = input
    const records = this.#streams.get(topic)?.get(publisher) ?? []
    this.#trim(records, depth)
    const at = lowerBound(records, seq)
    const current = this.#retained.get(topic)
    if (records[at]?.seq === seq || (current?.publisher === publisher && current.seq === seq)) return 'duplicate'
    const keep = depth > 0 && !(records.length >= depth && at === 0)
    const retainFlag = input.retain ?? false
    const expiresAt = now + lifespan
    const entry = new Entry(topic, publisher, seq, input.timestamp ?? 0, expiresAt, retainFlag, input.data, input.meta)
    const retain = entry.retain && (current === undefined || newer(entry, current))
    if (!keep && !retain) return 'stale'
    this.#records++
    this.#bytes += entry.data.byteLength
    if (entry.expiresAt !== Infinity) {
      this.#finite++
      this.#expiry.push(entry)
    }
    if (keep) {
      entry.holders |= HISTORY
      records.splice(at, 0, entry)
      this.#historyOrder.add(entry)
      let byPublisher = this.#streams.get(topic)
      if (byPublisher === undefined) this.#streams.set(topic, (byPublisher = new Map()))
      byPublisher.set(publisher, records)
      this.#trim(records, depth)
    }
    if (retain) {
      if (current !== undefined) this.#dropRetained(current)
      entry.holders |= RETAINED
      this.#retained.set(topic, entry)
      this.#retainedOrder.add(entry)
    }
    this.#evict()
    return 'stored'
  }

  /** Drops the oldest records of a stream beyond `depth`. */
  #trim(records: Entry[], depth: number): void {
    while (records.length > depth) this.#dropHistory(records[0])
  }

  #evict(): void {
    while (this.#records > this.#maxRecords || this.#bytes > this.#maxBytes) {
      const order = this.#historyOrder.size > 0 ? this.#historyOrder : this.#retainedOrder
      const [oldest] = order
      if (oldest === undefined) return
      if (order === this.#historyOrder) this.#dropHistory(oldest)
      else this.#dropRetained(oldest)
      this.evicted++
    }
  }

  #dropHistory(entry: Entry): void {
    const byPublisher = this.#streams.get(entry.topic)
    const records = byPublisher?.get(entry.publisher)
    if (byPublisher === undefined || records === undefined) return
    const at = lowerBound(records, entry.seq)
    if (records[at] === entry) records.splice(at, 1)
    if (records.length === 0) {
      byPublisher.delete(entry.publisher)
      if (byPublisher.size === 0) this.#streams.delete(entry.topic)
    }
    this.#historyOrder.delete(entry)
    this.#release(entry, HISTORY)
  }

  #dropRetained(entry: Entry): void {
    if (this.#retained.get(entry.topic) === entry) this.#retained.delete(entry.topic)
    this.#retainedOrder.delete(entry)
    this.#release(entry, RETAINED)
  }

  #release(entry: Entry, holder: number): void {
    if ((entry.holders & holder) === 0) return
    entry.holders &= ~holder
    if (entry.holders !== 0) return
    this.#records--
    this.#bytes -= entry.data.byteLength
    if (entry.expiresAt !== Infinity) this.#finite--
  }

  /**
   * Drops every record whose lifespan has passed at `now` (default: the clock); returns how many. Reads and `put`
   * call it themselves; call it from a timer at {@link HistoryCache.nextExpiry} to free memory sooner.
   */
  expire(now = this.#clock()): number {
    const heap = this.#expiry
    let dropped = 0
    for (let top = heap.peek(); top !== undefined && top.expiresAt <= now; top = heap.peek()) {
      heap.pop()
      if (top.holders === 0) continue
      this.#dropHistory(top)
      this.#dropRetained(top)
      dropped++
    }
    this.expired += dropped
    if (heap.size > 2 * this.#finite + 64) this.#rebuildExpiry()
    return dropped
  }

  /** Re-creates the expiry heap from the live entries (drops the lazily deleted ones). */
  #rebuildExpiry(): void {
    this.#expiry.clear()
    for (const order of [this.#historyOrder, this.#retainedOrder]) {
      for (const entry of order) {
        if (entry.expiresAt !== Infinity && !(order === this.#retainedOrder && entry.holders & HISTORY)) {
          this.#expiry.push(entry)
        }
      }
    }
  }

  /** When the next record expires, on the cache's clock (ms); undefined when none will. May be early, never late. */
  nextExpiry(): number | undefined {
    return this.#expiry.peek()?.expiresAt
  }

  /** The live history of one stream, oldest sequence number first (a snapshot). */
  history(topic: string, publisher: string): HistoryRecord[] {
    this.expire()
    return [...(this.#streams.get(topic)?.get(publisher) ?? [])]
  }

  /** The live records of one stream with `from <= seq <= to`, oldest first (to answer a repair request). */
  range(topic: string, publisher: string, from: number, to: number): HistoryRecord[] {
    this.expire()
    const records = this.#streams.get(topic)?.get(publisher) ?? []
    const out: HistoryRecord[] = []
    for (let i = lowerBound(records, from); i < records.length && records[i].seq <= to; i++) out.push(records[i])
    return out
  }

  /** Every stream whose topic satisfies `match` (e.g. a compiled filter's `matches`), for a late joiner. */
  select(match: (topic: string) => boolean): HistoryStream[] {
    this.expire()
    const out: HistoryStream[] = []
    for (const [topic, byPublisher] of this.#streams) {
      if (!match(topic)) continue
      for (const [publisher, records] of byPublisher) out.push({ topic, publisher, records: [...records] })
    }
    return out
  }

  /** The topic's retained value; undefined when there is none, it was cleared, or it expired. */
  retained(topic: string): HistoryRecord | undefined {
    this.expire()
    const entry = this.#retained.get(topic)
    return entry === undefined || entry.data.byteLength === 0 ? undefined : entry
  }

  /** The retained values of every topic that satisfies `match` (tombstones left out). */
  selectRetained(match: (topic: string) => boolean): HistoryRecord[] {
    this.expire()
    const out: HistoryRecord[] = []
    for (const [topic, entry] of this.#retained) if (entry.data.byteLength > 0 && match(topic)) out.push(entry)
    return out
  }

  /** Drops one stream's history (not its retained value); returns how many records went. */
  deleteStream(topic: string, publisher: string): number {
    const records = this.#streams.get(topic)?.get(publisher)
    const before = this.#records
    while (records !== undefined && records.length > 0) this.#dropHistory(records[0])
    return before - this.#records
  }

  /** Drops the history and retained values of one publisher on every topic; returns how many records went. */
  deletePublisher(publisher: string): number {
    const before = this.#records
    for (const topic of [...this.#streams.keys()]) this.deleteStream(topic, publisher)
    for (const entry of [...this.#retainedOrder]) if (entry.publisher === publisher) this.#dropRetained(entry)
    return before - this.#records
  }
}
