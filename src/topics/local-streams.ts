/**
 * This endpoint's own publication streams: a random epoch per start (so that numbers of a restarted endpoint never
 * mix with the old ones), and per topic the type it publishes and the last sequence number.
 */
import { randomInt } from 'node:crypto'

import { TopicTypeError } from './errors'

interface Stream {
  readonly type: string
  seq: number
  depth: number
}

/** The topics this endpoint publishes on. */
export class LocalStreams {
  /** This start's epoch, a random u32. */
  readonly epoch = randomInt(0, 2 ** 32)
  readonly #streams = new Map<string, Stream>()

  /** Takes the next sequence number of `topic`; throws TopicTypeError when `type` differs from the topic's. */
  next(topic: string, type: string, depth: number): number {
    let stream = this.#streams.get(topic)
    if (stream === undefined) this.#streams.set(topic, (stream = { type, seq: 0, depth }))
    else if (stream.type !== type) throw new TopicTypeError(topic, stream.type, type)
    stream.depth = depth
    return ++stream.seq
  }

  /** The checks of `next()` without taking a number (throws TopicTypeError). */
  check(topic: string, type: string): void {
    const stream = this.#streams.get(topic)
    if (stream !== undefined && stream.type !== type) throw new TopicTypeError(topic, stream.type, type)
  }

  /** The last number used on `topic` (0 for none), its type and depth. */
  get(topic: string): { seq: number; type: string; depth: number } | undefined {
    return this.#streams.get(topic)
  }
}
