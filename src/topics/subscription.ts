/**
 * One subscription: a topic filter with its type, QoS and codec, consumed as an async iterator or through a callback,
 * ended by `unsubscribe()`, an AbortSignal, `using`, or closing the endpoint.
 */
import { AsyncQueue } from '../util/async-queue'
import { InvalidOptionError } from '../errors'
import { type Codec, resolveCodec } from './codec'
import type { TopicMessage } from './message'
import type { SubscribeOptions } from './options'
import { compileFilter, type TopicMatcher, validateTypeName } from './topic-name'

/** What a subscription needs from the topic layer. */
export interface SubscriptionHooks {
  /** Iterator capacity when the options give none. */
  queueLimit: number
  /** Counts a message dropped because the iterator was full. */
  onDrop: () => void
  /** Reports an exception thrown by the callback. */
  onError: (err: unknown) => void
  /** Called once when the subscription ends. */
  onEnd: (subscription: Subscription<unknown>) => void
}

/**
 * The `codec` option of `subscribe()`: a built-in codec's name (as `publish` takes) or a codec object with `decode`
 * and an integer `id` 0..255 (`encode` is not needed to receive).
 */
function subscribeCodec<T>(codec: SubscribeOptions<T>['codec']): Codec<never, T> | undefined {
  if (codec === undefined) return undefined
  if (typeof codec === 'string') {
    try {
      return resolveCodec(codec) as Codec<never, T>
    } catch (err) {
      throw new InvalidOptionError(`Invalid option codec: ${(err as Error).message}`, { option: 'codec', value: codec, cause: err })
    }
  }
  const { decode, id } = (codec ?? {}) as Partial<Codec<never, T>>
  if (typeof decode !== 'function' || !Number.isInteger(id) || (id as number) < 0 || (id as number) > 255) {
    const message =
      'Invalid option codec: expected raw, json, msgpack or a codec object with decode and an id 0..255 (see customCodec)'
    throw new InvalidOptionError(message, { option: 'codec', value: codec })
  }
  return codec
}

/**
 * A subscription to a topic filter (MQTT syntax: `+` one level, `#` the rest). Iterate it (`for await (const m of
 * sub)`) unless it was made with a callback; end it with `unsubscribe()`.
 */
export class Subscription<T = unknown> implements AsyncIterable<TopicMessage<T>>, Disposable {
  /** The filter as given. */
  readonly filter: string
  /** The type name asked for; undefined for any. */
  readonly type: string | undefined
  /** Only reliable publications are delivered. */
  readonly reliable: boolean
  /** The only codec delivered (the `codec` option resolved to its codec object); undefined for any built-in one. */
  readonly codec: Codec<never, T> | undefined
  /** @internal The compiled filter. */
  readonly matcher: TopicMatcher
  readonly #callback: ((message: TopicMessage<T>) => void) | undefined
  readonly #queue: AsyncQueue<TopicMessage<T>> | undefined
  readonly #hooks: SubscriptionHooks
  readonly #signal: AbortSignal | undefined
  readonly #onAbort = (): void => this.unsubscribe()
  #ended = false
  /** Messages held back by `hold()` until `release()`. */
  #held: TopicMessage<T>[] | undefined

  /** Validates the filter and options (throws TopicError / InvalidOptionError). Use `Endpoint.subscribe`. */
  constructor(filter: string, options: SubscribeOptions<T>, hooks: SubscriptionHooks) {
    this.matcher = compileFilter(filter)
    this.filter = filter
    if (options.type !== undefined) validateTypeName(options.type)
    this.type = options.type
    if (options.reliable !== undefined && typeof options.reliable !== 'boolean') {
      throw new InvalidOptionError(`Invalid option reliable: ${String(options.reliable)} (expected a boolean)`, {
        option: 'reliable',
        value: options.reliable,
      })
    }
    this.reliable = options.reliable === true
    const { callback } = options
    this.codec = subscribeCodec(options.codec)
    if (callback !== undefined && typeof callback !== 'function') {
      throw new InvalidOptionError('Invalid option callback: expected a function', { option: 'callback', value: callback })
    }
    this.#callback = callback
    this.#hooks = hooks
    const { queueLimit } = options
    if (queueLimit !== undefined && !(Number.isSafeInteger(queueLimit) && queueLimit >= 1)) {
      const message = `Invalid option queueLimit: ${String(queueLimit)} (expected an integer >= 1)`
      throw new InvalidOptionError(message, { option: 'queueLimit', value: queueLimit })
    }
    if (callback === undefined) {
      this.#queue = new AsyncQueue<TopicMessage<T>>({
        limit: options.queueLimit ?? hooks.queueLimit,
        onDrop: hooks.onDrop,
        onFinish: () => this.unsubscribe(),
      })
    }
    this.#signal = options.signal
    if (this.#signal?.aborted) this.unsubscribe()
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  /** True once the subscription ended. */
  get ended(): boolean {
    return this.#ended
  }

  /** @internal Holds messages back until `release()` (so that replays can go first). */
  hold(): void {
    this.#held ??= []
  }

  /** @internal Runs `first` (which may deliver), then delivers what was held back, in order. */
  release(first: () => void): void {
    const held = this.#held
    this.#held = undefined
    first()
    for (const message of held ?? []) this.deliver(message)
  }

  /** @internal Hands a message to the callback or the iterator (or holds it, see `hold()`). */
  deliver(message: TopicMessage<T>): void {
    if (this.#ended) return
    if (this.#held !== undefined) {
      this.#held.push(message)
      return
    }
    if (this.#callback === undefined) {
      this.#queue?.push(message)
      return
    }
    try {
      this.#callback(message)
    } catch (err) {
      this.#hooks.onError(err)
    }
  }

  /** Ends the subscription: the iterator yields what it holds, then ends. Idempotent. */
  unsubscribe(): void {
    if (this.#ended) return
    this.#ended = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.#queue?.end()
    this.#hooks.onEnd(this as Subscription<unknown>)
  }

  /** Same as `unsubscribe()`, for `using`. */
  [Symbol.dispose](): void {
    this.unsubscribe()
  }

  /** The messages, in arrival order (per publisher and topic: in order). Throws for a callback subscription. */
  [Symbol.asyncIterator](): AsyncIterator<TopicMessage<T>, undefined> {
    if (this.#queue === undefined) throw new TypeError(`the subscription to ${this.filter} delivers to its callback`)
    return this.#queue
  }
}
