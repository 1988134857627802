/**
 * `ep.peerStats()`: the native core's per-peer numbers with the peer's name, in the units their names say.
 */
import type { NativePeerStats } from './native-types'

/**
 * One accepted peer's round trip, traffic, resends and queue depths, computed when asked (nothing is kept for it on
 * the hot path). Counters count since this endpoint's channel to (or stream from) the peer was created: they restart
 * at zero when the peer is forgotten (expired, gone, readdressed) and comes back.
 */
export interface PeerStats {
  /** The peer's ID, 16 hex digits. */
  id: string
  /** The peer's name ('' when it left the peer table while this was computed). */
  name: string
  /**
   * Smoothed round-trip time to the peer, µs (RFC 6298 SRTT of its reliable unicast channel, net of the receiver's
   * ACK delay); undefined until a reliable unicast message to the peer was acknowledged.
   */
  rttMicros: number | undefined
  /** Variation of the round-trip time (RFC 6298 RTTVAR), µs; undefined with `rttMicros`. */
  rttVarMicros: number | undefined
  /** Reliable messages sent to the peer by unicast (publications to it, direct sends). */
  reliableMessagesSent: number
  /** Payload bytes of those messages. */
  reliableBytesSent: number
  /** Reliable messages received from the peer (unicast and multicast). */
  reliableMessagesReceived: number
  /** Payload bytes of those messages. */
  reliableBytesReceived: number
  /** Fragments resent to the peer's own address (repairs and timeouts; group repairs are in `stats().fragmentsResent`). */
  fragmentsResent: number
  /** Reliable unicast messages to the peer not finished yet: sent and unacknowledged, or waiting for the window. */
  sendQueueMessages: number
  /** Payload bytes of those messages. */
  sendQueueBytes: number
  /** Fragments sent and not acknowledged by the peer yet (unicast and multicast channels). */
  unackedFragments: number
  /** Fragments of unicast messages to the peer waiting for its window (not sent once yet). */
  unsentFragments: number
  /** Out-of-order fragments from the peer buffered until a gap is repaired (the receive reorder buffer). */
  recvBufferedFragments: number
  /** Bytes of those fragments. */
  recvBufferedBytes: number
}

/** The public form of the native numbers: names from `nameOf` ('' when unknown), RTT renamed. */
export function toPeerStats(native: readonly NativePeerStats[], nameOf: (id: string) => string | undefined): PeerStats[] {
  return native.map(({ srttMicros, rttVarMicros, ...rest }) => ({
    ...rest,
    name: nameOf(rest.id) ?? '',
    rttMicros: srttMicros,
    rttVarMicros,
  }))
}
