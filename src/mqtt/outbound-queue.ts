/**
 * The reliable glue publications waiting for the broker (it is unreachable, or `maxInFlight` publications await
 * their PUBACK): a bounded FIFO that drops its oldest entry when full (the caller counts it).
 */

/** One publication for the broker. */
export interface Outbound {
  /** MQTT topic (prefix included). */
  readonly topic: string
  /** Payload, copied out of glue's receive buffer. */
  readonly payload: Buffer
  /** 0 or 1. */
  readonly qos: 0 | 1
  /** The MQTT retain flag. */
  readonly retain: boolean
  /** The glue codec id. */
  readonly codec: number
  /** The glue type name ('' untyped). */
  readonly type: string
}

/** Consumed slots in front of the array that trigger a compaction. */
const COMPACT_AFTER = 1024

/** See the module doc. */
export class OutboundQueue {
  #items: (Outbound | undefined)[] = []
  #head = 0

  constructor(readonly limit: number) {}

  /** Entries waiting. */
  get size(): number {
    return this.#items.length - this.#head
  }

  /** Appends `item`; returns true when the oldest entry was dropped to make room. */
  push(item: Outbound): boolean {
    let dropped = false
    if (this.size >= this.limit) {
      this.shift()
      dropped = true
    }
    this.#items.push(item)
    return dropped
  }

  /** Puts entries back at the front, in order (publications whose connection was lost before their PUBACK). */
  unshift(items: readonly Outbound[]): number {
    const rest = this.#items.slice(this.#head)
    this.#items = [...items, ...rest]
    this.#head = 0
    let dropped = 0
    while (this.size > this.limit) {
      this.shift()
      dropped++
    }
    return dropped
  }

  /** Removes and returns the oldest entry. */
  shift(): Outbound | undefined {
    if (this.#head >= this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return item
  }

  /** Empties the queue; returns how many entries it held. */
  clear(): number {
    const n = this.size
    this.#items = []
    this.#head = 0
    return n
  }
}
