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
  #specs: readonly PeerSpec[]
  #resolved: string[][]
  #timer: NodeJS.Timeout | undefined
  #apply: ((addresses: string[]) => void) | undefined
  #onError: (err: unknown) => void = () => {}
  #retryMs = FIRST_RETRY_MS
  #stopped = false
  #running: Promise<void> | undefined

  private constructor(
    specs: readonly PeerSpec[],
    resolved: string[][],
    private readonly lookup: PeerLookup,
    private readonly intervalMs: number,
  ) {
    this.#specs = specs
    this.#resolved = resolved
  }

  /** The entries in force. */
  get specs(): readonly PeerSpec[] {
    return this.#specs
  }

  /**
   * Resolves every entry once (all at the same time).
   * @throws PeerResolveError for the first entry (in order) whose host name does not resolve
   */
  static async open(specs: readonly PeerSpec[], lookup: PeerLookup, intervalMs: number): Promise<PeerResolver> {
    return new PeerResolver(specs, await resolveAll(specs, lookup), lookup, intervalMs)
  }

  /**
   * Replaces the entries: resolves every one (nothing changes when one fails), then hands the addresses to the core.
   * @throws PeerResolveError for the first entry whose host name does not resolve
   */
  async replace(specs: readonly PeerSpec[]): Promise<void> {
    const resolved = await resolveAll(specs, this.lookup)
    if (this.#stopped) return
    this.#specs = specs
    this.#resolved = resolved
    this.#apply?.(this.addresses())
    if (this.#timer === undefined) this.#schedule(this.intervalMs)
  }

  /** The current addresses, "ip:port" each, without repeats. */
  addresses(): string[] {
    return [...new Set(this.#resolved.flat())]
  }

  /** Starts looking host names up again (while there are any); `apply` gets the addresses when they change. */
  start(apply: (addresses: string[]) => void, onError: (err: unknown) => void): void {
    this.#apply = apply
    this.#onError = onError
    this.#schedule(this.intervalMs)
  }

  #schedule(ms: number): void {
    this.#timer = undefined
    if (this.#stopped || this.#apply === undefined || !this.#specs.some((s) => s.isName)) return
    this.#timer = setTimeout(() => {
      this.#running = this.#refresh().then(
        (failed) => {
          if (failed) {
            this.counts.peerResolveRetries += 1
            this.#schedule(this.#retryMs)
            this.#retryMs = Math.min(this.#retryMs * 2, this.intervalMs)
          } else {
            this.#retryMs = FIRST_RETRY_MS
            this.#schedule(this.intervalMs)
          }
        },
        (err: unknown) => this.#onError(err),
      )
    }, ms)
    this.#timer.unref()
  }

  /** One round of lookups; true when one of them failed. */
  async #refresh(): Promise<boolean> {
    const before = this.addresses()
    const specs = this.#specs
    const resolved = this.#resolved
    let failed = false
    await Promise.all(
      specs.map(async (spec, i) => {
        if (!spec.isName) return
        try {
          resolved[i] = await resolvePeerSpec(spec, this.lookup)
        } catch {
          this.counts.peerResolveFailures += 1
          failed = true
        }
      }),
    )
    // Stopped, or replaced meanwhile (`replace` applied its own addresses).
    if (this.#stopped || specs !== this.#specs) return failed
    const after = this.addresses()
    if (after.length !== before.length || after.some((a, i) => a !== before[i])) {
      this.counts.peerAddressChanges += 1
      try {
        this.#apply?.(after)
      } catch (err) {
        this.#onError(err)
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

/** Resolves every entry at the same time; throws the first failure in entry order. */
async function resolveAll(specs: readonly PeerSpec[], lookup: PeerLookup): Promise<string[][]> {
  const settled = await Promise.allSettled(specs.map((spec) => resolvePeerSpec(spec, lookup)))
  return settled.map((r) => {
    if (r.status === 'rejected') throw r.reason
    return r.value
  })
}
