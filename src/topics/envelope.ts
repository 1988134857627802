/**
 * The topic envelope: topic-layer messages (see `wire-format.ts`) travel as ordinary glue message payloads that start
 * with the two bytes `47 54` ("GT") followed by the topic message, whose first byte is the topic wire version (1).
 *
 * Application payloads may hold any bytes: one that starts with `47 54` is *escaped* on sending — `47 54 00` is put
 * in front — and unescaped on receipt (byte stuffing, as HDLC does). So a received payload that starts with `47 54`
 * is a topic message unless its third byte is 0, and any other payload is the application's as it is. The encoders
 * of `wire.ts` write the envelope in front when given it as their `prefix` (no extra copy).
 */
import { TOPIC_WIRE_VERSION } from './wire-format'

/** The bytes in front of every topic message. */
export const TOPIC_ENVELOPE: Buffer = Buffer.from([0x47, 0x54])
/** The third byte of an escaped application payload (`47 54 00` + the payload). */
export const ESCAPED = 0x00
/** Bytes in front of an escaped application payload. */
export const ESCAPE_BYTES = 3

/** True when a message payload is a topic message of the current version (starts with `47 54 01`). */
export function isTopicPayload(data: Uint8Array): boolean {
  return data.length >= 3 && data[0] === 0x47 && data[1] === 0x54 && data[2] === TOPIC_WIRE_VERSION
}

/** True when a payload starts with the envelope's two bytes (a topic message, or an escaped application payload). */
export function startsWithEnvelope(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x47 && data[1] === 0x54
}

/** An application payload as sent: unchanged, or `47 54 00` + it when it starts with the envelope (a copy). */
export function escapeApplicationPayload(data: Uint8Array): Uint8Array {
  if (!startsWithEnvelope(data)) return data
  const escaped = Buffer.allocUnsafe(ESCAPE_BYTES + data.length)
  escaped[0] = 0x47
  escaped[1] = 0x54
  escaped[2] = ESCAPED
  escaped.set(data, ESCAPE_BYTES)
  return escaped
}

/**
 * A received payload that starts with the envelope: the application payload inside it (a view) when it is an
 * escaped one, or undefined when it is a topic message (of any version).
 */
export function unescapeApplicationPayload(data: Buffer): Buffer | undefined {
  return data.length >= ESCAPE_BYTES && data[2] === ESCAPED ? data.subarray(ESCAPE_BYTES) : undefined
}

/** The topic message inside an enveloped payload (a view, no copy). */
export function unwrapTopicMessage(data: Uint8Array): Uint8Array {
  return data.subarray(TOPIC_ENVELOPE.length)
}
