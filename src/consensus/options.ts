/**
 * Options of the consensus layer, owned here: per group ({@link ConsensusOptions}) and per operation
 * ({@link OperationOptions}, {@link LockOptions}), with their validation (InvalidOptionError naming the option).
 */
import { InvalidOptionError } from '../errors'
import { checkKnownKeys, explicit, intRange, invalid, numberOption, optionsObject } from '../option-checks'
import { type Codec, type CodecOption, resolveCodec } from '../topics/codec'
import { isEndpointId } from './ids'

/** Options of `ep.consensus(name, options)`. */
export interface ConsensusOptions {
  /**
   * The group's voting members: endpoint names (as in `Endpoint.open({ name })`) or IDs (16 hex digits), 1..64, this
   * endpoint among them (unless `join`). Every member must be opened with the same list: it identifies the group.
   */
  members: readonly string[]
  /**
   * Keep the log, the hard state (term, vote) and snapshots here, fsynced before anything that depends on them is
   * sent (as Raft requires), so that a restarted member rejoins safely. Default: memory only (see the README for
   * what a restart without it means).
   */
  dataDir?: string
  /**
   * Join a running group that was founded with `members` (this endpoint not among them): it takes part once a
   * member called `addMember(<this endpoint's name>)`. Default false.
   */
  join?: boolean
  /** The logical clock of the group, ms per tick, 5..1000. Default 50. */
  tickMs?: number
  /**
   * Ticks without a leader's heartbeat before a follower starts an election, 3..1000. The election timeout is
   * `electionTicks × tickMs`, randomised by Raft into [1×, 2×): default 10 ticks, so 500..1000 ms.
   */
  electionTicks?: number
  /** Ticks between the leader's heartbeats, 1..electionTicks-1. Default 2 (100 ms). */
  heartbeatTicks?: number
  /**
   * Default deadline of every operation (kv, locks, propose, membership), ms, 1..2147483647 (checked every tick, so
   * up to `tickMs` later). Default 5000.
   */
  deadlineMs?: number
  /** How kv values become bytes: 'msgpack', 'json', 'raw' or a codec object. Default 'msgpack'. */
  codec?: CodecOption
  /** Applied entries between snapshots (log compaction), 16..10000000. Default 10000. */
  snapshotEntries?: number
  /** Capacity of each `events()` / `kv.watch()` iterator (oldest dropped, counted), 1..2^31. Default 65536. */
  queueLimit?: number
}

/** Options of one operation. */
export interface OperationOptions {
  /** Give up after this many ms with QuorumLostError, 1..2147483647. Default: the group's `deadlineMs`. */
  deadlineMs?: number
}

/** Options of `g.lock()`. */
export interface LockOptions extends OperationOptions {
  /**
   * The lease, ms, 100..86400000: the holder renews it every third of it; when no renewal commits for this long (the
   * holder crashed, was partitioned away, or its event loop stalled), the lock is released. Default 10000.
   */
  ttlMs?: number
  /**
   * How long to wait for a held lock to become free, ms, 0..2147483647 (0: fail at once if held). Default: the
   * operation's deadline.
   */
  waitMs?: number
}

/** {@link ConsensusOptions} validated. */
export interface ResolvedConsensusOptions {
  members: string[]
  dataDir: string | undefined
  join: boolean
  tickMs: number
  electionTicks: number
  heartbeatTicks: number
  deadlineMs: number
  codec: Codec<never, unknown>
  snapshotEntries: number
  queueLimit: number
}

const KEYS = ['members', 'dataDir', 'join', 'tickMs', 'electionTicks', 'heartbeatTicks', 'deadlineMs', 'codec', 'snapshotEntries', 'queueLimit']
const MAX_MEMBERS = 64
const MAX_DEADLINE = 2 ** 31 - 1

/** Validates the options of `ep.consensus()`. */
export function resolveConsensusOptions(options: unknown): ResolvedConsensusOptions {
  const o = optionsObject(options, 'consensus()')
  checkKnownKeys(o, KEYS, 'consensus()')
  const members = o.members
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_MEMBERS) {
    throw invalid(explicit('members', members), `an array of 1..${MAX_MEMBERS} endpoint names or IDs`)
  }
  const seen = new Set<string>()
  for (const m of members) {
    if (typeof m !== 'string' || m.length === 0 || Buffer.byteLength(m) > 255) {
      throw invalid(explicit('members', members), 'endpoint names (1..255 UTF-8 bytes) or IDs (16 hex digits)')
    }
    const key = isEndpointId(m) ? m.toLowerCase() : m
    if (seen.has(key)) throw invalid(explicit('members', members), `each member once (${JSON.stringify(m)} twice)`)
    seen.add(key)
  }
  if (o.dataDir !== undefined && (typeof o.dataDir !== 'string' || o.dataDir.length === 0 || o.dataDir.includes('\0'))) {
    throw invalid(explicit('dataDir', o.dataDir), 'a directory path')
  }
  if (o.join !== undefined && typeof o.join !== 'boolean') throw invalid(explicit('join', o.join), 'a boolean')
  const electionTicks = numberOption(o, 'electionTicks', 10, intRange(3, 1000, 'ticks'))
  const heartbeatTicks = numberOption(o, 'heartbeatTicks', Math.min(2, electionTicks - 1), intRange(1, electionTicks - 1, 'ticks'))
  let codec: Codec<never, unknown>
  try {
    codec = resolveCodec((o.codec as CodecOption | undefined) ?? 'msgpack')
  } catch (err) {
    throw new InvalidOptionError(`Invalid option codec: ${(err as Error).message}`, { option: 'codec', value: o.codec })
  }
  return {
    members: members.map((m: string) => (isEndpointId(m) ? m.toLowerCase() : m)),
    dataDir: o.dataDir as string | undefined,
    join: o.join === true,
    tickMs: numberOption(o, 'tickMs', 50, intRange(5, 1000)),
    electionTicks,
    heartbeatTicks,
    deadlineMs: numberOption(o, 'deadlineMs', 5000, intRange(1, MAX_DEADLINE)),
    codec,
    snapshotEntries: numberOption(o, 'snapshotEntries', 10_000, intRange(16, 10_000_000, 'entries')),
    queueLimit: numberOption(o, 'queueLimit', 65_536, intRange(1, 2 ** 31, 'events')),
  }
}

/** The deadline of one operation. */
export function resolveDeadline(options: OperationOptions | undefined, fallback: number, extra: readonly string[] = []): number {
  const o = optionsObject(options, 'the operation')
  checkKnownKeys(o, ['deadlineMs', ...extra], 'the operation')
  return numberOption(o, 'deadlineMs', fallback, intRange(1, MAX_DEADLINE))
}

/** The options of `lock()`. */
export function resolveLockOptions(options: LockOptions | undefined, fallback: number): { ttlMs: number; waitMs: number; deadlineMs: number } {
  const deadlineMs = resolveDeadline(options, fallback, ['ttlMs', 'waitMs'])
  const o = (options ?? {}) as Record<string, unknown>
  return {
    deadlineMs,
    ttlMs: numberOption(o, 'ttlMs', 10_000, intRange(100, 86_400_000)),
    waitMs: numberOption(o, 'waitMs', deadlineMs, intRange(0, MAX_DEADLINE)),
  }
}
