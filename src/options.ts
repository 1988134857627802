/**
 * Endpoint options: the endpoint's own plus those of each layer ({@link TransportOptions}, {@link DiscoveryOptions},
 * the topics' {@link TopicOptions}), and the resolution `explicit option > GLUE_* environment variable > default`
 * into the {@link NativeConfig} for the core. Each layer documents, bounds and resolves its options; this file checks
 * the whole, reads the environment, and puts the parts together in one order (the first bad option is reported).
 */
import {
  DISCOVERY_DEFAULTS,
  DISCOVERY_RANGES,
  type DiscoveryOptions,
  resolveDiscoveryAddresses,
  resolveIdentity,
  resolvePeerPolicy,
  type ResolvedUnicast,
  resolveUnicast,
} from './discovery/options'
import type { Peer } from './discovery/peer-table'
import { ENV_VARS, type EnvOption, type Environment, readEnv } from './env'
import { InvalidOptionError } from './errors'
import { type MetricsOptions, resolveMetricsOptions, type ResolvedMetricsOptions } from './metrics/options'
import { checkNumber, describe, explicit, invalid, type Range, type Source } from './option-checks'
import { resolveSecurity, type SecurityOptions } from './security/options'
import { resolveTopicOptions, type ResolvedTopicOptions, type TopicOptions } from './topics/options'
import { isLoopback } from './transport/address'
import type { NativeConfig } from './transport/native-types'
import {
  defaultDatagramSize,
  RELIABLE_DEFAULTS,
  resolveDualStack,
  resolveInterfaceAddress,
  resolveListenAddress,
  resolveMessageLimits,
  resolveReceiveOn,
  TRANSPORT_DEFAULTS,
  TRANSPORT_RANGES,
  type TransportOptions,
} from './transport/options'

export { DEFAULT_GROUP } from './discovery/options'

/** Options of {@link Endpoint.open}. Every one is optional; unset ones come from `GLUE_*` variables or defaults. */
export interface EndpointOptions extends DiscoveryOptions, TransportOptions, SecurityOptions {
  /**
   * Capacity of each `messages()` / `status()` iterator, items, 1..16_777_216. When one is full the oldest item is
   * dropped and counted in `stats().droppedQueueFull`. Default 65536.
   */
  messageQueueLimit?: number
  /** The topic layer: caching, ordering hold time, multicast ratio, history bounds (see {@link TopicOptions}). */
  topics?: TopicOptions
  /**
   * Serve this endpoint's metrics over HTTP in the Prometheus text format at `http://host:port/metrics` (see
   * {@link MetricsOptions}; `ep.metricsAddress` says where). Default: off, unless `GLUE_METRICS_PORT` is set;
   * false keeps it off whatever the environment says.
   */
  metrics?: MetricsOptions | false
  /**
   * Where `GLUE_*` variables are read from; false ignores the environment. Default `process.env`.
   */
  env?: Environment | false
}

/** A {@link NativeConfig} whose optional reliable limits are all set (the TypeScript layer uses them too). */
export type ResolvedNativeConfig = NativeConfig &
  Required<
    Pick<
      NativeConfig,
      'maxMessageSize' | 'deliveryDeadlineMs' | 'reassemblyTimeoutMs' | 'maxReceiveMemory' | 'sendQueueBytes'
    >
  >

/** The validated options: the native core's config plus what the TypeScript layer keeps for itself. */
export interface ResolvedOptions {
  /** The native core's configuration, with every reliable limit filled in. */
  native: ResolvedNativeConfig
  acceptPeer: ((peer: Peer) => boolean) | undefined
  messageQueueLimit: number
  /** The topic layer's options. */
  topics: ResolvedTopicOptions
  /** Unicast peers (resolved into `native.peers` when the endpoint opens) and multicast on or off. */
  unicast: ResolvedUnicast
  /** The metrics server's options; undefined when there is none. */
  metrics: ResolvedMetricsOptions | undefined
}

const RANGES = {
  ...DISCOVERY_RANGES,
  ...TRANSPORT_RANGES,
  messageQueueLimit: { min: 1, max: 16_777_216, integer: true, unit: 'items' },
} satisfies Record<string, Range>

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof EndpointOptions>([
  'networkId',
  'id',
  'name',
  'listenAddress',
  'interface',
  'group',
  'group6',
  'dualStack',
  'discoveryTargetAddress',
  'discoveryListenAddress',
  'announcePeriodMs',
  'expiryMultiplier',
  'nameClash',
  'acceptPeer',
  'multicastTtl',
  'maxDatagramSize',
  'maxPeers',
  'socketBufferSize',
  'messageQueueLimit',
  'maxMessageSize',
  'deliveryDeadlineMs',
  'reassemblyTimeoutMs',
  'maxReceiveMemory',
  'sendQueueBytes',
  'busyPollUs',
  'ackHoldUs',
  'receiveOn',
  'networkKey',
  'networkCipher',
  'peers',
  'multicast',
  'peerResolveIntervalMs',
  'lookupPeer',
  'topics',
  'metrics',
  'env',
])

/**
 * Validates the options, fills in `GLUE_*` variables and defaults, and resolves the interface name.
 * @throws InvalidOptionError naming the option or variable and the bad value
 * @throws InterfaceNotFoundError when the interface name is unknown
 */
export function resolveOptions(options: EndpointOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`Invalid options: ${describe(options)} (expected an object)`, { value: options })
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw invalid(explicit(key, options[key as keyof EndpointOptions]), 'a known option name')
  }
  if (options.env !== undefined && options.env !== false && (typeof options.env !== 'object' || options.env === null)) {
    throw invalid(explicit('env', options.env), 'an object of strings or false')
  }
  const env = options.env === false ? {} : readEnv(options.env ?? process.env)
  const source = (key: keyof EndpointOptions): Source | undefined => {
    if (options[key] !== undefined) return explicit(key, options[key])
    const raw = env[key as EnvOption]
    return raw === undefined ? undefined : { value: raw, label: ENV_VARS[key as EnvOption], fromEnv: true }
  }
  const number = (key: keyof typeof RANGES, fallback: number): number => {
    const found = source(key)
    return found === undefined ? fallback : checkNumber(found, RANGES[key])
  }

  // In this order: the first bad option is the one reported.
  const dualStack = resolveDualStack(source)
  const { discoveryTarget, discoveryListen, dualStackGroup, family } = resolveDiscoveryAddresses(
    options,
    source,
    dualStack,
  )
  const iface = resolveInterfaceAddress(source, family === 'ipv6')
  const interfaceAddress = iface.address
  const loopback = isLoopback(interfaceAddress)
  const { endpointId, name } = resolveIdentity(source)
  const listenAddress = resolveListenAddress(source, loopback, family)
  const { nameClash, acceptPeer } = resolvePeerPolicy(options)
  const { maxReceiveMemory, maxMessageSize } = resolveMessageLimits(number)
  const { networkKeys, networkCipher } = resolveSecurity(source)
  const unicast = resolveUnicast(options, source, number, family)
  const metrics = resolveMetricsOptions(options.metrics, options.env === false ? {} : (options.env ?? process.env))
  return {
    native: {
      networkId: number('networkId', DISCOVERY_DEFAULTS.networkId),
      endpointId,
      name,
      listenAddress,
      interfaceAddress,
      ...(iface.name === undefined ? {} : { interfaceName: iface.name }),
      ...(dualStackGroup === undefined ? {} : { dualStackGroup }),
      discoveryTarget,
      discoveryListen,
      announcePeriodMs: number('announcePeriodMs', DISCOVERY_DEFAULTS.announcePeriodMs),
      expiryMultiplier: number('expiryMultiplier', DISCOVERY_DEFAULTS.expiryMultiplier),
      nameClash,
      multicastTtl: number('multicastTtl', TRANSPORT_DEFAULTS.multicastTtl),
      maxDatagramSize: number('maxDatagramSize', defaultDatagramSize(loopback, family !== 'ipv4')),
      maxPeers: number('maxPeers', DISCOVERY_DEFAULTS.maxPeers),
      socketBufferSize: number('socketBufferSize', TRANSPORT_DEFAULTS.socketBufferSize),
      maxMessageSize,
      deliveryDeadlineMs: number('deliveryDeadlineMs', RELIABLE_DEFAULTS.deliveryDeadlineMs),
      reassemblyTimeoutMs: number('reassemblyTimeoutMs', RELIABLE_DEFAULTS.reassemblyTimeoutMs),
      maxReceiveMemory,
      sendQueueBytes: number('sendQueueBytes', RELIABLE_DEFAULTS.sendQueueBytes),
      busyPollUs: number('busyPollUs', TRANSPORT_DEFAULTS.busyPollUs),
      ackHoldUs: number('ackHoldUs', TRANSPORT_DEFAULTS.ackHoldUs),
      receiveOn: resolveReceiveOn(source),
      ...(networkKeys === undefined ? {} : { networkKeys }),
      ...(networkCipher === undefined ? {} : { networkCipher }),
      multicast: unicast.multicast,
    },
    unicast,
    metrics,
    acceptPeer,
    messageQueueLimit: number('messageQueueLimit', 1 << 16),
    // Without multicast a "multicast" would be a unicast copy to every peer: publications go to the interested
    // peers only (the interest routing knows them), never as a broadcast.
    topics: unicast.multicast
      ? resolveTopicOptions(options.topics)
      : { ...resolveTopicOptions(options.topics), multicastRatio: Number.POSITIVE_INFINITY },
  }
}
