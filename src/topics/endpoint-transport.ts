/**
 * The {@link TopicTransport} of an `Endpoint`: the endpoint's sender (its per-tick slab; flow control and promises
 * for reliable messages) for sends, the native core for the interest extension.
 */
import { fromNativeError, UnknownPeerError } from '../errors'
import type { NativeTransport } from '../transport/native-types'
import type { PeerTable } from '../discovery/peer-table'
import type { ReliableSender } from '../transport/reliable-sender'
import { INTEREST_EXTENSION } from './peer-interest'
import { REPLIER_EXTENSION } from './repliers'
import type { TopicTransport } from './transport'

/** What the adapter uses of the endpoint. */
export interface EndpointParts {
  readonly native: NativeTransport
  readonly reliable: ReliableSender
  readonly peers: PeerTable
  readonly name: string
}

/** Calls the native core, turning its errors into glue's named ones. */
function native<T>(call: () => T): T {
  try {
    return call()
  } catch (err) {
    throw fromNativeError(err)
  }
}

/** Sends reliably (to one peer, or to all when `peerId` is undefined); every failure is a rejection. */
function sendReliably(parts: EndpointParts, peerId: string | undefined, data: Uint8Array, deadlineMs?: number) {
  try {
    const peer = peerId === undefined ? undefined : parts.peers.get(peerId)
    if (peerId !== undefined && peer === undefined) throw new UnknownPeerError(`no peer ${peerId} in the peer table`)
    return parts.reliable.send(peer, data, true, deadlineMs)
  } catch (err) {
    return Promise.reject(err)
  }
}

/** The topic layer's view of an endpoint. */
export function endpointTransport(parts: EndpointParts): TopicTransport {
  return {
    id: parts.native.id,
    name: parts.name,
    peers: () => parts.peers.list(),
    nameOf: (id) => parts.peers.nameOf(id),
    send: (peerId, data, reliable, deadlineMs) => {
      if (reliable) return sendReliably(parts, peerId, data, deadlineMs)
      const peer = parts.peers.get(peerId)
      return peer !== undefined && parts.reliable.sendBestEffort(peer, data)
    },
    broadcast: (data, reliable, deadlineMs) =>
      reliable ? sendReliably(parts, undefined, data, deadlineMs) : parts.reliable.sendBestEffort(undefined, data),
    setInterest: (summary) => native(() => parts.native.setAnnounceExtension(INTEREST_EXTENSION, summary)),
    setReplierSummary: (summary) => native(() => parts.native.setAnnounceExtension(REPLIER_EXTENSION, summary)),
  }
}
