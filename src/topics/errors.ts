/**
 * Named error classes of the topic layer, each with a stable `code` string (like those of `src/errors.ts`).
 *
 * They do not extend `GlueError` yet only because `GlueError.code` is typed as the closed `ErrorCode` union of
 * `src/errors.ts`; once these codes are added there, the classes can extend `GlueError` without other changes.
 */

/** The stable error codes of the topic layer. */
export const TopicErrorCode = {
  /** A topic name, topic filter or type name breaks the naming rules. */
  INVALID_TOPIC: 'ERR_GLUE_INVALID_TOPIC',
  /** A value could not be encoded, or a payload could not be decoded, by the topic's codec. */
  CODEC: 'ERR_GLUE_CODEC',
  /** A topic-layer message or interest summary received from the network is malformed. */
  TOPIC_WIRE: 'ERR_GLUE_TOPIC_WIRE',
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
 * `type`) and the value. A `TypeError`, like Node's `ERR_INVALID_ARG_VALUE` and glue's `InvalidOptionError`.
 */
export class TopicError extends TypeError {
  /** Always `ERR_GLUE_INVALID_TOPIC`. */
  readonly code = TopicErrorCode.INVALID_TOPIC
  /** The field at fault: `topic`, `filter` or `type`. */
  readonly field: string
  /** The rejected value, as given. */
  readonly value: unknown

  /** `reason` completes the message `invalid <field> <value>: <reason>`. */
  constructor(field: string, value: unknown, reason: string) {
    super(`invalid ${field} ${describeValue(value)}: ${reason}`)
    this.name = 'TopicError'
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
export class CodecError extends Error {
  /** Always `ERR_GLUE_CODEC`. */
  readonly code = TopicErrorCode.CODEC
  /** The topic the value was published on or received from. */
  readonly topic: string
  /** The codec's name (`raw`, `json`, `msgpack` or a custom codec's name). */
  readonly codec: string
  /** Whether encoding (publishing) or decoding (receiving) failed. */
  readonly direction: CodecDirection

  /** `reason` ends the message; pass the codec's own error as `options.cause`. */
  constructor(topic: string, codec: string, direction: CodecDirection, reason: string, options?: ErrorOptions) {
    super(
      direction === 'encode'
        ? `cannot encode the value published on topic ${describeValue(topic)} with codec ${codec}: ${reason}`
        : `cannot decode a payload received on topic ${describeValue(topic)} with codec ${codec}: ${reason}`,
      options,
    )
    this.name = 'CodecError'
    this.topic = topic
    this.codec = codec
    this.direction = direction
  }
}

/**
 * A topic-layer message or interest summary is malformed: truncated, an unknown version or kind, a length past the
 * end, invalid UTF-8 or topic, unknown flag bits, trailing bytes. Receivers drop the message and count it.
 */
export class TopicWireError extends Error {
  /** Always `ERR_GLUE_TOPIC_WIRE`. */
  readonly code = TopicErrorCode.TOPIC_WIRE
  /** Byte offset at which decoding failed. */
  readonly offset: number

  /** The message gets ` (at byte <offset>)` appended. */
  constructor(message: string, offset: number, options?: ErrorOptions) {
    super(`${message} (at byte ${offset})`, options)
    this.name = 'TopicWireError'
    this.offset = offset
  }
}
