/**
 * Named error classes of the topic layer: {@link GlueError} subclasses with stable `code` strings from `ErrorCode`.
 */
import { ErrorCode, GlueError, type GlueErrorOptions } from '../errors'

/** The stable error codes of the topic layer (a subset of `ErrorCode`). */
export const TopicErrorCode = {
  /** A topic name, topic filter or type name breaks the naming rules. */
  INVALID_TOPIC: ErrorCode.INVALID_TOPIC,
  /** A value could not be encoded, or a payload could not be decoded, by the topic's codec. */
  CODEC: ErrorCode.CODEC,
  /** A topic-layer message or interest summary received from the network is malformed. */
  TOPIC_WIRE: ErrorCode.TOPIC_WIRE,
  /** A publication's type differs from the one this endpoint publishes on the topic. */
  TOPIC_TYPE: ErrorCode.TOPIC_TYPE,
  /** A publication on a topic with a topic key could not be opened, or arrived unsealed. */
  TOPIC_KEY: ErrorCode.TOPIC_KEY,
} as const

/** One of the {@link TopicErrorCode} values. */
export type TopicErrorCode = (typeof TopicErrorCode)[keyof typeof TopicErrorCode]

/** Shortens a rejected value for an error message (long topics stay readable). */
export function describeValue(value: unknown, max = 80): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/**
 * A topic name, topic filter or type name is invalid. The message names the field (e.g. `topic`, `filter`,
 * `type`) and the value. Code `ERR_GLUE_INVALID_TOPIC`.
 */
export class TopicError extends GlueError {
  /** The field at fault: `topic`, `filter` or `type`. */
  readonly field: string
  /** The rejected value, as given. */
  readonly value: unknown

  /** `reason` completes the message `invalid <field> <value>: <reason>`. */
  constructor(field: string, value: unknown, reason: string) {
    super(ErrorCode.INVALID_TOPIC, `invalid ${field} ${describeValue(value)}: ${reason}`)
    this.field = field
    this.value = value
  }
}

/** What a codec was doing when it failed. */
export type CodecDirection = 'encode' | 'decode'

/**
 * A value cannot be encoded (circular structure, BigInt in JSON, a number out of MessagePack's range, ...), or a
 * received payload cannot be decoded. The message names the topic and the codec; `cause` is the codec's own error.
 */
export class CodecError extends GlueError {
  /** The topic the value was published on or received from. */
  readonly topic: string
  /** The codec's name (`raw`, `json`, `msgpack` or a custom codec's name). */
  readonly codec: string
  /** Whether encoding (publishing) or decoding (receiving) failed. */
  readonly direction: CodecDirection

  /** `reason` ends the message; pass the codec's own error as `options.cause`. */
  constructor(topic: string, codec: string, direction: CodecDirection, reason: string, options?: GlueErrorOptions) {
    super(
      ErrorCode.CODEC,
      direction === 'encode'
        ? `cannot encode the value published on topic ${describeValue(topic)} with codec ${codec}: ${reason}`
        : `cannot decode a payload received on topic ${describeValue(topic)} with codec ${codec}: ${reason}`,
      options,
    )
    this.topic = topic
    this.codec = codec
    this.direction = direction
  }
}

/**
 * A topic-layer message or interest summary is malformed: truncated, an unknown version or kind, a length past the
 * end, invalid UTF-8 or topic, unknown flag bits, trailing bytes. Receivers drop the message and count it.
 */
export class TopicWireError extends GlueError {
  /** Byte offset at which decoding failed. */
  readonly offset: number

  /** The message gets ` (at byte <offset>)` appended. */
  constructor(message: string, offset: number, options?: GlueErrorOptions) {
    super(ErrorCode.TOPIC_WIRE, `${message} (at byte ${offset})`, options)
    this.offset = offset
  }
}

/**
 * `publish()` was given a type other than the one this endpoint already publishes on the topic: a topic carries one
 * type per publisher. Code `ERR_GLUE_TOPIC_TYPE`.
 */
export class TopicTypeError extends GlueError {
  /** The topic. */
  readonly topic: string
  /** The type this endpoint publishes on the topic ('' for untyped). */
  readonly expected: string
  /** The type given ('' for untyped). */
  readonly actual: string

  constructor(topic: string, expected: string, actual: string) {
    const show = (type: string): string => (type === '' ? 'untyped' : `type ${JSON.stringify(type)}`)
    super(
      ErrorCode.TOPIC_TYPE,
      `topic ${describeValue(topic)} is published by this endpoint as ${show(expected)}; ` +
        `cannot publish ${show(actual)}`,
    )
    this.topic = topic
    this.expected = expected
    this.actual = actual
  }
}

/** Why publications of a topic could not be delivered (see {@link TopicKeyError}). */
export type TopicKeyReason = 'no-key' | 'unauthenticated' | 'unsealed'

const KEY_REASONS: Record<TopicKeyReason, string> = {
  'no-key': 'it is sealed with a topic key this endpoint does not have (topics.keys)',
  unauthenticated: 'its seal does not verify under the topic key (forged, or sealed with another key of that ID)',
  unsealed: 'it is not sealed, but this endpoint has a topic key for the topic (anyone could have forged it)',
}

/**
 * Publications of a topic were dropped because of topic keys: `reason` says why. Reported once per topic and reason
 * as a `topic-key-error` status event (and counted each time: `topicKeyMissing`, `topicUnauthenticated`,
 * `topicUnsealed`). Code `ERR_GLUE_TOPIC_KEY`.
 */
export class TopicKeyError extends GlueError {
  /** The topic. */
  readonly topic: string
  /** The publisher's endpoint ID. */
  readonly publisher: string
  /** Why. */
  readonly reason: TopicKeyReason

  constructor(topic: string, publisher: string, reason: TopicKeyReason) {
    super(
      ErrorCode.TOPIC_KEY,
      `publication on ${describeValue(topic)} from ${publisher} dropped: ${KEY_REASONS[reason]}`,
    )
    this.topic = topic
    this.publisher = publisher
    this.reason = reason
  }
}
