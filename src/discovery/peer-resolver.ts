/**
 * Keeps the core's unicast peer addresses current: resolves every `peers` entry at open (a name that does not
 * resolve is an error then), looks host names up again every `peerResolveIntervalMs`, and when a lookup that
 * succeeded before fails, keeps the last addresses and retries sooner (1 s, doubling up to the interval), counted.
 */
import { type PeerLookup, type PeerSpec, resolvePeerSpec } from './peer-addresses'

/** First retry after a failed re-resolution, ms (then doubling up to the interval). */
const FIRST_RETRY_MS = 1000

/** Counters of the peer resolver (part of `stats()`). */
export interface PeerResolveCounts {
  /** Host-name lookups of `peers` entries that failed after open (the last addresses were kept). */
  peerResolveFailures: number
  /** Re-resolution rounds started early because a lookup had failed. */
  peerResolveRetries: number
  /** Times the resolved peer addresses changed and were handed to the core. */
  peerAddressChanges: number
}

/** Resolves the entries of `peers` and hands the addresses to the core whenever they change. */
export class PeerResolver {
  readonly counts: PeerResolveCounts = { peerResolveFailures: 0, peerResolveRetries: 0, peerAddressChanges: 0 }
  #resolved: string[][]
  #timer: NodeJS.Timeout | undefined
  #retryMs = FIRST_RETRY_MS
  #stopped = false
  #running: Promise<void> | undefined

  private constructor(
    readonly specs: readonly PeerSpec[],
    resolved: string[][],
    private readonly lookup: PeerLookup,
    private readonly intervalMs: number,
  ) {
    this.#resolved = resolved
  }

  /**
   * Resolves every entry once (all at the same time).
   * @throws PeerResolveError for the first entry (in order) whose host name does not resolve
   */
  static async open(specs: readonly PeerSpec[], lookup: PeerLookup, intervalMs: number): Promise<PeerResolver> {
    const settled = await Promise.allSettled(specs.map((spec) => resolvePeerSpec(spec, lookup)))
    const resolved = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason
      return r.value
    })
    return new PeerResolver(specs, resolved, lookup, intervalMs)
  }

  /** The current addresses, "ip:port" each, without repeats. */
  addresses(): string[] {
    return [...new Set(this.#resolved.flat())]
  }

  /** Starts looking host names up again (no-op without host names); `apply` gets the addresses when they change. */
  start(apply: (addresses: string[]) => void, onError: (err: unknown) => void): void {
    if (!this.specs.some((s) => s.isName) || this.#stopped) return
    const schedule = (ms: number): void => {
      this.#timer = setTimeout(() => {
        this.#running = this.#refresh(apply, onError).then(
          (failed) => {
            if (this.#stopped) return
            if (failed) {
              this.counts.peerResolveRetries += 1
              schedule(this.#retryMs)
              this.#retryMs = Math.min(this.#retryMs * 2, this.intervalMs)
            } else {
              this.#retryMs = FIRST_RETRY_MS
              schedule(this.intervalMs)
            }
          },
          (err: unknown) => onError(err),
        )
      }, ms)
      this.#timer.unref()
    }
    schedule(this.intervalMs)
  }

  /** One round of lookups; true when one of them failed. */
  async #refresh(apply: (addresses: string[]) => void, onError: (err: unknown) => void): Promise<boolean> {
    const before = this.addresses()
    let failed = false
    await Promise.all(
      this.specs.map(async (spec, i) => {
        if (!spec.isName) return
        try {
          this.#resolved[i] = await resolvePeerSpec(spec, this.lookup)
        } catch {
          this.counts.peerResolveFailures += 1
          failed = true
        }
      }),
    )
    if (this.#stopped) return failed
    const after = this.addresses()
    if (after.length !== before.length || after.some((a, i) => a !== before[i])) {
      this.counts.peerAddressChanges += 1
      try {
        apply(after)
      } catch (err) {
        onError(err)
      }
    }
    return failed
  }

  /** Stops re-resolving (at close); waits for a round in progress. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }
}
