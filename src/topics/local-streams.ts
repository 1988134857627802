/**
 * This endpoint's own publication streams: a random epoch per start (so that numbers of a restarted endpoint never
 * mix with the old ones), and per topic the type it publishes and the last sequence number.
 */
import { randomInt } from 'node:crypto'

import { TopicTypeError } from './errors'

/** One topic this endpoint publishes on. */
export interface OwnStream {
  /** The type it publishes ('' untyped). */
  readonly type: string
  /** The last number used. */
  readonly seq: number
  /** The depth of the last publication. */
  readonly depth: number
}

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

  /**
   * `next()` for a caller that holds the stream of `topic` (from `get()`; undefined before the first publication)
   * and checked its type (`check()`); returns the stream.
   */
  take(topic: string, type: string, depth: number, held: OwnStream | undefined): OwnStream {
    if (held === undefined) {
      this.next(topic, type, depth)
      return this.#streams.get(topic) as Stream
    }
    const stream = held as Stream
    stream.depth = depth
    stream.seq++
    return stream
  }

  /** The checks of `next()` without taking a number (throws TopicTypeError); `stream`: the topic's, if held. */
  check(topic: string, type: string, stream: OwnStream | undefined = this.#streams.get(topic)): void {
    if (stream !== undefined && stream.type !== type) throw new TopicTypeError(topic, stream.type, type)
  }

  /** The topic's stream: the last number used on `topic`, its type and depth (undefined before the first one). */
  get(topic: string): OwnStream | undefined {
    return this.#streams.get(topic)
  }
}
