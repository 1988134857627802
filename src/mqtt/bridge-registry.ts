/**
 * The bridges of one glue network, known to each other through a replicated map (`glue-mqtt-bridges`, on glue's
 * reserved model topics, so no application filter ever sees it): each bridge writes its {@link BridgeEntry} under
 * its ID when it starts and deletes it when it closes. An entry counts only while its endpoint is this one or one of
 * its peers, so a bridge that crashed drops out when glue's discovery expires its endpoint.
 *
 * The map is opened once per endpoint, shared by the bridges on it and kept open until the endpoint closes (so that a
 * bridge's delete reaches the others even when it was the endpoint's last bridge).
 */
import type { Endpoint } from '../endpoint'
import type { ReplicatedMap } from '../model/replicated-map'
import type { StatusEvent } from '../status'
import type { BridgeEntry } from './work-split'

/** The replicated map's name. */
export const REGISTRY_NAME = 'glue-mqtt-bridges'

const shared = new WeakMap<Endpoint, Promise<ReplicatedMap<BridgeEntry>>>()

/** How long `join()` waits for the map to catch up with the bridges already running, ms. */
const SYNC_WAIT_MS = 2000

/** One bridge's membership in its network's registry. */
export class BridgeRegistry {
  readonly #endpoint: Endpoint
  readonly #map: ReplicatedMap<BridgeEntry>
  readonly #self: BridgeEntry
  readonly #offs: (() => void)[] = []
  #closed = false

  private constructor(endpoint: Endpoint, map: ReplicatedMap<BridgeEntry>, self: BridgeEntry) {
    this.#endpoint = endpoint
    this.#map = map
    this.#self = self
  }

  /**
   * Writes `self` into the registry, waits (up to 2 s) for the entries of the bridges already running, and calls
   * `onChange` with the live entries of `self.key` (itself included) and the number of other live bridges of the
   * network (any broker or prefix), now and whenever they change.
   */
  static async join(
    endpoint: Endpoint,
    self: BridgeEntry,
    onChange: (live: BridgeEntry[], othersInNetwork: number) => void,
  ): Promise<BridgeRegistry> {
    let opening = shared.get(endpoint)
    if (opening === undefined) {
      opening = endpoint.map<BridgeEntry>(REGISTRY_NAME, { codec: 'json' })
      shared.set(endpoint, opening)
      opening.catch(() => shared.delete(endpoint))
    }
    const map = await opening
    const registry = new BridgeRegistry(endpoint, map, self)
    map.set(self.bridge, self)
    await map.synced({ timeoutMs: SYNC_WAIT_MS }).catch(() => undefined)
    const report = (): void => {
      if (!registry.#closed) onChange(registry.live(), registry.#othersInNetwork())
    }
    // Only the peer table matters here (not 'subscribers-changed' or 'topic-key-error', which can come in bursts).
    const onPeer = (event: StatusEvent): void => {
      if (event.type === 'peer-up' || event.type === 'peer-down' || event.type === 'peer-changed') report()
    }
    registry.#offs.push(map.onChange(report), endpoint.onStatus(onPeer))
    report()
    return registry
  }

  /** The live entries of this bridge's broker, itself included. */
  live(): BridgeEntry[] {
    const here = this.#endpoint.id
    const peers = new Set(this.#endpoint.peers().map((p) => p.id))
    const entries: BridgeEntry[] = [this.#self]
    this.#map.forEach((entry, id) => {
      if (id === this.#self.bridge || entry?.key !== this.#self.key) return
      if (entry.endpoint === here || peers.has(entry.endpoint)) entries.push(entry)
    })
    return entries
  }

  #othersInNetwork(): number {
    const here = this.#endpoint.id
    const peers = new Set(this.#endpoint.peers().map((p) => p.id))
    let n = 0
    this.#map.forEach((entry, id) => {
      if (id !== this.#self.bridge && entry !== undefined && (entry.endpoint === here || peers.has(entry.endpoint))) n++
    })
    return n
  }

  /** Removes this bridge's entry (the other bridges take its share of the work). */
  leave(): void {
    if (this.#closed) return
    this.#closed = true
    for (const off of this.#offs) off()
    if (!this.#endpoint.isClosed && !this.#map.isClosed) this.#map.delete(this.#self.bridge)
  }
}
