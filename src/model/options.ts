/**
 * Options of the model layer, owned here: per replicated object ({@link ReplicaOptions}, {@link MapOptions}) and per
 * write ({@link WriteOptions}), with their validation. Bad values throw `InvalidOptionError` naming the option.
 */
import { InvalidOptionError } from '../errors'
import { checkKnownKeys, explicit, intRange, invalid, numberOption, optionsObject } from '../option-checks'
import { type Codec, type CodecOption, resolveCodec } from '../topics/codec'

/** When a persistent replica's log reaches the disk; see `SnapshotLog` (default `{ intervalMs: 100 }`). */
export type FsyncOption = 'always' | 'never' | { intervalMs: number }

/** Where and how a replica keeps its state on disk. */
export interface PersistOptions {
  /** Directory (created if missing); each replicated object has its own files in it. */
  dir: string
  /**
   * When appended changes are fsynced: `'always'` (each batch of changes, before the next), `'never'` (only at
   * snapshots and close), or `{ intervalMs }` (within that many ms, 1..3600000). Default `{ intervalMs: 100 }`.
   */
  fsync?: FsyncOption
}

/** Options every replicated object (map, counter, set) takes. */
export interface ReplicaOptions {
  /**
   * Keep a snapshot and an append log on disk, so that a restarted endpoint comes back with its state and then
   * syncs only the difference: a directory, or {@link PersistOptions}. Default: memory only.
   */
  persist?: string | PersistOptions
  /**
   * How often a member publishes its digest (context and store summary) when something changed or differs from a
   * member's, ms, 50..600000; unchanged members send one every tenth interval. Catch-up after a partition starts
   * at once when the peers see each other again; this bounds how long a loss that nothing else reveals stays
   * unrepaired. Default 1000.
   */
  digestIntervalMs?: number
  /**
   * Tombstones of deletes are collected once every known member has seen them, or at the latest after this many
   * ms, 1000..31536000000 (a year). A member away longer than this is forgotten and, when it comes back, catches up
   * by comparing every part of the stores that differs, at worst a full state transfer. Default 86400000 (a day).
   */
  tombstoneHorizonMs?: number
  /**
   * The accepted clock skew between endpoints, ms, 1..3600000: a write stamped further ahead of this endpoint's
   * clock is held back (not applied, counted in `modelHeldAhead`) until the clock gets there, so that no endpoint
   * with a clock running ahead can push a write into the future. Default 60000.
   */
  maxSkewMs?: number
  /** Capacity of each `changes()` iterator, events: beyond it the oldest is dropped and counted. Default 65536. */
  queueLimit?: number
}

/** Options of `ep.map()`. */
export interface MapOptions extends ReplicaOptions {
  /** How values become bytes: 'msgpack', 'json', 'raw' or a codec object (every member must use the same). Default 'msgpack'. */
  codec?: CodecOption
  /**
   * What concurrent writes to one key leave: `'last-writer-wins'` (one value: the latest by hybrid clock, ties
   * broken by endpoint ID; deletes win over older writes and lose to newer ones) or `'keep-all'` (every write no
   * other write at the key had seen stays; `getAll()` returns them, `get()` the latest; a delete removes what it
   * saw). Every member must use the same. Default `'last-writer-wins'`.
   */
  conflict?: 'last-writer-wins' | 'keep-all'
}

/** Options of one write (`set`, `delete`, `increment`, `add`, `remove`). */
export interface WriteOptions {
  /**
   * Wait until this many endpoints (this one included) hold the change: a number, or `'majority'` (more than half
   * of this endpoint and the members up; a member that held the change and then left still counts). The call then
   * returns a Promise that rejects with `QuorumError` listing who did not within `deadlineMs`. Default: no wait.
   */
  quorum?: 'majority' | number
  /** How long a quorum write waits, ms, 1..2147483647. Default 5000. */
  deadlineMs?: number
}

/** {@link ReplicaOptions} validated, with defaults. */
export interface ResolvedReplicaOptions {
  persist: { dir: string; fsync: FsyncOption } | undefined
  digestIntervalMs: number
  tombstoneHorizonMs: number
  maxSkewMs: number
  queueLimit: number
}

/** {@link MapOptions} validated, with defaults. */
export interface ResolvedMapOptions extends ResolvedReplicaOptions {
  codec: Codec<never, unknown>
  mode: 'lww' | 'mv'
}

const range = intRange
const num = numberOption
const checkKnown = checkKnownKeys
const asObject = optionsObject

const REPLICA_KEYS = ['persist', 'digestIntervalMs', 'tombstoneHorizonMs', 'maxSkewMs', 'queueLimit']

function resolvePersist(value: unknown): ResolvedReplicaOptions['persist'] {
  if (value === undefined) return undefined
  if (typeof value === 'string') {
    if (value.length === 0 || value.includes('\0')) throw invalid(explicit('persist', value), 'a directory path')
    return { dir: value, fsync: { intervalMs: 100 } }
  }
  const o = asObject(value, 'persist')
  checkKnown(o, ['dir', 'fsync'], 'persist')
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw invalid(explicit('persist.dir', o.dir), 'a directory path')
  return { dir: o.dir, fsync: (o.fsync as FsyncOption | undefined) ?? { intervalMs: 100 } }
}

/** Validates the options common to every replicated object. */
export function resolveReplicaOptions(options: unknown, what: string, extra: readonly string[] = []): ResolvedReplicaOptions {
  const o = asObject(options, what)
  checkKnown(o, [...REPLICA_KEYS, ...extra], what)
  return {
    persist: resolvePersist(o.persist),
    digestIntervalMs: num(o, 'digestIntervalMs', 1000, range(50, 600_000)),
    tombstoneHorizonMs: num(o, 'tombstoneHorizonMs', 86_400_000, range(1000, 31_536_000_000)),
    maxSkewMs: num(o, 'maxSkewMs', 60_000, range(1, 3_600_000)),
    queueLimit: num(o, 'queueLimit', 65_536, range(1, 2 ** 31, 'events')),
  }
}

/** The codec of an object (default msgpack); InvalidOptionError for a bad one. */
export function resolveObjectCodec(value: unknown): Codec<never, unknown> {
  try {
    return resolveCodec((value as CodecOption | undefined) ?? 'msgpack')
  } catch (err) {
    throw new InvalidOptionError(`Invalid option codec: ${(err as Error).message}`, { option: 'codec', value })
  }
}

/** Validates the options of `ep.map()`. */
export function resolveMapOptions(options: MapOptions | undefined): ResolvedMapOptions {
  const base = resolveReplicaOptions(options, 'map()', ['codec', 'conflict'])
  const o = (options ?? {}) as Record<string, unknown>
  const codec = resolveObjectCodec(o.codec)
  const conflict = o.conflict ?? 'last-writer-wins'
  if (conflict !== 'last-writer-wins' && conflict !== 'keep-all') {
    throw invalid(explicit('conflict', conflict), "'last-writer-wins' or 'keep-all'")
  }
  return { ...base, codec, mode: conflict === 'keep-all' ? 'mv' : 'lww' }
}

/** {@link WriteOptions} validated: undefined when the write does not wait. */
export function resolveWriteOptions(options: WriteOptions | undefined): { quorum: 'majority' | number; deadlineMs: number } | undefined {
  if (options === undefined) return undefined
  const o = asObject(options, 'the write')
  checkKnown(o, ['quorum', 'deadlineMs'], 'a write')
  const deadlineMs = num(o, 'deadlineMs', 5000, range(1, 2 ** 31 - 1))
  if (o.quorum === undefined) return undefined
  if (o.quorum !== 'majority' && !(typeof o.quorum === 'number' && Number.isInteger(o.quorum) && o.quorum >= 1)) {
    throw invalid(explicit('quorum', o.quorum), "'majority' or an integer ≥ 1 (endpoints, this one included)")
  }
  return { quorum: o.quorum, deadlineMs }
}
