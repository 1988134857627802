/**
 * The native consensus core as the consensus layer sees it: `NativeRaftGroup` of the addon (crates/glue-raft, tikv's
 * `raft` crate behind a sans-IO wrapper: ticks and messages in; messages, committed entries and state out). Loaded
 * lazily; tests may hand the layer another {@link OpenRaft}.
 */
import { bindingPath } from '../transport/native'

/** How a group's core is opened. IDs are 16 hex digits (raft IDs, u64). */
export interface NativeRaftConfig {
  id: string
  voters: string[]
  electionTick?: number
  heartbeatTick?: number
  maxSizePerMsg?: number
  maxInflightMsgs?: number
  dataDir?: string
  fsync?: boolean
}

/** A committed log entry, in log order. */
export interface NativeCommitted {
  index: number
  term: number
  kind: 'normal' | 'conf-change'
  data: Buffer
  change?: { kind: string; id: string }
}

/** The role, term, leader and indexes of a group's core. */
export interface NativeRaftStatus {
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate'
  term: number
  /** Raft ID of the leader, '' when none is known. */
  leader: string
  commit: number
  applied: number
  voters: string[]
  learners: string[]
}

/** What the core has for us now. */
export interface NativeRaftReady {
  messages: { to: string; data: Buffer }[]
  committed: NativeCommitted[]
  snapshot?: { index: number; term: number; data: Buffer } | null
  readStates: { index: number; ctx: Buffer }[]
  status?: NativeRaftStatus | null
  /** The core needs a snapshot now (a joining member waits for one): call `compact()`. */
  wantsSnapshot?: boolean
}

/** One group's core (see the module doc). Methods throw Errors with a `code` (ERR_GLUE_RAFT_MALFORMED, ...). */
export interface NativeRaft {
  tick(): void
  step(from: string, msg: Buffer): void
  propose(data: Buffer): void
  proposeConfChange(kind: 'add-voter' | 'remove-voter' | 'add-learner', id: string): void
  readIndex(ctx: Buffer): void
  campaign(): void
  /** On the leader: an append round to followers not told the commit index yet (raft skips one per commit). */
  announceCommit(): void
  transferLeader(to: string): void
  ready(): NativeRaftReady | null
  compact(applied: number, state: Buffer): void
  setApplied(applied: number): void
  status(): NativeRaftStatus
  close(): void
}

/** Opens a group's core. */
export type OpenRaft = (config: NativeRaftConfig) => NativeRaft

let cached: OpenRaft | undefined

/** The addon's `NativeRaftGroup.open`, loaded on first use. */
export function loadNativeRaft(): OpenRaft {
  if (cached === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(bindingPath()) as { NativeRaftGroup?: { open: OpenRaft } }
    const group = binding.NativeRaftGroup
    if (group === undefined) throw new Error('glue: the native addon has no NativeRaftGroup: rebuild it (`npm run build:native`)')
    cached = (config) => group.open(config)
  }
  return cached
}
