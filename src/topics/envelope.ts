/**
 * The topic envelope: topic-layer messages (see `wire-format.ts`) travel as ordinary glue message payloads that start
 * with the two bytes `47 54` ("GT") followed by the topic message, whose first byte is the topic wire version (1).
 * Application payloads that start with these three bytes are refused by `send()` / `broadcast()`, so that the
 * endpoint can tell the two apart on receipt without a flag in the transport. The encoders of `wire.ts` write the
 * envelope in front when given it as their `prefix` (no extra copy).
 */
import { TOPIC_WIRE_VERSION } from './wire-format'

/** The bytes in front of every topic message. */
export const TOPIC_ENVELOPE: Buffer = Buffer.from([0x47, 0x54])

/** True when a message payload is a topic message (starts with `47 54 01`). */
export function isTopicPayload(data: Uint8Array): boolean {
  return data.length >= 3 && data[0] === 0x47 && data[1] === 0x54 && data[2] === TOPIC_WIRE_VERSION
}

/** The topic message inside an enveloped payload (a view, no copy). */
export function unwrapTopicMessage(data: Uint8Array): Uint8Array {
  return data.subarray(TOPIC_ENVELOPE.length)
}
