/**
 * glue: brokerless pub/sub for Node.js. Endpoints on a network find each other by multicast announcements and
 * exchange unicast and broadcast messages over UDP, best effort or reliable (acknowledged, repaired, exactly once
 * and in order, up to `maxMessageSize`); the sockets and protocol run in a Rust core. On top, topics: `publish()` and
 * `subscribe()` with MQTT wildcards, types, codecs, history for late joiners and repair after partitions; on top of
 * those, replicated state: `ep.map()`, `ep.counter()` and `ep.set()` merge writes from everywhere without conflicts. With a
 * `networkKey` every datagram is sealed (authenticated and encrypted; no forgeries, no replays); `topics.keys` seal
 * chosen topics end to end.
 *
 * ```ts
 * import { Endpoint } from 'glue-pubsub'
 *
 * await using ep = await Endpoint.open({ name: 'A', networkId: 1 })
 * ep.subscribe('sensors/+/temp', { callback: (m) => console.log(m.topic, m.value, m.fromName) })
 * ep.publish('sensors/kitchen/temp', { c: 21.5 }, { codec: 'json', depth: 10 })
 * for await (const ev of ep.status()) {
 *   if (ev.type === 'peer-up') await ep.send(ev.peer.id, 'hello', { reliable: true })
 * }
 * ```
 */
export { Endpoint, type EndpointStats, type FlushOptions, type IterateOptions, type Payload } from './src/endpoint'
export type { BestEffortSendOptions, ReliableSendOptions, SendOptions } from './src/transport/send-options'
export { Message } from './src/transport/batch-decoder'
export type { Peer, PeerDownReason, PeerEvent } from './src/discovery/peer-table'
export type { StatusEvent, SubscribersChangedEvent, TopicKeyErrorEvent } from './src/status'
export type {
  MatchedReplier,
  MatchedSubscriber,
  RepliersOptions,
  SubscribersOptions,
  WaitForRepliersOptions,
  WaitForSubscribersOptions,
} from './src/topics/matched-endpoints'
export {
  DEFAULT_GROUP,
  type EndpointOptions,
  type ResolvedNativeConfig,
  resolveOptions,
  type ResolvedOptions,
} from './src/options'
export { ENV_VARS, type Environment } from './src/env'
export type { KeyInput } from './src/security/keys'
export type { NetworkCipher, SecurityOptions } from './src/security/options'
export {
  AddressInUseError,
  BackpressureError,
  ClosedError,
  DeliveryError,
  ErrorCode,
  fromNativeError,
  GlueError,
  type GlueErrorOptions,
  InterfaceNotFoundError,
  InvalidOptionError,
  MessageTooLargeError,
  type MissingReceiver,
  SocketError,
  UnknownPeerError,
} from './src/errors'
export type { NativeBatch, NativeConfig, NativeOpen, NativePeerEvent, NativeStats, NativeTransport } from './src/transport/native'
export type { NativePeerStats } from './src/transport/native-types'
export type { PeerStats } from './src/transport/peer-stats'
export { registerGlueMetrics, type MetricsSource } from './src/metrics/collector'
export { PEER_METRICS, STATS_METRICS } from './src/metrics/catalog'
export { MetricsBindError } from './src/metrics/errors'
export { METRICS_ENV, type MetricsOptions } from './src/metrics/options'
export { TopicMessage, type TopicMessageFields } from './src/topics/message'
export { Subscription } from './src/topics/subscription'
export { Replier, type ReplyHandler } from './src/topics/repliers'
export type { ReplyOptions, RequestOptions } from './src/topics/reply-options'
export { NoResponderError, ReplyError } from './src/topics/reply-errors'
export type { CacheOptions, PublishOptions, SubscribeOptions, TopicOptions } from './src/topics/options'
export type { TopicStats } from './src/topics/stats'
export { CodecError, TopicError, TopicKeyError, type TopicKeyReason, TopicTypeError, TopicWireError } from './src/topics/errors'
export { type Codec, type CodecName, type CodecOption, customCodec, type CustomCodecSpec } from './src/topics/codec'
export { matches as topicMatches, validateTopicFilter, validateTopicName } from './src/topics/topic-name'
export { ReplicatedMap, type MapChange, type QuorumWriteOptions } from './src/model/replicated-map'
export { ReplicatedCounter, type CounterChange } from './src/model/replicated-counter'
export { ReplicatedSet, type SetChange } from './src/model/replicated-set'
export { ReplicatedObject, type ChangeOrigin, type ChangesOptions, type ModelMember, type SyncedOptions } from './src/model/replicated-object'
export type { FsyncOption, MapOptions, PersistOptions, ReplicaOptions, WriteOptions } from './src/model/options'
export type { SetOptions } from './src/model/model-layer'
export type { ModelCounts } from './src/model/stats'
export { ModelNameError, QuorumError, TimeoutError } from './src/model/errors'
export { PersistError } from './src/model/persist/errors'
export { ConsensusGroup, type EventsOptions } from './src/consensus/consensus-group'
export type { AppliedEntry, ConsensusEvent, UserStateMachine } from './src/consensus/group'
export { ConsensusKv, type KvChange, type WatchOptions } from './src/consensus/kv'
export type { Lock } from './src/consensus/locks'
export type { ConsensusOptions, LockOptions, OperationOptions } from './src/consensus/options'
export type { GroupMember } from './src/consensus/routes'
export type { ConsensusCounts } from './src/consensus/stats'
export { LockLostError, MembershipMismatchError, NotLeaderError, NotMemberError, QuorumLostError } from './src/consensus/errors'
