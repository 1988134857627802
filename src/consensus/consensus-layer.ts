/**
 * The consensus layer of one endpoint: opens consensus groups by name (each once per endpoint), hands them the peer
 * events, sums their counters and closes them with the endpoint.
 */
import { ClosedError } from '../errors'
import type { ModelClock } from '../model/model-topics'
import { ModelNameError } from '../model/errors'
import { validateObjectName } from '../model/names'
import { ConsensusGroup } from './consensus-group'
import { type ConsensusNet, GroupCore } from './group'
import { ConsensusKv } from './kv'
import { GroupLocks } from './locks'
import { loadNativeRaft, type OpenRaft } from './native'
import { type ConsensusOptions, resolveConsensusOptions } from './options'
import { type ConsensusCounts, zeroConsensusCounts } from './stats'

/** See the module doc. */
export class ConsensusLayer {
  readonly #net: ConsensusNet
  readonly #clock: ModelClock
  readonly #onError: (err: unknown) => void
  readonly #openRaft: () => OpenRaft
  readonly #counts = zeroConsensusCounts()
  readonly #open = new Map<string, { core: GroupCore; close: () => void }>()
  #closed = false

  /** `openRaft`: the native core (default: the addon's; tests may pass another). */
  constructor(net: ConsensusNet, clock: ModelClock, onError: (err: unknown) => void, openRaft: () => OpenRaft = loadNativeRaft) {
    this.#net = net
    this.#clock = clock
    this.#onError = onError
    this.#openRaft = openRaft
  }

  /** See `Endpoint.consensus`. */
  async consensus<V>(name: string, options: ConsensusOptions): Promise<ConsensusGroup<V>> {
    if (this.#closed) throw new ClosedError()
    validateObjectName(name, 'consensus group')
    const o = resolveConsensusOptions(options)
    if (this.#open.has(name)) {
      throw new ModelNameError(`consensus group ${JSON.stringify(name)} is already open on this endpoint: use that one, or close it first`, name)
    }
    const core = new GroupCore(this.#net, this.#clock, this.#openRaft(), name, o, this.#counts, this.#onError)
    const kv = new ConsensusKv<V>(core, o.codec, o.deadlineMs, o.queueLimit, this.#counts, this.#onError)
    const locks = new GroupLocks(core, this.#clock, o.deadlineMs)
    // The leader turns MEMBER commands into Raft configuration changes (one at a time; retried by the caller).
    core.memberNamed = (raftId, add) => {
      if (core.status.role !== 'leader' || core.status.voters.includes(raftId) === add) return
      try {
        core.proposeConfChange(add, raftId)
      } catch {
        // another change is in flight: the caller's retry proposes MEMBER again
      }
    }
    const close = (): void => {
      if (this.#open.get(name)?.core !== core) return
      this.#open.delete(name)
      locks.close()
      kv.close()
      core.close()
    }
    this.#open.set(name, { core, close })
    core.start()
    return new ConsensusGroup<V>(core, kv, locks, o.deadlineMs, this.#net.name, close)
  }

  /** Follows the peer table. */
  peerEvent(): void {
    for (const g of this.#open.values()) g.core.peerEvent()
  }

  /** The counters, summed over every group. */
  stats(): ConsensusCounts {
    return { ...this.#counts }
  }

  /** Closes every group. */
  close(): void {
    this.#closed = true
    for (const g of [...this.#open.values()]) g.close()
  }
}
