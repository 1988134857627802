/**
 * glue: brokerless pub/sub for Node.js. Endpoints on a network find each other by multicast announcements and
 * exchange best-effort unicast and broadcast messages over UDP; the sockets and protocol run in a Rust core.
 *
 * ```ts
 * import { Endpoint } from 'glue-pubsub'
 *
 * await using ep = await Endpoint.open({ name: 'A', networkId: 1 })
 * for await (const ev of ep.status()) if (ev.type === 'peer-up') ep.send(ev.peer.id, 'hello')
 * ```
 */
export { Endpoint, type EndpointStats, type IterateOptions, type Payload } from './src/endpoint'
export { Message } from './src/batch-decoder'
export type { Peer, PeerDownReason, StatusEvent } from './src/peer-table'
export { DEFAULT_GROUP, type EndpointOptions, resolveOptions, type ResolvedOptions } from './src/options'
export { ENV_VARS, type Environment } from './src/env'
export {
  AddressInUseError,
  ClosedError,
  ErrorCode,
  fromNativeError,
  GlueError,
  InterfaceNotFoundError,
  InvalidOptionError,
  MessageTooLargeError,
  SocketError,
  UnknownPeerError,
} from './src/errors'
export type { NativeBatch, NativeConfig, NativeOpen, NativePeerEvent, NativeStats, NativeTransport } from './src/native'
