/** Counters of the consensus layer (summed over an endpoint's groups; they only grow). */
export interface ConsensusCounts {
  /** Raft messages sent to members. */
  consensusMessagesSent: number
  /** Raft messages from members handed to the core. */
  consensusMessagesReceived: number
  /** Raft messages for a member that is not a peer now (Raft sends again). */
  consensusUnroutable: number
  /** Batches of commands forwarded to the leader / proposed for another member. */
  consensusForwardedOut: number
  consensusForwardedIn: number
  /** Commands applied (and conf changes). */
  consensusEntriesApplied: number
  /** Snapshots taken (log compactions). */
  consensusSnapshots: number
  /** Malformed consensus messages or commands, dropped (or skipped by every member alike). */
  consensusMalformed: number
  /** Messages from endpoints that are not members, dropped. */
  consensusForeign: number
  /** Messages of a group with the same name but other members (another group ID), dropped. */
  consensusMismatched: number
  /** Publications that failed (a member went away): Raft sends again. */
  consensusSendFailures: number
  /** Events dropped because an `events()` or `watch()` iterator was not read. */
  consensusEventDrops: number
}

/** All zero. */
export function zeroConsensusCounts(): ConsensusCounts {
  return {
    consensusMessagesSent: 0,
    consensusMessagesReceived: 0,
    consensusUnroutable: 0,
    consensusForwardedOut: 0,
    consensusForwardedIn: 0,
    consensusEntriesApplied: 0,
    consensusSnapshots: 0,
    consensusMalformed: 0,
    consensusForeign: 0,
    consensusMismatched: 0,
    consensusSendFailures: 0,
    consensusEventDrops: 0,
  }
}
