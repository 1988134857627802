/**
 * The receive fast path of PUBLISH (format: `wire-format.ts`): reads a publication straight from the enveloped
 * payload, without a reader object, a view of the topic message or a string per name (names are found by their
 * bytes in `name-cache.ts`). It accepts only what the strict decoder (`wire-decode.ts`) accepts, with the same
 * fields; anything else — another kind, anything malformed, a name not yet seen — returns undefined, and the caller
 * decodes strictly (which throws, or decodes and remembers the names for the next time).
 */
import { TOPIC_NAMES, TYPE_NAMES } from './name-cache'
import {
  knownCodec,
  NO_LIFESPAN,
  type PublishMessage,
  RETAIN_FLAG,
  SEALED_FLAG,
  TOPIC_WIRE_VERSION,
  TopicKind,
} from './wire-format'
import { MAX_SAFE_HIGH, TWO_32 } from './wire-io'

/** Bytes of a PUBLISH before the names. */
const FIXED = 33

const u32 = (d: Uint8Array, at: number): number => (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16)) + d[at + 3] * 0x1000000

/**
 * The PUBLISH message that starts at `data[start]` and runs to the end of `data` (the payload is a view into
 * `data`: a Buffer when `data` is one), or undefined when the strict decoder has to look at it.
 */
export function decodePublishFast(data: Uint8Array, start: number): PublishMessage | undefined {
  const end = data.length
  if (end - start < FIXED || data[start] !== TOPIC_WIRE_VERSION || data[start + 1] !== TopicKind.PUBLISH) return
  const flags = data[start + 2]
  const codec = data[start + 3]
  if ((flags & ~(RETAIN_FLAG | SEALED_FLAG)) !== 0 || !knownCodec(codec)) return
  const seqHigh = u32(data, start + 12)
  const timeHigh = u32(data, start + 20)
  if (seqHigh > MAX_SAFE_HIGH || timeHigh > MAX_SAFE_HIGH) return
  const seq = seqHigh * TWO_32 + u32(data, start + 8)
  const lifespan = u32(data, start + 24)
  if (seq === 0 || lifespan === 0) return
  const topicBytes = data[start + 30] | (data[start + 31] << 8)
  const typeBytes = data[start + 32]
  const at = start + FIXED
  if (end - at < topicBytes + typeBytes) return
  const topic = TOPIC_NAMES.find(data, at, topicBytes)
  if (topic === undefined) return
  const type = typeBytes === 0 ? '' : TYPE_NAMES.find(data, at + topicBytes, typeBytes)
  if (type === undefined) return
  return {
    kind: 'publish',
    epoch: u32(data, start + 4),
    seq,
    timestamp: timeHigh * TWO_32 + u32(data, start + 16),
    lifespanMs: lifespan === NO_LIFESPAN ? Infinity : lifespan,
    retain: (flags & RETAIN_FLAG) !== 0,
    sealed: (flags & SEALED_FLAG) !== 0,
    codec,
    depth: data[start + 28] | (data[start + 29] << 8),
    topic,
    type,
    payload: data.subarray(at + topicBytes + typeBytes),
  }
}
