/**
 * What each peer subscribes to, from the interest summary (announcement extension 0x10) it announces: publishers
 * send a topic only to peers whose summary may match it. A peer without a summary wants nothing; a summary that
 * cannot be decoded counts as wanting everything (safe: that costs only bandwidth) and is counted.
 */
import type { Peer } from '../discovery/peer-table'
import { InterestFilter, TopicProbe } from './interest-filter'

/** Announcement extension type of the interest summary. */
export const INTEREST_EXTENSION = 0x10

interface Interest {
  /** The announced bytes, to notice changes. */
  readonly bytes: Buffer
  /** The decoded summary; null when it could not be decoded (treated as wanting everything). */
  readonly filter: InterestFilter | null
}

/** Topics whose interested peers are remembered at most (then forgotten all at once). */
const MAX_CACHED_TOPICS = 4096

/** The interest summaries of the current peers. */
export class PeerInterests {
  /** Summaries that could not be decoded. */
  malformed = 0
  readonly #byPeer = new Map<string, Interest>()
  readonly #probe = new TopicProbe()
  /** `interested()` answers by topic, valid until a summary changes (publishing to one topic probes once). */
  readonly #answers = new Map<string, readonly string[]>()
  readonly #extension: number

  /** `extension`: the announcement extension holding the summaries (default the interest summary, 0x10). */
  constructor(extension = INTEREST_EXTENSION) {
    this.#extension = extension
  }

  /** Records a peer's summary (peer up or changed); true when it is new or different. */
  update(peer: Peer): boolean {
    const bytes = peer.extensions.get(this.#extension)
    const previous = this.#byPeer.get(peer.id)
    if (bytes === undefined) return this.#forget(peer.id)
    if (previous?.bytes.equals(bytes) === true) return false
    this.#answers.clear()
    let filter: InterestFilter | null
    try {
      filter = InterestFilter.decode(bytes)
    } catch {
      this.malformed++
      filter = null
    }
    this.#byPeer.set(peer.id, { bytes, filter })
    return true
  }

  /** Forgets a peer (down). */
  remove(id: string): void {
    this.#forget(id)
  }

  #forget(id: string): boolean {
    if (!this.#byPeer.delete(id)) return false
    this.#answers.clear()
    return true
  }

  /** True when the peer's summary may match `topic` (false positives possible, no false negatives). */
  mayWant(id: string, topic: string): boolean {
    const interest = this.#byPeer.get(id)
    if (interest === undefined) return false
    return interest.filter === null || interest.filter.mayMatch(topic)
  }

  /** The IDs of the peers whose summaries may match `topic` (do not modify the array). */
  interested(topic: string): readonly string[] {
    const known = this.#answers.get(topic)
    if (known !== undefined) return known
    const out: string[] = []
    const probe = this.#probe.reset(topic)
    for (const [id, interest] of this.#byPeer) {
      if (interest.filter === null || interest.filter.mayMatch(probe)) out.push(id)
    }
    if (this.#answers.size >= MAX_CACHED_TOPICS) this.#answers.clear()
    this.#answers.set(topic, out)
    return out
  }
}
