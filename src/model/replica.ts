/**
 * The state of one replica of a replicated map, set or counter, and every rule of merging: a delta-state CRDT with a
 * causal context (Almeida, Shoker, Baquero: "Delta State Replicated Data Types", 2018). Pure: no timers, no I/O;
 * `MapSync` drives it. Convergence does not depend on delivery order, loss or duplication, only on every replica
 * eventually exchanging its news with the others.
 *
 * State: a {@link DotStore} of entries and a {@link CausalContext} of every dot seen. An entry of the store whose dot
 * another replica has seen but does not hold was removed there (superseded, deleted, collected), and is removed
 * here when the two compare that part of their stores (`dots()` / `applyDots()`): removal is sticky, so every local
 * decision to drop an entry ends up everywhere.
 *
 * - Local writes (`write`) stamp the entry with the hybrid clock and the next counter of this replica's origin.
 * - Remote entries (`applyEntry`) are skipped when their dot was seen, held back (not applied, not counted as seen)
 *   when stamped further ahead than the skew bound, else inserted by the store's rule.
 * - Catch-up: `missingFor(context)` lists what a replica with that context lacks; applying those entries and then
 *   the sender's context (`mergeContext`) brings it level.
 * - Tombstones (lww) are collected by `collect()` once every member has seen them or after the horizon.
 */
import { CausalContext } from './causal-context'
import { DotStore, Inserted, type StoreMode } from './dot-store'
import { Entry } from './entry'
import { type HybridClock, LOGICAL_PER_MS } from './hlc'
import { type Origin, OriginTable } from './origins'
import { PendingWrites } from './pending-writes'

/** Entries held back for a too-far-ahead timestamp, at most (more are dropped and fetched again later). */
export const MAX_HELD = 10_000
/** Dots of entries dropped beyond MAX_HELD that are kept out of the context (so that they are fetched again), at most. */
export const MAX_DROPPED = 100_000

/** A change of what a key shows: `before` / `after` are the winning entries (undefined or a tombstone: absent). */
export interface RawChange {
  readonly key: string
  readonly before: Entry | undefined
  readonly after: Entry | undefined
  /** The entry written, or the removed entry. */
  readonly cause: Entry
  /** Made by this replica (a local write). */
  readonly local: boolean
}

/** A removal of a seen entry, as it travels in a delta (mv mode: what a write or delete saw at its key). */
export interface Removal {
  readonly key: string
  readonly origin: Origin
  readonly counter: number
}

/** This replica's writes since the last `takeDelta()`. */
export interface Delta {
  /** First and last counter of this replica's origin that the delta covers (entries may be fewer: overwritten). */
  readonly first: number
  readonly last: number
  /** The newest own entry per key written, by counter. */
  readonly entries: Entry[]
  /** Entries of others the writes removed (mv). */
  readonly removals: Removal[]
}

/** One step of the journal that `persist` appends to its log (replayed in order on open). */
export type JournalOp =
  | { readonly op: 'entry'; readonly entry: Entry }
  | { readonly op: 'remove'; readonly removal: Removal }
  | { readonly op: 'range'; readonly origin: Origin; readonly first: number; readonly last: number }

/** Counters of a replica. */
export interface ReplicaCounts {
  /** Entries received whose dot was already seen. */
  duplicates: number
  /** Entries held back (timestamp too far ahead of this clock). */
  heldAhead: number
  /** Entries dropped because the hold was full. */
  heldDropped: number
  /** Tombstones collected: by `collect()`, or removed after a member that collected them showed it had (`applyDots`). */
  collected: number
  /** Entries removed because another replica had removed them. */
  removedByPeer: number
}

/** See the module doc. */
export class Replica {
  readonly origins = new OriginTable()
  readonly context = new CausalContext()
  readonly store: DotStore
  readonly clock: HybridClock
  /** This run's origin. */
  readonly self: Origin
  readonly counts: ReplicaCounts = { duplicates: 0, heldAhead: 0, heldDropped: 0, collected: 0, removedByPeer: 0 }
  /** Called for each change of what a key shows. */
  onChange: ((change: RawChange) => void) | undefined
  /** When set, every state change is also appended here (for `persist`). */
  journal: JournalOp[] | undefined
  /** Grows with every change of the state (entries, context): tells when a digest is due. */
  version = 0
  #counter = 0
  readonly #pending: PendingWrites
  #removals: Removal[] = []
  /** Held entries by `originIndex:counter`. */
  readonly #held = new Map<string, Entry>()
  /** Per origin index, counters of entries held back or dropped beyond MAX_HELD: not to be marked seen by ranges. */
  readonly #notSeen = new Map<number, Set<number>>()
  readonly #droppedDots = new Set<string>()

  constructor(mode: StoreMode, clock: HybridClock, selfId: string, incarnation: number) {
    this.store = new DotStore(mode)
    this.clock = clock
    this.self = this.origins.intern(selfId, incarnation)
    this.#pending = new PendingWrites(this.self)
  }

  /** Writes made by this run. */
  get counter(): number {
    return this.#counter
  }

  /** Entries held back for a timestamp too far ahead. */
  get held(): number {
    return this.#held.size
  }

  /**
   * A local write (`value` undefined: a delete). Returns false when it changed nothing: deleting a key that shows
   * nothing. In lww mode a delete leaves a tombstone; in mv mode it removes the entries it sees.
   */
  write(key: string, codec: number, value: Uint8Array | undefined): boolean {
    // A value written in lww mode needs no look-up first: inserting tells what the key showed before.
    const lookUp = value === undefined || this.store.mode === 'mv'
    const winner = lookUp ? this.store.winner(key) : undefined
    if (value === undefined && (winner === undefined || winner.deleted)) return false
    if (this.store.mode === 'mv') {
      for (const e of [...this.store.at(key)]) {
        this.store.remove(e)
        this.#journal({ op: 'remove', removal: e })
        if (!this.#pending.drop(e)) this.#removals.push(e)
      }
      if (value === undefined) {
        // A delete takes a counter of its own (no entry), so that acknowledging it is acknowledging that counter.
        this.context.add(this.self.index, ++this.#counter)
        this.#journal({ op: 'range', origin: this.self, first: this.#counter, last: this.#counter })
        this.#emit(key, winner, undefined, winner as Entry, true)
        return true
      }
    }
    const entry = new Entry(key, this.self, ++this.#counter, this.clock.now(), codec, value)
    this.context.add(this.self.index, entry.counter)
    const inserted = this.store.insert(entry)
    const before = lookUp ? winner : this.store.previous
    this.#journal({ op: 'entry', entry })
    this.#pending.add(entry, this.store.previous)
    this.#emit(key, before, this.#winnerAfter(entry, inserted), entry, true)
    return true
  }

  /** True when local writes wait for `takeDelta()`. */
  get hasDelta(): boolean {
    return this.#pending.size > 0 || this.#removals.length > 0 || this.#pending.from <= this.#counter
  }

  /** Own writes since the last call (undefined when none): what the next delta carries. */
  takeDelta(): Delta | undefined {
    if (!this.hasDelta) return undefined
    const first = this.#pending.from
    const delta = { first, last: this.#counter, entries: this.#pending.take(this.#counter + 1), removals: this.#removals }
    this.#removals = []
    return delta
  }

  /**
   * Applies an entry from another replica. Returns false when it was not applied now (seen already, or held back
   * for its timestamp: later than `limit`, by default {@link HybridClock.limit} now).
   */
  applyEntry(entry: Entry, limit = this.clock.limit()): boolean {
    const { origin, counter } = entry
    if (this.context.has(origin.index, counter)) {
      this.counts.duplicates++
      return false
    }
    if (entry.hlc > limit) {
      this.#hold(entry)
      return false
    }
    return this.#insert(entry)
  }

  /** {@link applyEntry} of each entry, against one reading of the clock's skew bound. */
  applyEntries(entries: readonly Entry[]): void {
    const limit = this.clock.limit()
    for (const e of entries) this.applyEntry(e, limit)
  }

  /** Inserts an entry whose timestamp was checked ({@link HybridClock.tooFarAhead}). */
  #insert(entry: Entry): boolean {
    if (this.#notSeen.size > 0) this.#seen(entry.origin.index, entry.counter)
    this.clock.adopt(entry.hlc)
    this.context.add(entry.origin.index, entry.counter)
    this.#journal({ op: 'entry', entry })
    const inserted = this.store.insert(entry)
    if (inserted === Inserted.Dominated) return true
    if (this.store.mode === 'lww' && this.store.previous !== undefined) this.#pending.shadow(this.store.previous)
    this.#emit(entry.key, this.store.previous, this.#winnerAfter(entry, inserted), entry, false)
    return true
  }

  /** The winner at the key of `entry` just after inserting it (it is the one stored, in lww mode). */
  #winnerAfter(entry: Entry, inserted: Inserted): Entry | undefined {
    if (this.store.mode !== 'lww') return this.store.winner(entry.key)
    return inserted === Inserted.Stored ? entry : this.store.previous
  }

  /** Puts back an entry from a snapshot or journal (no events, no skew check; the clock moves past it). */
  restoreEntry(entry: Entry): void {
    if (this.store.find(entry.key, entry.origin.index, entry.counter) !== undefined) return
    this.context.add(entry.origin.index, entry.counter)
    this.clock.restore(entry.hlc)
    this.store.insert(entry)
    this.version++
  }

  /** Puts back a context from a snapshot. */
  restoreContext(context: CausalContext): void {
    this.context.merge(context)
    this.version++
  }

  /** Applies a removal that travelled with a delta: the dot is seen, and the entry goes if held. */
  applyRemoval(removal: Removal): void {
    const { key, origin, counter } = removal
    this.context.add(origin.index, counter)
    this.#journal({ op: 'remove', removal })
    this.#held.delete(`${origin.index}:${counter}`)
    this.#seen(origin.index, counter)
    const entry = this.store.find(key, origin.index, counter)
    if (entry !== undefined) this.#removeEntry(entry)
  }

  /**
   * Marks the dots `first..last` of `origin` as seen (a delta's range: the writes it covers), except those of held
   * entries (they count as seen once applied).
   */
  applyRange(origin: Origin, first: number, last: number): void {
    let from = first
    const skip = this.#notSeen.get(origin.index)
    if (skip !== undefined) {
      const inside = [...skip].filter((c) => c >= first && c <= last).sort((a, b) => a - b)
      for (const counter of inside) {
        this.#addRange(origin, from, counter - 1)
        from = counter + 1
      }
    }
    this.#addRange(origin, from, last)
  }

  /** The dot is seen (applied or removed): ranges may cover it from now on. */
  #seen(originIndex: number, counter: number): void {
    const skip = this.#notSeen.get(originIndex)
    if (skip === undefined || !skip.delete(counter)) return
    this.#droppedDots.delete(`${originIndex}:${counter}`)
    if (skip.size === 0) this.#notSeen.delete(originIndex)
  }

  #notSeenAdd(originIndex: number, counter: number): void {
    let skip = this.#notSeen.get(originIndex)
    if (skip === undefined) this.#notSeen.set(originIndex, (skip = new Set()))
    skip.add(counter)
  }

  #addRange(origin: Origin, first: number, last: number): void {
    if (this.context.addRange(origin.index, first, last)) this.#journal({ op: 'range', origin, first, last })
  }

  /** Adds every dot of another replica's context (after applying the entries it sent for this one). */
  mergeContext(other: CausalContext): void {
    for (let i = 0; i < other.length; i++) {
      const d = other.of(i)
      if (d === undefined) continue
      this.applyRange(this.origins.at(i), 1, d.contiguous)
      for (let k = 0; k < d.ranges.length; k += 2) this.applyRange(this.origins.at(i), d.ranges[k], d.ranges[k + 1])
    }
    // Dropped entries were kept out of this context once; the sender pushed what it holds of them (dropped again if
    // still too far ahead), so from now on a dot it did not push was superseded there and may count as seen.
    for (const dot of this.#droppedDots) {
      const [o, c] = dot.split(':').map(Number)
      if (!this.#held.has(dot)) this.#seen(o, c)
    }
    this.#droppedDots.clear()
  }

  /** The entries held here whose dots `context` lacks: what a replica with that context is missing. */
  missingFor(context: CausalContext): Entry[] {
    const out: Entry[] = []
    this.store.forEach((e) => {
      if (!context.has(e.origin.index, e.counter)) out.push(e)
    })
    return out
  }

  /** The dots held in the given buckets, by bucket. */
  dots(buckets: ReadonlySet<number>): Map<number, Entry[]> {
    const out = new Map<number, Entry[]>()
    for (const b of buckets) out.set(b, [])
    this.store.forEach((e) => out.get(e.bucket)?.push(e))
    return out
  }

  /**
   * Compares with another replica's dots of some buckets and its context: entries held here that it has seen but
   * does not hold were removed there and are removed here. Returns how many dots it holds that this replica lacks.
   */
  applyDots(theirs: CausalContext, held: ReadonlyMap<number, ReadonlySet<string>>): number {
    let lacking = 0
    for (const [, dots] of held) {
      for (const dot of dots) {
        const [o, c] = dot.split(':')
        if (!this.context.has(Number(o), Number(c))) lacking++
      }
    }
    const doomed: Entry[] = []
    this.store.forEach((e) => {
      const dots = held.get(e.bucket)
      if (dots === undefined) return
      if (theirs.has(e.origin.index, e.counter) && !dots.has(`${e.origin.index}:${e.counter}`)) doomed.push(e)
    })
    for (const e of doomed) {
      // A tombstone that a member no longer holds was collected there (it saw every member's report, or the horizon
      // passed): it is collected here too, and counted as such.
      if (e.deleted && this.store.mode === 'lww') this.counts.collected++
      else this.counts.removedByPeer++
      this.#journal({ op: 'remove', removal: e })
      this.#removeEntry(e)
    }
    return lacking
  }

  /**
   * Collects tombstones that every one of `members` (their reported contexts) has seen, or that are older than
   * `horizonMs` by this clock. Returns how many went.
   */
  collect(members: readonly CausalContext[], horizonMs: number): number {
    const before = (this.clock.peek() / LOGICAL_PER_MS - horizonMs) * LOGICAL_PER_MS
    const gone: Entry[] = []
    for (const t of this.store.tombstones) {
      if (t.hlc < before || members.every((m) => m.has(t.origin.index, t.counter))) gone.push(t)
    }
    for (const t of gone) this.store.remove(t)
    this.counts.collected += gone.length
    return gone.length
  }

  /** Applies held entries whose time has come; returns how many. */
  releaseHeld(): number {
    let released = 0
    for (const [dot, entry] of this.#held) {
      if (this.clock.tooFarAhead(entry.hlc)) continue
      this.#held.delete(dot)
      if (this.context.has(entry.origin.index, entry.counter)) continue // removed meanwhile
      this.#insert(entry)
      released++
    }
    return released
  }

  /** True when the entry with this dot is held back. */
  isHeld(originIndex: number, counter: number): boolean {
    return this.#held.has(`${originIndex}:${counter}`)
  }

  #hold(entry: Entry): void {
    const dot = `${entry.origin.index}:${entry.counter}`
    if (this.#held.has(dot)) return
    if (this.#held.size >= MAX_HELD) {
      // Dropped, but kept out of the context (a range of the same delta must not mark it seen): fetched again later.
      this.counts.heldDropped++
      if (this.#droppedDots.size < MAX_DROPPED && !this.#droppedDots.has(dot)) {
        this.#droppedDots.add(dot)
        this.#notSeenAdd(entry.origin.index, entry.counter)
      }
      return
    }
    this.counts.heldAhead++
    this.#held.set(dot, entry)
    this.#notSeenAdd(entry.origin.index, entry.counter)
  }

  #removeEntry(entry: Entry): void {
    const before = this.store.winner(entry.key)
    this.store.remove(entry)
    this.#pending.drop(entry)
    this.#emit(entry.key, before, this.store.winner(entry.key), entry, false)
  }

  #emit(key: string, before: Entry | undefined, after: Entry | undefined, cause: Entry, local: boolean): void {
    if (this.onChange === undefined) return
    const wasShown = before !== undefined && !before.deleted
    const isShown = after !== undefined && !after.deleted
    if (before === after && this.store.mode === 'lww') return
    if (!wasShown && !isShown) return
    this.onChange({ key, before, after, cause, local })
  }

  #journal(op: JournalOp): void {
    this.version++
    this.journal?.push(op)
  }
}
