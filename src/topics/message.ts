/**
 * What a subscriber receives: one publication, decoded.
 */

/** The fields of a {@link TopicMessage} (what its constructor takes). */
export type TopicMessageFields<T> = Omit<TopicMessage<T>, 'text'>

/** One publication as a subscriber receives it. Per publisher and topic, messages arrive in order and once. */
export class TopicMessage<T = unknown> {
  /** The topic name it was published on. */
  readonly topic: string
  /** The decoded value (for the `raw` codec: a Buffer view of the payload). */
  readonly value: T
  /** The encoded payload, a view into a received buffer: copy it if you keep a small part of many messages. */
  readonly payload: Buffer
  /** The publisher's type name for the topic; '' for untyped. */
  readonly type: string
  /** The codec id the payload was encoded with (0 raw, 1 json, 2 msgpack, 128..255 custom), as it travelled. */
  readonly codec: number
  /** The publishing endpoint's ID, 16 hex digits. */
  readonly from: string
  /** The publishing endpoint's name ('' when it is not, or no longer, in the peer table). */
  readonly fromName: string
  /** Sequence number in the publisher's stream of this topic, from 1, without gaps unless numbers were lost. */
  readonly seq: number
  /** When it was published, ms since the Unix epoch (the publisher's clock). */
  readonly timestamp: number
  /** Published with `retain: true` (the topic's last value). */
  readonly retained: boolean
  /** Arrived from a history, cache or repair answer rather than live. */
  readonly replayed: boolean
  /** Arrived through a reliable channel (a live reliable publication, or a replay). */
  readonly reliable: boolean

  constructor(fields: TopicMessageFields<T>) {
    // Field by field (not Object.assign): one shape, and fast on the hot path.
    this.topic = fields.topic
    this.value = fields.value
    this.payload = fields.payload
    this.type = fields.type
    this.codec = fields.codec
    this.from = fields.from
    this.fromName = fields.fromName
    this.seq = fields.seq
    this.timestamp = fields.timestamp
    this.retained = fields.retained
    this.replayed = fields.replayed
    this.reliable = fields.reliable
  }

  /**
   * The payload as UTF-8 text, whatever the codec (invalid UTF-8 sequences become U+FFFD; decoded on each call): for
   * `raw` publications the text as published (`publish(topic, 'hello')` reads back `'hello'`, as `Message.text()` on
   * the transport); for `json` the JSON text as it travelled (`'{"n":1}'`, `'"hi"'` for the string hi); for
   * `msgpack` and custom codecs the bytes read as UTF-8, rarely meaningful: use `value`.
   */
  text(): string {
    return this.payload.toString('utf8')
  }
}
