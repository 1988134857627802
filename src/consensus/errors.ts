/**
 * The consensus layer's errors, each with a stable `code`: {@link QuorumLostError}, {@link LockLostError},
 * {@link NotMemberError}, {@link MembershipMismatchError}, {@link NotLeaderError}.
 */
import { ErrorCode, GlueError } from '../errors'
import { describeReceivers, type MissingReceiver } from '../errors'

/**
 * No majority of the group was reachable (or answered) within `deadlineMs`: the operation may or may not have taken
 * effect (a write proposed before the deadline can still commit; a later read shows it). `unreachable` lists the
 * members that were not peers at the deadline.
 */
export class QuorumLostError extends GlueError {
  /** Members that were not reachable when the deadline passed. */
  readonly unreachable: readonly MissingReceiver[]

  constructor(message: string, unreachable: readonly MissingReceiver[] = []) {
    super(ErrorCode.QUORUM_LOST, unreachable.length > 0 ? `${message}; unreachable: ${describeReceivers(unreachable)}` : message)
    this.unreachable = unreachable
  }
}

/**
 * A lock was lost: its lease ran out before a renewal committed (the holder crashed, was partitioned away or its
 * event loop stalled), or it was released already. Whatever the lock guarded must stop using its token.
 */
export class LockLostError extends GlueError {
  /** The lock's name. */
  readonly lock: string
  /** The fencing token that is no longer valid. */
  readonly token: number

  constructor(message: string, lock: string, token: number) {
    super(ErrorCode.LOCK_LOST, message)
    this.lock = lock
    this.token = token
  }
}

/** This endpoint is not a member of the group (not in `members`, or removed), so it cannot take part. */
export class NotMemberError extends GlueError {
  /** The group's name. */
  readonly group: string

  constructor(message: string, group: string) {
    super(ErrorCode.NOT_MEMBER, message)
    this.group = group
  }
}

/**
 * A peer opened the same group name with a different member list (its group ID differs): the two cannot form one
 * group, and their messages are dropped. Open every member with the same `members` (and new ones with `join`).
 */
export class MembershipMismatchError extends GlueError {
  /** The group's name. */
  readonly group: string
  /** The peer whose list differs. */
  readonly peer: MissingReceiver

  constructor(message: string, group: string, peer: MissingReceiver) {
    super(ErrorCode.MEMBERSHIP_MISMATCH, message)
    this.group = group
    this.peer = peer
  }
}

/** Only the leader can do this (e.g. `transferLeadership`); ordinary calls (kv, locks, propose) are forwarded. */
export class NotLeaderError extends GlueError {
  /** The leader, when one is known. */
  readonly leader: MissingReceiver | undefined

  constructor(message: string, leader: MissingReceiver | undefined) {
    super(ErrorCode.NOT_LEADER, message)
    this.leader = leader
  }
}
