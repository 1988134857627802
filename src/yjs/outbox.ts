/**
 * How the provider publishes: encodes a message, hands it to `endpoint.publish()`, counts it, and turns every failure
 * (send queue full, peer gone, endpoint closed, too large) into a counted `sendFailures` instead of an exception or an
 * unhandled rejection. A best-effort message too large for one datagram goes reliably instead.
 */
import type { Endpoint } from '../endpoint'
import { MessageTooLargeError } from '../errors'
import type { PublishOptions } from '../topics/options'
import { encodeMessage, type YjsMessage } from './messages'
import type { GlueYjsProviderStats } from './options'

/** Publishes messages of one provider, counting into its stats. */
export class Outbox {
  readonly #endpoint: Endpoint
  readonly #counts: GlueYjsProviderStats

  constructor(endpoint: Endpoint, counts: GlueYjsProviderStats) {
    this.#endpoint = endpoint
    this.#counts = counts
  }

  /**
   * Publishes `message` on `topic` and counts it in `counter`. Never throws; resolves when glue settled it (at once
   * for best effort, or when nothing was sent because the endpoint is closed).
   */
  publish(
    topic: string,
    message: YjsMessage,
    options: PublishOptions,
    counter: keyof GlueYjsProviderStats,
  ): Promise<void> {
    if (this.#endpoint.isClosed) return Promise.resolve()
    try {
      const result = this.#endpoint.publish(topic, encodeMessage(message), options)
      this.#counts[counter]++
      if (typeof result !== 'boolean') return result.catch(() => void this.#counts.sendFailures++)
      if (!result) this.#counts.sendFailures++
    } catch (err) {
      if (err instanceof MessageTooLargeError && options.reliable !== true) {
        return this.publish(topic, message, { ...options, reliable: true }, counter)
      }
      this.#counts.sendFailures++
    }
    return Promise.resolve()
  }
}
