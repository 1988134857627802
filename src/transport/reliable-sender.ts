/**
 * Reliable sends: the bookkeeping between the promises of `send(…, { reliable: true })` / `broadcast(…)` and the
 * native core's Delivered / Failed / Refused reports, plus flow control on the JavaScript side.
 *
 * Every message gets a u32 token when it is handed to the native core (a per-endpoint counter that wraps and
 * skips tokens still pending); the report under that token settles the message's promise. The only Promise per
 * message is the one returned to the caller.
 *
 * Flow control: the native core refuses a reliable message when its channel (one per peer, one for broadcasts)
 * already queues `sendQueueBytes`, and drops it when its command queue is full. Neither should surface as an
 * error while there is time left, so messages are handed over only while the channel's unsettled bytes allow
 * it (counted conservatively here: a message's bytes count until it and every earlier message of its channel
 * are settled, as in the core), and otherwise wait in the {@link SendBacklog}, per channel and in order. They go
 * out as earlier messages settle, or on a short timer after a full command queue (or a refusal, which the
 * conservative count should make impossible); a message whose deadline passes while it waits rejects with
 * BackpressureError.
 *
 * Batching: messages handed over are written into a {@link SendSlab} and passed to the native core once per
 * tick (a microtask), in one call, however many there are. Best-effort messages ride in the same slab
 * ({@link ReliableSender.sendBestEffort}): nothing is tracked for them, and they are dropped (and counted by the
 * native core) when the command queue refuses the slab. Only a message larger than
 * {@link SLAB_INLINE_MAX_BYTES} goes in a call of its own (no extra copy), after the slab. The messages of a
 * slab that the full command queue refuses go back to the front of their channels' queues, in order.
 */
import {
  BackpressureError,
  ClosedError,
  DeliveryError,
  fromNativeError,
  MessageTooLargeError,
  type MissingReceiver,
  UnknownPeerError,
} from '../errors'
import { Fifo } from '../util/fifo'
import { TickClock } from '../util/tick-clock'
import { FlushTracker } from './flush-tracker'
import type { NativeTransport } from './native-types'
import { type Channel, describeTarget, type Outgoing, State } from './outgoing'
import { RETRY_MS, SendBacklog } from './send-backlog'
import { TokenRing } from './token-ring'
import { peerKey, SLAB_HEADER_BYTES, SendSlab } from './send-slab'

/** Messages up to this size go into the per-tick slab; larger ones are handed over on their own, bytes. */
export const SLAB_INLINE_MAX_BYTES = 16 << 10
/** Best-effort sends of one tick beyond this many slab bytes are refused (backpressure for tight loops). */
export const MAX_TICK_BYTES = 16 << 20

/** Why the native core refused a reliable send (`b` of a Refused entry). */
export const RefuseReason = { UNKNOWN_PEER: 1, QUEUE_FULL: 2, TOO_LARGE: 3, CLOSED: 4 } as const

/** The channel key of reliable broadcasts (peer IDs are 16 hex digits, so it cannot clash). */
const BROADCAST = '*'

/** The limits and hooks of a {@link ReliableSender}. */
export interface ReliableSenderOptions {
  /** Unsettled bytes per channel that the native core accepts (`sendQueueBytes`). */
  sendQueueBytes: number
  /** Largest reliable message, bytes (`maxMessageSize`). */
  maxMessageSize: number
  /** Deadline of messages sent without one, ms (`deliveryDeadlineMs`). */
  deliveryDeadlineMs: number
  /** The name of a receiver by ID ('' if unknown), for DeliveryError. */
  nameOf: (id: string) => string
  /** The first token to use (tests of the wrap-around). Default 0. */
  firstToken?: number
}

/** A receiver of a unicast. */
export interface ReliableTarget {
  readonly id: string
  readonly name: string
}

/** Tracks the reliable messages of one endpoint. */
export class ReliableSender {
  /** Messages that had to wait in the JavaScript-side queue. */
  deferred = 0
  /** Messages rejected with BackpressureError (their deadline passed while they waited). */
  expiredWaiting = 0

  readonly #native: NativeTransport
  readonly #options: ReliableSenderOptions
  /** In-flight messages by token. */
  readonly #pending = new TokenRing<Outgoing>()
  readonly #channels = new Map<string, Channel>()
  readonly #backlog: SendBacklog
  readonly #flush = new FlushTracker()
  /** This tick's messages for the native core, and the messages they are. */
  readonly #slab = new SendSlab()
  #slabMessages: Outgoing[] = []
  /** Where each of `#slabMessages` starts in the slab. */
  #slabOffsets: number[] = []
  #slabQueued = false
  /** The command queue refused the last slab: best-effort sends say so until the retry timer clears this. */
  #bestEffortRefused = false
  #bestEffortRetry: NodeJS.Timeout | undefined
  readonly #slabTask = (): void => {
    this.#slabQueued = false
    if (!this.#closed) this.#flushSlab()
  }
  #token: number
  /** The next message's {@link Outgoing.order}. */
  #order = 0
  /** `performance.now()` read once per tick: deadlines are ms-grained anyway. */
  readonly #tick = new TickClock()
  /** Something settled since the last pump: channel room may have been freed. */
  #dirty = false
  #closed = false

  constructor(native: NativeTransport, options: ReliableSenderOptions) {
    this.#native = native
    this.#options = options
    this.#token = (options.firstToken ?? 0) >>> 0
    this.#backlog = new SendBacklog({
      sendQueueBytes: options.sendQueueBytes,
      submit: (message) => this.#submit(message),
      expire: (message) => {
        this.expiredWaiting++
        this.#finish(
          message,
          new BackpressureError(
            `reliable message to ${describeTarget(message)} could not be handed to the native core before its ` +
              'deadline: the send queues stayed full (the receivers are slower than the sender)',
          ),
        )
      },
      idle: (channel) => this.#dropIfIdle(channel),
    })
  }

  /** Messages not yet settled (in flight or waiting). */
  get unsettled(): number {
    return this.#flush.unsettled
  }

  /** Messages waiting in the JavaScript-side queue. */
  get waiting(): number {
    return this.#backlog.size
  }

  /**
   * Sends one message reliably to `target` (undefined: broadcast). `ownsData` says whether `data` may be kept
   * as it is (else it is copied if it has to wait, as the caller may reuse it once the call returns).
   * @throws ClosedError, MessageTooLargeError (before anything is queued)
   */
  send(
    target: ReliableTarget | undefined,
    data: Uint8Array,
    ownsData: boolean,
    deadlineMs: number | undefined,
  ): Promise<void> {
    if (this.#closed) throw new ClosedError()
    const { maxMessageSize } = this.#options
    if (data.length > maxMessageSize) {
      throw new MessageTooLargeError(
        `reliable message of ${data.length} bytes is larger than maxMessageSize (${maxMessageSize} bytes)`,
      )
    }
    const channel = this.#channel(target)
    const promise = new Promise<void>(this.#capture)
    this.#enqueue(target, channel, data, ownsData, deadlineMs, this.#resolve, this.#reject)
    return promise
  }

  /** The executor of every `send()` Promise: keeps its resolving functions (no closure per message). */
  readonly #capture = (resolve: () => void, reject: (reason: unknown) => void): void => {
    this.#resolve = resolve
    this.#reject = reject
  }
  #resolve: () => void = noop
  #reject: (reason: unknown) => void = noop

  /**
   * Sends several messages reliably to `target` (undefined: broadcast), in order, with one Promise for all:
   * it resolves when every message is acknowledged and rejects with the first error (the others still go
   * out). Cheaper than one `send()` each: no Promise per message.
   * @throws ClosedError, MessageTooLargeError (before anything is queued)
   */
  sendMany(
    target: ReliableTarget | undefined,
    messages: readonly Uint8Array[],
    ownsData: boolean,
    deadlineMs: number | undefined,
  ): Promise<void> {
    if (this.#closed) throw new ClosedError()
    const { maxMessageSize } = this.#options
    for (const data of messages) {
      if (data.length > maxMessageSize) {
        throw new MessageTooLargeError(
          `reliable message of ${data.length} bytes is larger than maxMessageSize (${maxMessageSize} bytes)`,
        )
      }
    }
    if (messages.length === 0) return Promise.resolve()
    const channel = this.#channel(target)
    return new Promise<void>((resolveAll, rejectAll) => {
      let remaining = messages.length
      let failed = false
      const resolve = (): void => {
        if (--remaining === 0 && !failed) resolveAll()
      }
      const reject = (reason: unknown): void => {
        remaining--
        if (!failed) rejectAll(reason)
        failed = true
      }
      for (const data of messages) this.#enqueue(target, channel, data, ownsData, deadlineMs, resolve, reject)
    })
  }

  #channel(target: ReliableTarget | undefined): Channel {
    const key = target?.id ?? BROADCAST
    let channel = this.#channels.get(key)
    if (channel === undefined) {
      const peer = target === undefined ? undefined : peerKey(target.id)
      channel = { key, peer, waiting: new Fifo(), inFlight: new Fifo(), inFlightBytes: 0 }
      this.#channels.set(key, channel)
    }
    return channel
  }

  #enqueue(
    target: ReliableTarget | undefined,
    channel: Channel,
    data: Uint8Array,
    ownsData: boolean,
    deadlineMs: number | undefined,
    resolve: () => void,
    reject: (reason: unknown) => void,
  ): void {
    const message: Outgoing = {
      state: State.Waiting,
      held: false,
      token: 0,
      peerId: target?.id,
      peerName: target?.name ?? '',
      data,
      size: data.length,
      deadline: this.#tick.now() + (deadlineMs ?? this.#options.deliveryDeadlineMs),
      passDeadline: deadlineMs !== undefined,
      generation: this.#flush.add(),
      order: this.#order++,
      channel,
      resolve,
      reject,
    }
    const backlog = this.#backlog
    if (backlog.mustWait(channel, message.size) || !this.#submit(message)) {
      if (!ownsData) message.data = Buffer.from(data)
      this.deferred++
      backlog.add(message)
    } else if (!ownsData) {
      // Handed over (the slab holds a copy; a refused slab is offered again from a copy of the slab): the caller
      // may reuse its buffer from now on, so it is not kept.
      message.data = undefined
    }
  }

  /**
   * Queues one best-effort message to `target` (undefined: broadcast) in this tick's slab (copied now); the
   * caller checked its size. False, dropping it, while the native command queue is full (it refused the last
   * slab, a few ms ago) or this tick already queued `MAX_TICK_BYTES`.
   * @throws ClosedError
   */
  sendBestEffort(target: ReliableTarget | undefined, data: Uint8Array): boolean {
    if (this.#closed) throw new ClosedError()
    if (this.#bestEffortRefused || this.#slab.size > MAX_TICK_BYTES) return false
    // The peer's key from its channel if it has one; no channel is made for best effort (none would be dropped).
    const peer = target === undefined ? undefined : (this.#channels.get(target.id)?.peer ?? peerKey(target.id))
    this.#slab.append(0, peer, undefined, data, true)
    this.#queueSlab()
    return true
  }

  /** A Delivered report: every receiver acknowledged. */
  delivered(token: number): void {
    const message = this.#pending.get(token)
    if (message !== undefined) this.#settle(message, undefined)
  }

  /** A Failed report: `missing` (IDs) did not acknowledge before the deadline, or went away. */
  failed(token: number, missing: readonly string[]): void {
    const message = this.#pending.get(token)
    if (message === undefined) return
    const { nameOf } = this.#options
    const receivers: MissingReceiver[] = missing.map((id) => ({
      id,
      name: id === message.peerId ? message.peerName : nameOf(id),
    }))
    this.#settle(message, new DeliveryError(receivers))
  }

  /**
   * A Refused report: the core did not take the message (see {@link RefuseReason}). A message refused for a full
   * channel is offered again from `data`, the copy the core hands back with the report (the caller may have
   * reused its own buffer since), or from its own data if the sender owns it; with neither it fails with
   * BackpressureError rather than go out with bytes the caller may have changed.
   */
  refused(token: number, reason: number, data?: Uint8Array): void {
    const message = this.#pending.get(token)
    if (message === undefined) return
    if (reason === RefuseReason.QUEUE_FULL && !this.#closed) {
      if (data !== undefined && data.length === message.size) message.data = data
      if (message.data !== undefined) {
        this.#requeue(message)
        return
      }
    }
    this.#settle(message, this.#refusal(message, reason))
  }

  /**
   * Called after each inbound batch: offers waiting messages again if anything settled (which frees room). After
   * a full command queue or a refusal the backlog's timer retries instead, so a refusal cannot turn into a loop.
   */
  afterBatch(): void {
    if (this.#dirty && this.#backlog.size > 0) this.#backlog.pump()
    this.#dirty = false
  }

  /** Resolves once every message sent before this call is settled; rejects with `signal.reason` on abort. */
  flush(signal?: AbortSignal): Promise<void> {
    return this.#flush.flush(signal)
  }

  /** Rejects every unsettled message with ClosedError and stops the timer. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#backlog.close()
    clearTimeout(this.#bestEffortRetry)
    this.#takeSlab()
    const error = new ClosedError('the endpoint was closed before the reliable message was delivered')
    for (const message of this.#pending.values()) this.#finish(message, error)
    for (const channel of this.#channels.values()) {
      for (const message of channel.waiting.toArray()) this.#finish(message, error)
    }
    this.#pending.clear()
    this.#channels.clear()
  }

  /**
   * Hands a message to the native core: into this tick's slab, or (a large one) in a call of its own after the
   * slab. False when the command queue is full (the message is unchanged).
   */
  #submit(message: Outgoing): boolean {
    const remaining = message.passDeadline ? Math.max(1, message.deadline - performance.now()) : undefined
    const data = message.data as Uint8Array
    if (message.size > SLAB_INLINE_MAX_BYTES) {
      // After the slab, never before it; if the slab is refused, its messages wait and this one behind them.
      return this.#flushSlab() && this.#submitAlone(message, data, remaining)
    }
    const token = this.#nextToken()
    this.#slabOffsets.push(this.#slab.append(token, message.channel.peer, remaining, data))
    this.#slabMessages.push(message)
    this.#handedOver(message, token)
    this.#queueSlab()
    return true
  }

  /** Makes sure the slab goes out at the end of this tick. */
  #queueSlab(): void {
    if (!this.#slabQueued) {
      this.#slabQueued = true
      queueMicrotask(this.#slabTask)
    }
  }

  /** Hands one message over in a call of its own. */
  #submitAlone(message: Outgoing, data: Uint8Array, remaining: number | undefined): boolean {
    const token = this.#nextToken()
    let accepted: boolean
    try {
      accepted =
        message.peerId === undefined
          ? this.#native.broadcastReliable(data, token, remaining)
          : this.#native.sendReliable(message.peerId, data, token, remaining)
    } catch (err) {
      this.#finish(message, fromNativeError(err))
      this.#dropIfIdle(message.channel)
      return true
    }
    if (!accepted) {
      this.#backlog.blocked = true
      return false
    }
    this.#handedOver(message, token)
    return true
  }

  /** Records that a message was handed over under `token`. */
  #handedOver(message: Outgoing, token: number): void {
    this.#backlog.release(message)
    message.state = State.InFlight
    message.token = token
    this.#pending.add(message)
    message.channel.inFlight.push(message)
    message.channel.inFlightBytes += message.size
  }

  /**
   * Passes the slab to the native core; true when it is empty afterwards. When the command queue is full, its
   * messages go back to the front of their channels' queues (with copies of their data), to be offered again
   * by the backlog; a native error settles them with that error.
   */
  #flushSlab(): boolean {
    if (this.#slab.count === 0) return true
    let accepted: boolean
    try {
      accepted = this.#native.sendSlab(this.#slab.bytes())
    } catch (err) {
      const error = fromNativeError(err)
      for (const message of this.#takeSlab()) this.#settle(message, error)
      return true
    }
    if (accepted) {
      this.#slab.clear()
      this.#slabMessages.length = 0
      this.#slabOffsets.length = 0
      return true
    }
    this.#refuseBestEffortForAWhile()
    const copy = this.#slab.bytes().slice()
    const offsets = this.#slabOffsets
    const messages = this.#takeSlab()
    messages.forEach((message, i) => {
      const start = (offsets[i] as number) + SLAB_HEADER_BYTES
      message.data = copy.subarray(start, start + message.size)
    })
    // Back to the front of each channel's queue, in order; channels keep the order in which they first appear.
    const byChannel = new Map<Channel, Outgoing[]>()
    for (const message of messages) {
      const list = byChannel.get(message.channel)
      if (list === undefined) byChannel.set(message.channel, [message])
      else list.push(message)
    }
    for (const list of byChannel.values()) {
      for (let i = list.length - 1; i >= 0; i--) this.#requeue(list[i] as Outgoing)
    }
    return false
  }

  /** After a refused slab, best-effort sends report the full queue until a short timer runs out. */
  #refuseBestEffortForAWhile(): void {
    this.#bestEffortRefused = true
    this.#bestEffortRetry ??= setTimeout(() => {
      this.#bestEffortRetry = undefined
      this.#bestEffortRefused = false
    }, RETRY_MS)
  }

  /** Empties the slab, returning its (reliable) messages. */
  #takeSlab(): Outgoing[] {
    const messages = this.#slabMessages
    this.#slabMessages = []
    this.#slabOffsets = []
    this.#slab.clear()
    return messages
  }

  #nextToken(): number {
    const token = freeToken(this.#token, this.#pending)
    this.#token = (token + 1) >>> 0
    return token
  }

  /** Settles an in-flight message and releases what its channel can release. */
  #settle(message: Outgoing, error: unknown): void {
    this.#finish(message, error)
    const channel = message.channel
    while (channel.inFlight.peek()?.state === State.Done) {
      channel.inFlightBytes -= (channel.inFlight.shift() as Outgoing).size
    }
    this.#dirty = true
    this.#dropIfIdle(channel)
  }

  /** Marks a message settled, resolves or rejects its promise, and wakes flushers. */
  #finish(message: Outgoing, error: unknown): void {
    if (message.state === State.Done) return
    if (message.state === State.InFlight) this.#pending.delete(message.token)
    this.#backlog.release(message)
    message.state = State.Done
    message.data = undefined
    if (error === undefined) message.resolve()
    else message.reject(error)
    this.#flush.settled(message.generation)
  }

  /** A message the core refused for a full channel goes back to the front of its channel's queue. */
  #requeue(message: Outgoing): void {
    const channel = message.channel
    this.#pending.delete(message.token)
    if (channel.inFlight.remove(message)) channel.inFlightBytes -= message.size
    message.state = State.Waiting
    this.deferred++
    this.#backlog.blocked = true
    this.#backlog.add(message, true)
  }

  #refusal(message: Outgoing, reason: number): Error {
    const to = describeTarget(message)
    switch (reason) {
      case RefuseReason.UNKNOWN_PEER:
        return new UnknownPeerError(`reliable message to ${to} refused: no such peer any more`)
      case RefuseReason.TOO_LARGE:
        return new MessageTooLargeError(`reliable message of ${message.size} bytes to ${to} refused: too large`)
      case RefuseReason.CLOSED:
        return new ClosedError(`reliable message to ${to} refused: the endpoint is closing`)
      case RefuseReason.QUEUE_FULL:
        return new BackpressureError(
          `reliable message to ${to} refused: its send queue was full, and no copy of it came back to offer again`,
        )
      default:
        return new BackpressureError(`reliable message to ${to} refused: the send queue stayed full (${reason})`)
    }
  }

  #dropIfIdle(channel: Channel): void {
    if (channel.inFlight.size === 0 && channel.waiting.size === 0 && this.#channels.get(channel.key) === channel) {
      this.#channels.delete(channel.key)
    }
  }
}

function noop(): void {}

/** The first u32 token from `from` on (wrapping after 0xffff_ffff) that is not in `taken`. */
export function freeToken(from: number, taken: { has(token: number): boolean }): number {
  let token = from >>> 0
  while (taken.has(token)) token = (token + 1) >>> 0
  return token
}
