/**
 * DIRECT messages (topic wire kind 5, see `wire-format.ts`): point-to-point messages of the layers above the topics
 * (the consensus layer's Raft traffic) on named channels, without the machinery of publications — no sequence
 * numbers, history, interest summaries or subscription matching. A layer claims a channel (one handler each) and
 * sends on it to one peer; what arrives on a channel nobody claims is dropped and counted.
 */
import { directHeader, encodeDirect } from './wire'
import { TOPIC_ENVELOPE } from './envelope'

/** Called for each DIRECT message on a claimed channel: the sender's endpoint ID and the payload (a view). */
export type DirectHandler = (from: string, payload: Buffer) => void

/** Channels whose encoded header is kept (then all are forgotten at once). */
const MAX_HEADERS = 4096

/** See the module doc. */
export class DirectChannels {
  readonly #handlers = new Map<string, DirectHandler>()
  readonly #headers = new Map<string, Buffer>()
  readonly #onError: (err: unknown) => void
  /** DIRECT messages received on a channel nobody claimed (dropped). */
  unclaimed = 0

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError
  }

  /**
   * Claims `channel` (a reserved `$glue/...` topic name) for `handler`; returns the function that gives it up.
   * Throws TopicError for a bad name and Error when the channel is claimed already.
   */
  claim(channel: string, handler: DirectHandler): () => void {
    directHeader(channel) // validates
    if (this.#handlers.has(channel)) throw new Error(`DIRECT channel ${JSON.stringify(channel)} is claimed already`)
    this.#handlers.set(channel, handler)
    return () => {
      if (this.#handlers.get(channel) === handler) this.#handlers.delete(channel)
    }
  }

  /** The enveloped DIRECT message of `payload` on `channel`, ready for the transport (a copy). */
  encode(channel: string, payload: Uint8Array): Buffer {
    let header = this.#headers.get(channel)
    if (header === undefined) {
      header = directHeader(channel, TOPIC_ENVELOPE)
      if (this.#headers.size >= MAX_HEADERS) this.#headers.clear()
      this.#headers.set(channel, header)
    }
    return encodeDirect(header, payload)
  }

  /** Hands a received DIRECT message to its channel's handler (its errors go to `onError`). */
  deliver(from: string, channel: string, payload: Uint8Array): void {
    const handler = this.#handlers.get(channel)
    if (handler === undefined) {
      this.unclaimed++
      return
    }
    const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    try {
      handler(from, data)
    } catch (err) {
      this.#onError(err)
    }
  }
}
