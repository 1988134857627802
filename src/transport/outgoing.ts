/**
 * The records of the reliable send path: one {@link Outgoing} per message until it is settled, one
 * {@link Channel} per native reliable channel (one per peer for unicasts, one for broadcasts).
 */
import type { Fifo } from '../util/fifo'
import type { PeerKey } from './send-slab'

/** Where a message is. */
export const State = {
  /** Not yet handed to the native core (about to be, or waiting in its channel's queue). */
  Waiting: 0,
  /** Handed over under `token`; waiting for the report. */
  InFlight: 1,
  /** Settled: its promise is resolved or rejected. */
  Done: 2,
} as const
export type State = (typeof State)[keyof typeof State]

/** One reliable message until it is settled. */
export interface Outgoing {
  state: State
  /** Waiting in its channel's queue: counted by the backlog and present in its deadline heap. */
  held: boolean
  /** The token it was handed over with (while in flight). */
  token: number
  /** The receiver's ID; undefined for a broadcast. */
  readonly peerId: string | undefined
  /** The receiver's name at send time ('' for a broadcast). */
  readonly peerName: string
  /**
   * The payload while it waits. Once handed over it is kept only when the sender owns it (a copy, or a buffer
   * given for good); a message the core refuses for a full channel comes back with the core's copy.
   */
  data: Uint8Array | undefined
  /** Payload bytes. */
  readonly size: number
  /** Absolute deadline on the `performance.now()` clock. */
  readonly deadline: number
  /** Pass the remaining time to the core (a deadline was given, or the message waited). */
  passDeadline: boolean
  /** The flush generation the message belongs to. */
  readonly generation: number
  /** Its place among the sender's messages (a counter): refused messages go back into their channel in this order. */
  readonly order: number
  /** Its channel. */
  readonly channel: Channel
  /** Settles the caller's promise. */
  readonly resolve: () => void
  /** Settles the caller's promise. */
  readonly reject: (reason: unknown) => void
}

/** A native channel as seen from here: messages waiting for it, and those handed over but not yet released. */
export interface Channel {
  /** The peer ID, or '*' for broadcasts. */
  readonly key: string
  /** The peer ID as numbers (undefined for broadcasts). */
  readonly peer: PeerKey | undefined
  /** Messages not yet handed over, oldest first (settled ones are skipped lazily). */
  readonly waiting: Fifo<Outgoing>
  /** Handed-over messages in order; released from the front once settled (like the core's queue). */
  readonly inFlight: Fifo<Outgoing>
  /** Bytes of `inFlight`. */
  inFlightBytes: number
}

/**
 * Whether the native core takes a message of `size` bytes on this channel now: it refuses one when the channel
 * already queues bytes and would exceed `sendQueueBytes` with it. `inFlightBytes` is never less than the core's
 * count, so a message admitted here is never refused for a full channel.
 */
export function admits(channel: Channel, size: number, sendQueueBytes: number): boolean {
  return channel.inFlightBytes === 0 || channel.inFlightBytes + size <= sendQueueBytes
}

/** "name (id)", the ID alone when the name is unknown, or "every peer" for a broadcast. */
export function describeTarget(message: Outgoing): string {
  if (message.peerId === undefined) return 'every peer'
  return message.peerName ? `${message.peerName} (${message.peerId})` : message.peerId
}
