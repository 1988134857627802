/**
 * QoS 0 PUBLISH packets of one glue batch encoded into one buffer and written to the broker connection at once.
 *
 * mqtt.js spends about 4 µs per `publish()` (packet object, validation, `mqtt-packet`'s four writes per packet); a
 * QoS 0 packet has no state to keep (no packet ID, no acknowledgement), so the bridge writes its bytes itself:
 * 0.2 µs each, which leaves the 2-core machine's CPU to the broker. QoS 1 still goes through mqtt.js (packet IDs,
 * PUBACK, resending). The MQTT 5 properties block is made once per codec and type (`encodeProperties`).
 * `__test__/mqtt-parts.spec.ts` checks the bytes against `mqtt-packet`'s `generate()` (mqtt.js's encoder) for both
 * protocol versions.
 *
 * ```text
 *  PUBLISH, QoS 0 (MQTT 3.1.1 section 3.3; MQTT 5 section 3.3)
 * +---------------+------------------------------------------+
 * | 0x30 | retain | remaining length (varint, 1..4 bytes)    |  fixed header: type 3, DUP 0, QoS 0, RETAIN bit 0
 * +---------------+------------------------------------------+
 * | topic length (u16 BE) | topic (UTF-8)                    |  variable header (no packet ID at QoS 0)
 * +---------------------------------------------------------+
 * | MQTT 5 only: properties length (varint) | properties     |
 * +---------------------------------------------------------+
 * | payload (the rest)                                       |
 * +---------------------------------------------------------+
 * ```
 */
/** Largest remaining length MQTT allows (four varint bytes). */
export const MAX_REMAINING_LENGTH = 268_435_455

/** A first buffer this big holds a batch of a few hundred small publications; it grows for more. */
const INITIAL_BYTES = 64 * 1024

/** What the batch writes to: the broker connection's stream. */
export interface PacketSink {
  write(chunk: Buffer): boolean
}

/**
 * The encoded MQTT 5 properties block (its length varint included) of what `PublishProperties` makes: Content Type
 * (0x03) and User Properties (0x26) with string values, in the object's order (as `mqtt-packet` writes them).
 * @throws TypeError for any other property (none is made)
 */
export function encodeProperties(properties: Record<string, unknown> | undefined): Buffer {
  const parts: Buffer[] = []
  const str = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8')
    const out = Buffer.allocUnsafe(2 + bytes.length)
    out.writeUInt16BE(bytes.length, 0)
    bytes.copy(out, 2)
    return out
  }
  for (const [name, value] of Object.entries(properties ?? {})) {
    if (name === 'contentType' && typeof value === 'string') parts.push(Buffer.from([0x03]), str(value))
    else if (name === 'userProperties' && typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new TypeError(`user property ${key}: not a string`)
        parts.push(Buffer.from([0x26]), str(key), str(v))
      }
    } else throw new TypeError(`property ${name}: not encoded here`)
  }
  const body = Buffer.concat(parts)
  return Buffer.concat([varint(body.length), body])
}

function varint(n: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  return out.subarray(0, writeVarint(out, 0, n))
}

/** Writes `n` as an MQTT variable byte integer (1..4 bytes) at `o`; returns the offset after it. */
function writeVarint(buf: Buffer, o: number, n: number): number {
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n > 0) byte |= 0x80
    buf[o++] = byte
  } while (n > 0)
  return o
}

/** See the module doc. One per bridge; `add` during a batch, `flush` at its end. */
export class PublishBatch {
  #buf = Buffer.allocUnsafe(INITIAL_BYTES)
  #used = 0
  /** Publications in the current batch. */
  count = 0

  /**
   * Appends one QoS 0 PUBLISH. `properties`: the MQTT 5 properties block (`encodeProperties`), or undefined for
   * MQTT 3.1.1. Returns false, appending nothing, when the packet would exceed MQTT's largest remaining length.
   */
  add(topic: string, payload: Uint8Array, retain: boolean, properties: Buffer | undefined): boolean {
    const topicBytes = Buffer.byteLength(topic)
    const remaining = 2 + topicBytes + (properties?.length ?? 0) + payload.length
    if (remaining > MAX_REMAINING_LENGTH) return false
    const need = 5 + remaining
    if (this.#used + need > this.#buf.length) this.#grow(need)
    const buf = this.#buf
    let o = this.#used
    buf[o++] = retain ? 0x31 : 0x30
    o = writeVarint(buf, o, remaining)
    buf[o++] = topicBytes >>> 8
    buf[o++] = topicBytes & 0xff
    o += buf.write(topic, o, topicBytes, 'utf8')
    if (properties !== undefined) o += properties.copy(buf, o)
    buf.set(payload, o)
    this.#used = o + payload.length
    this.count++
    return true
  }

  /** Writes the batch to `sink` in one write (nothing when empty) and starts a new one. */
  flush(sink: PacketSink): void {
    if (this.#used === 0) return
    // The stream keeps the chunk until it is written: hand it this buffer and start a fresh one.
    const chunk = this.#buf.subarray(0, this.#used)
    this.#buf = Buffer.allocUnsafe(Math.max(INITIAL_BYTES, this.#buf.length))
    this.#used = 0
    this.count = 0
    sink.write(chunk)
  }

  /** Drops the batch (the connection went away before it was written). */
  clear(): void {
    this.#used = 0
    this.count = 0
  }

  #grow(need: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#used + need))
    this.#buf.copy(bigger, 0, 0, this.#used)
    this.#buf = bigger
  }
}
