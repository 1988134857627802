/**
 * `ep.peerStats()`: the native core's per-peer numbers with the peer's name, in the units their names say.
 */
import type { NativePeerStats } from './native-types'

/**
 * One accepted peer's round trip, traffic, resends and queue depths, computed when asked (nothing is kept for it on
 * the hot path). Counters count since this endpoint's channel to (or stream from) the peer was created: they restart
 * at zero when the peer is forgotten (expired, gone, readdressed) and comes back.
 */
export interface PeerStats extends Omit<NativePeerStats, 'srttMicros' | 'rttVarMicros'> {
  /** The peer's name ('' when it left the peer table while this was computed). */
  name: string
  /**
   * Smoothed round-trip time to the peer, µs (RFC 6298 SRTT of its reliable unicast channel, net of the receiver's
   * ACK delay); undefined until a reliable unicast message to the peer was acknowledged.
   */
  rttMicros: number | undefined
  /** Variation of the round-trip time (RFC 6298 RTTVAR), µs; undefined with `rttMicros`. */
  rttVarMicros: number | undefined
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
