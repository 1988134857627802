/**
 * The JavaScript-side send queue of reliable messages that the native core cannot take yet: its channel already
 * holds `sendQueueBytes` unsettled, or its command queue is full. Messages wait per channel, in order, and are
 * offered again when earlier messages settle (`pump()` after a batch) or on a short timer after the command
 * queue said no; a message whose deadline passes while it waits is expired (the sender rejects it with
 * BackpressureError).
 */
import { MinHeap } from '../util/fifo'
import { MAX_TIMEOUT_MS } from './options'
import { admits, type Channel, type Outgoing, State } from './outgoing'

/** How soon messages held back by a full native queue are offered again, ms. */
export const RETRY_MS = 5

/** What the backlog needs from its sender. */
export interface BacklogHooks {
  /** Unsettled bytes per channel that the native core accepts. */
  readonly sendQueueBytes: number
  /** Hands a message to the native core (or settles it on an error); false when the command queue is full. */
  submit(message: Outgoing): boolean
  /** The message's deadline passed while it waited: settle it. */
  expire(message: Outgoing): void
  /** The channel has nothing waiting any more (forget it if nothing is in flight either). */
  idle(channel: Channel): void
}

/** Waiting reliable messages of one endpoint, and the timer that retries and expires them. */
export class SendBacklog {
  /** The native side said no (full command queue, or a refused message): retry on the timer or the next pump. */
  blocked = false
  readonly #hooks: BacklogHooks
  /** Channels with waiting messages, in the order they started waiting. */
  readonly #channels = new Set<Channel>()
  /** The held messages by deadline; entries no longer held are dropped lazily. */
  readonly #deadlines = new MinHeap<Outgoing>((message) => message.deadline)
  #size = 0
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #closed = false

  constructor(hooks: BacklogHooks) {
    this.#hooks = hooks
  }

  /** Messages waiting. */
  get size(): number {
    return this.#size
  }

  /** Whether a new message for `channel` must wait behind others (or for room) instead of going out now. */
  mustWait(channel: Channel, size: number): boolean {
    return this.blocked || channel.waiting.size > 0 || !admits(channel, size, this.#hooks.sendQueueBytes)
  }

  /**
   * Queues a message at the back of its channel (or, `front`, a refused one that was handed over: ahead of every
   * message sent after it, so that refused messages go out again in the order they were sent).
   */
  add(message: Outgoing, front = false): void {
    if (front) message.channel.waiting.insertBefore(message, (other) => other.order > message.order)
    else message.channel.waiting.push(message)
    message.passDeadline = true
    if (!message.held) {
      message.held = true
      this.#size++
      this.#deadlines.push(message)
    }
    this.#channels.add(message.channel)
    this.#arm()
  }

  /** The message leaves the backlog (handed over or settled); its queue entry goes lazily. */
  release(message: Outgoing): void {
    if (!message.held) return
    message.held = false
    if (--this.#size === 0) this.#deadlines.clear()
  }

  /** Expires messages whose deadline passed, then offers the others to the core, channel by channel, in order. */
  pump(): void {
    this.blocked = false
    this.#expire(performance.now())
    for (const channel of this.#channels) {
      for (;;) {
        const message = channel.waiting.peek()
        if (message === undefined) {
          this.#channels.delete(channel)
          this.#hooks.idle(channel)
          break
        }
        if (message.state !== State.Waiting) channel.waiting.shift()
        else if (!admits(channel, message.size, this.#hooks.sendQueueBytes)) break
        else if (this.#hooks.submit(message)) channel.waiting.shift()
        else {
          this.blocked = true
          this.#arm()
          return
        }
      }
    }
    this.#arm()
  }

  /** Stops the timer and forgets everything (the sender settles the messages). */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#channels.clear()
    this.#deadlines.clear()
  }

  #expire(now: number): void {
    for (let top = this.#deadlines.peek(); top !== undefined; top = this.#deadlines.peek()) {
      if (top.held && top.deadline > now) break
      this.#deadlines.pop()
      if (!top.held) continue
      this.#hooks.expire(top)
      this.release(top)
      const channel = top.channel
      while (channel.waiting.peek()?.state === State.Done) channel.waiting.shift()
      if (channel.waiting.size === 0) {
        this.#channels.delete(channel)
        this.#hooks.idle(channel)
      }
    }
  }

  /** Keeps one timer: at the earliest waiting deadline, or soon when the native side said no. */
  #arm(): void {
    let top = this.#deadlines.peek()
    while (top !== undefined && !top.held) {
      this.#deadlines.pop()
      top = this.#deadlines.peek()
    }
    if (this.#closed || top === undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#timerAt = Number.POSITIVE_INFINITY
      return
    }
    const now = performance.now()
    const at = Math.min(top.deadline, this.blocked ? now + RETRY_MS : Number.POSITIVE_INFINITY)
    if (this.#timer !== undefined && this.#timerAt <= at) return
    clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(this.#tick, Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.ceil(at - now))))
    this.#timer.unref()
  }

  readonly #tick = (): void => {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    this.pump()
  }
}
