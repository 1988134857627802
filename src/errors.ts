/**
 * Named error classes with stable `code` strings, and the mapping from the native addon's errors to them.
 *
 * Every error glue throws on purpose is one of these classes; `err.code` never changes between versions, the
 * message may. Errors that come from the native core keep the original Error as `cause`.
 */

/** The stable error codes; the native addon uses the same strings. */
export const ErrorCode = {
  INVALID_OPTION: 'ERR_GLUE_INVALID_OPTION',
  ADDRESS_IN_USE: 'ERR_GLUE_ADDRESS_IN_USE',
  INTERFACE_NOT_FOUND: 'ERR_GLUE_INTERFACE_NOT_FOUND',
  SOCKET: 'ERR_GLUE_SOCKET',
  UNKNOWN_PEER: 'ERR_GLUE_UNKNOWN_PEER',
  MESSAGE_TOO_LARGE: 'ERR_GLUE_MESSAGE_TOO_LARGE',
  CLOSED: 'ERR_GLUE_CLOSED',
  DELIVERY: 'ERR_GLUE_DELIVERY',
  BACKPRESSURE: 'ERR_GLUE_BACKPRESSURE',
  /** A topic name, topic filter or type name breaks the naming rules (`TopicError`). */
  INVALID_TOPIC: 'ERR_GLUE_INVALID_TOPIC',
  /** A value could not be encoded, or a payload decoded, by a topic's codec (`CodecError`). */
  CODEC: 'ERR_GLUE_CODEC',
  /** A topic message or interest summary from the network is malformed (`TopicWireError`). */
  TOPIC_WIRE: 'ERR_GLUE_TOPIC_WIRE',
  /** A publication's type differs from the type this endpoint already publishes on the topic (`TopicTypeError`). */
  TOPIC_TYPE: 'ERR_GLUE_TOPIC_TYPE',
  /** A publication on a topic with a topic key could not be opened (no key, forged), or arrived unsealed. */
  TOPIC_KEY: 'ERR_GLUE_TOPIC_KEY',
  /** A replicated object's disk store could not be read or written (`PersistError`). */
  PERSIST: 'ERR_GLUE_PERSIST',
  /** A replicated object's name or key breaks the naming rules (`ModelNameError`). */
  MODEL_NAME: 'ERR_GLUE_MODEL_NAME',
  /** A quorum write was not held by enough endpoints in time, or asks for more than there are (`QuorumError`). */
  QUORUM: 'ERR_GLUE_QUORUM',
  /** Something waited for did not happen in time (`TimeoutError`, e.g. `synced()`). */
  TIMEOUT: 'ERR_GLUE_TIMEOUT',
  /** A consensus group's operation found no reachable majority within its deadline (`QuorumLostError`). */
  QUORUM_LOST: 'ERR_GLUE_QUORUM_LOST',
  /** A lock's lease ran out, or it was taken over, before the holder released it (`LockLostError`). */
  LOCK_LOST: 'ERR_GLUE_LOCK_LOST',
  /** This endpoint is not (or no longer) a member of the consensus group (`NotMemberError`). */
  NOT_MEMBER: 'ERR_GLUE_NOT_MEMBER',
  /** Members of one consensus group were opened with different member lists (`MembershipMismatchError`). */
  MEMBERSHIP_MISMATCH: 'ERR_GLUE_MEMBERSHIP_MISMATCH',
  /** An operation that only the leader can do was asked of a follower (`NotLeaderError`; ordinary calls forward). */
  NOT_LEADER: 'ERR_GLUE_NOT_LEADER',
  /** A host name in `peers` / `GLUE_PEERS` could not be resolved when the endpoint opened (`PeerResolveError`). */
  PEER_RESOLVE: 'ERR_GLUE_PEER_RESOLVE',
  /** An MQTT bridge could not connect to its broker at start (refused, unreachable, bad credentials: `MqttConnectError`). */
  MQTT_CONNECT: 'ERR_GLUE_MQTT_CONNECT',
  /** The metrics server could not listen on its host and port (`MetricsBindError`). */
  METRICS_BIND: 'ERR_GLUE_METRICS_BIND',
  /** A replier answered a request with an error: it threw, or refused the request as busy (`ReplyError`). */
  REPLY: 'ERR_GLUE_REPLY',
  /** No replier is known for a request's topic (`NoResponderError`). */
  NO_RESPONDER: 'ERR_GLUE_NO_RESPONDER',
} as const

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/**
 * What glue's error constructors take besides the message: the error that caused this one (`err.cause`). The same
 * shape as the ES2022 lib's `ErrorOptions`, declared here so that glue's type declarations compile under older `lib`
 * and `target` settings of consumers too.
 */
export interface GlueErrorOptions {
  /** The error that caused this one. */
  cause?: unknown
}

/** Extra details of errors about one option or environment variable. */
export interface OptionErrorDetails extends GlueErrorOptions {
  /** The option name (e.g. `announcePeriodMs`) or environment variable (e.g. `GLUE_NETWORK_ID`) at fault. */
  option?: string
  /** The value that was rejected, as given. */
  value?: unknown
}

/**
 * Base class of glue's errors. `err instanceof GlueError` is also true for {@link InvalidOptionError}, which
 * extends `TypeError` instead (like Node's own `ERR_INVALID_ARG_*` errors).
 */
export class GlueError extends Error {
  /** Stable machine-readable code, e.g. `ERR_GLUE_CLOSED`. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: GlueErrorOptions) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }

  /** Makes `instanceof GlueError` cover InvalidOptionError too; subclasses keep the ordinary check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== GlueError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return Function.prototype[Symbol.hasInstance].call(GlueError, value) || value instanceof InvalidOptionError
  }
}

/** An option or environment variable has a bad value; the message names it and the value. */
export class InvalidOptionError extends TypeError {
  readonly code = ErrorCode.INVALID_OPTION
  /** The option or environment variable at fault, when known. */
  readonly option?: string
  /** The rejected value, when known. */
  readonly value?: unknown

  constructor(message: string, details: OptionErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'InvalidOptionError'
    this.option = details.option
    this.value = details.value
  }
}

/** The listen or discovery address is already taken by another socket. */
export class AddressInUseError extends GlueError {
  constructor(message: string, options?: GlueErrorOptions) {
    super(ErrorCode.ADDRESS_IN_USE, message, options)
  }
}

/** The network interface (name or address) does not exist on this machine or has no IPv4 address. */
export class InterfaceNotFoundError extends GlueError {
  /** The option or environment variable that named the interface, when known. */
  readonly option?: string
  /** The interface name or address as given, when known. */
  readonly value?: unknown

  constructor(message: string, details: OptionErrorDetails = {}) {
    super(ErrorCode.INTERFACE_NOT_FOUND, message, details.cause === undefined ? undefined : { cause: details.cause })
    this.option = details.option
    this.value = details.value
  }
}

/** Any other socket failure (bind, join, set option). */
export class SocketError extends GlueError {
  constructor(message: string, options?: GlueErrorOptions) {
    super(ErrorCode.SOCKET, message, options)
  }
}

/**
 * A host name in `peers` (or `GLUE_PEERS`) could not be resolved to an address when the endpoint opened. `option`
 * names the entry (`peers[1]`, `GLUE_PEERS[0]`), `value` is the entry as given. (A name that resolved before and
 * fails later is retried and counted in `stats().peerResolveFailures`, never thrown.)
 */
export class PeerResolveError extends GlueError {
  /** The entry at fault, e.g. `peers[1]`. */
  readonly option?: string
  /** The entry as given. */
  readonly value?: unknown

  constructor(message: string, details: OptionErrorDetails = {}) {
    super(ErrorCode.PEER_RESOLVE, message, details.cause === undefined ? undefined : { cause: details.cause })
    this.option = details.option
    this.value = details.value
  }
}

/** `send()` named a peer (by name or ID) that is not in the peer table. */
export class UnknownPeerError extends GlueError {
  constructor(message: string, options?: GlueErrorOptions) {
    super(ErrorCode.UNKNOWN_PEER, message, options)
  }
}

/**
 * The message is too large: a best-effort message must fit into one datagram of `maxDatagramSize` bytes, a
 * reliable one into `maxMessageSize` bytes.
 */
export class MessageTooLargeError extends GlueError {
  constructor(message: string, options?: GlueErrorOptions) {
    super(ErrorCode.MESSAGE_TOO_LARGE, message, options)
  }
}

/** The endpoint is closed (or closing). */
export class ClosedError extends GlueError {
  constructor(message = 'the endpoint is closed', options?: GlueErrorOptions) {
    super(ErrorCode.CLOSED, message, options)
  }
}

/** A receiver of a reliable message that did not acknowledge it. */
export interface MissingReceiver {
  /** The receiver's endpoint ID, 16 hex digits. */
  readonly id: string
  /** The receiver's name as last seen ('' if it was never known). */
  readonly name: string
}

/** How many receivers a {@link DeliveryError} (or quorum) message names before it says "and N more". */
const NAMED_IN_MESSAGE = 10

export function describeReceivers(missing: readonly MissingReceiver[]): string {
  const named = missing.slice(0, NAMED_IN_MESSAGE).map(({ id, name }) => (name ? `${name} (${id})` : id))
  const more = missing.length - named.length
  return more > 0 ? `${named.join(', ')} and ${more} more` : named.join(', ')
}

/**
 * A reliable message was not acknowledged by every intended receiver before its deadline, or receivers went away
 * (expired, left or restarted) before acknowledging. `missing` lists them; the others did receive it (once).
 */
export class DeliveryError extends GlueError {
  /** The receivers that did not acknowledge; empty if the core named none. */
  readonly missing: readonly MissingReceiver[]

  constructor(missing: readonly MissingReceiver[], message?: string, options?: GlueErrorOptions) {
    super(
      ErrorCode.DELIVERY,
      message ??
        (missing.length === 0
          ? 'reliable message not acknowledged before its deadline'
          : `reliable message not acknowledged by ${describeReceivers(missing)} ` +
            '(deadline passed, or the receiver went away)'),
      options,
    )
    this.missing = Object.freeze([...missing])
  }
}

/**
 * A reliable message could not even be handed to the native core before its deadline: the send queues stayed
 * full (the receivers are slower than the sender). Glue holds such messages in a JavaScript-side queue and retries,
 * so this only happens when the backlog outlasts the message's deadline.
 */
export class BackpressureError extends GlueError {
  constructor(message: string, options?: GlueErrorOptions) {
    super(ErrorCode.BACKPRESSURE, message, options)
  }
}

type ErrorClass = new (message: string, options?: GlueErrorOptions) => Error

const classByCode: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  [ErrorCode.INVALID_OPTION, InvalidOptionError],
  [ErrorCode.ADDRESS_IN_USE, AddressInUseError],
  [ErrorCode.INTERFACE_NOT_FOUND, InterfaceNotFoundError],
  [ErrorCode.SOCKET, SocketError],
  [ErrorCode.UNKNOWN_PEER, UnknownPeerError],
  [ErrorCode.MESSAGE_TOO_LARGE, MessageTooLargeError],
  [ErrorCode.CLOSED, ClosedError],
])

/**
 * Wraps an error thrown by the native addon into the named class for its `code`, keeping it as `cause`.
 * Anything else (no known code, not an Error, already a glue error) is returned unchanged.
 */
export function fromNativeError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof GlueError) return err
  const code = (err as { code?: unknown }).code
  const Class = typeof code === 'string' ? classByCode.get(code) : undefined
  return Class === undefined ? err : new Class(err.message, { cause: err })
}

/** Something waited for did not happen in time; `pending` names who was still waited for. */
export class TimeoutError extends GlueError {
  /** Who was still waited for (e.g. members not caught up with, repliers that did not answer). */
  readonly pending: readonly MissingReceiver[]

  constructor(message: string, pending: readonly MissingReceiver[] = []) {
    super(ErrorCode.TIMEOUT, pending.length > 0 ? `${message}: ${describeReceivers(pending)}` : message)
    this.pending = pending
  }
}
