/**
 * The send fast path of PUBLISH: what stays the same from one publication on a topic to the next (the envelope,
 * flags, codec, epoch, lifespan, depth, topic and type) is encoded once by `encodePublish` — same bytes, same checks —
 * and each publication copies it, writes its sequence number and timestamp, and appends its payload.
 */
import { TOPIC_ENVELOPE } from './envelope'
import { encodePublish } from './wire'
import { TWO_32 } from './wire-io'

const EMPTY = new Uint8Array(0)
/** Offsets, in the enveloped message, of the sequence number and of the timestamp (u64 each). */
const SEQ_AT = TOPIC_ENVELOPE.length + 8
const TIMESTAMP_AT = TOPIC_ENVELOPE.length + 16

/** The fields of a PUBLISH that a {@link PublishHeader} fixes (besides the topic and the publisher's epoch). */
export interface HeaderFields {
  /** Type name ('' untyped). */
  readonly type: string
  /** Codec id. */
  readonly codec: number
  /** Retain flag. */
  readonly retain: boolean
  /** Sealed flag. */
  readonly sealed: boolean
  /** Lifespan, ms (Infinity: none). */
  readonly lifespanMs: number
  /** History depth. */
  readonly depth: number
}

/** The encoded header of a topic's publications with fixed {@link HeaderFields}. */
export class PublishHeader {
  /** The enveloped PUBLISH with sequence number 1, timestamp 0 and no payload. */
  readonly bytes: Buffer
  readonly #type: string
  readonly #codec: number
  readonly #retain: boolean
  readonly #sealed: boolean
  readonly #lifespanMs: number
  readonly #depth: number

  /** Encodes the header (throws as `encodePublish` does on invalid fields). */
  constructor(topic: string, epoch: number, f: HeaderFields) {
    const { type, codec, retain, sealed, lifespanMs, depth } = f
    this.bytes = encodePublish(
      { seq: 1, timestamp: 0, lifespanMs, retain, sealed, codec, payload: EMPTY, epoch, depth, topic, type },
      TOPIC_ENVELOPE,
    )
    this.#type = type
    this.#codec = codec
    this.#retain = retain
    this.#sealed = sealed
    this.#lifespanMs = lifespanMs
    this.#depth = depth
  }

  /** True when this header is the one of publications with these fields. */
  fits(type: string, codec: number, retain: boolean, sealed: boolean, lifespanMs: number, depth: number): boolean {
    return (
      type === this.#type &&
      codec === this.#codec &&
      retain === this.#retain &&
      sealed === this.#sealed &&
      lifespanMs === this.#lifespanMs &&
      depth === this.#depth
    )
  }

  /** Bytes of the enveloped message with a payload of `payloadBytes`. */
  size(payloadBytes: number): number {
    return this.bytes.length + payloadBytes
  }

  /**
   * The enveloped PUBLISH of number `seq` (a positive safe integer) published at `timestamp` (a safe integer >= 0)
   * carrying `payload` (copied): the bytes `encodePublish` makes for these fields.
   */
  encode(seq: number, timestamp: number, payload: Uint8Array): Buffer {
    const header = this.bytes
    const out = Buffer.allocUnsafe(header.length + payload.length)
    out.set(header, 0)
    writeU64(out, SEQ_AT, seq)
    writeU64(out, TIMESTAMP_AT, timestamp)
    out.set(payload, header.length)
    return out
  }
}

/** Writes a safe non-negative integer as a little-endian u64. */
function writeU64(out: Uint8Array, at: number, value: number): void {
  const low = value >>> 0
  const high = (value - low) / TWO_32
  out[at] = low
  out[at + 1] = low >>> 8
  out[at + 2] = low >>> 16
  out[at + 3] = low >>> 24
  out[at + 4] = high
  out[at + 5] = high >>> 8
  out[at + 6] = high >>> 16
  out[at + 7] = high >>> 24
}
