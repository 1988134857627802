/**
 * What the model layer needs from the layers below: reliable publications on reserved topics, the interest of peers,
 * and time. `topicsAdapter()` implements it over an endpoint's topic layer; the property tests implement it over a
 * simulated network with a virtual clock, so that every run is deterministic and replayable from its seed.
 */

/** The topic layer as the model layer sees it. */
export interface ModelTopics {
  /** Own endpoint ID, 16 hex digits. */
  readonly id: string
  /** Own endpoint name. */
  readonly name: string
  /**
   * Publishes `payload` (raw bytes; ownership passes) reliably on `topic` (a reserved `$glue/...` name) to every peer
   * interested in it; settles when they all acknowledged (rejects when some did not in time).
   */
  publish(topic: string, payload: Uint8Array): Promise<void>
  /** Receives every publication on the exact topic `topic`; returns the function that unsubscribes. */
  subscribe(topic: string, onMessage: (from: string, payload: Buffer) => void): () => void
  /** True when peer `id` is up and its interest summary may match `topic`. */
  wants(id: string, topic: string): boolean
  /** The IDs of the up peers whose interest summaries may match `topic`. */
  interested(topic: string): readonly string[]
  /** A peer's name ('' when unknown). */
  nameOf(id: string): string
}

/** Time as the model layer sees it. */
export interface ModelClock {
  /** Wall-clock time, ms since the Unix epoch (the hybrid clock follows it). */
  wall(): number
  /** Monotonic time, ms (deadlines and intervals). */
  monotonic(): number
  /** Calls `fn` after `ms` (never keeps the process alive); returns a handle for `cancel`. */
  after(ms: number, fn: () => void): unknown
  /** Cancels a call scheduled with `after` (a handle of undefined is ignored). */
  cancel(handle: unknown): void
  /** Calls `fn` once the current task and its microtasks are done (many writes of one tick: one delta). */
  soon(fn: () => void): void
}

/** The real clock: `Date.now`, `performance.now`, unref'd timers and `setImmediate`. */
export const realClock: ModelClock = {
  wall: () => Date.now(),
  monotonic: () => performance.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms)
    timer.unref()
    return timer
  },
  cancel: (handle) => {
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout)
  },
  soon: (fn) => {
    setImmediate(fn)
  },
}
