/**
 * What the topic layer needs from its endpoint: its identity, the peers, unicast and multicast sends (best effort or
 * reliable), and announcing the interest summary. `Endpoint` implements it over the native core; tests can use a fake.
 */
import type { Peer } from '../discovery/peer-table'

/** The endpoint as the topic layer sees it. */
export interface TopicTransport {
  /** Own endpoint ID, 16 hex digits. */
  readonly id: string
  /** Own name. */
  readonly name: string
  /** The accepted peers. */
  peers(): readonly Peer[]
  /** A peer's name by ID ('' when unknown). */
  nameOf(id: string): string
  /**
   * Sends `data` (ownership passes: it is not reused) to one peer. Best effort returns false when dropped for a full
   * queue; reliable returns a Promise settled when the peer acknowledged it. Throws MessageTooLargeError, ClosedError.
   */
  send(peerId: string, data: Uint8Array, reliable: boolean, deadlineMs?: number): boolean | Promise<void>
  /** Sends `data` to every endpoint (multicast), as `send()`. */
  broadcast(data: Uint8Array, reliable: boolean, deadlineMs?: number): boolean | Promise<void>
  /** Announces the interest summary (empty: none). */
  setInterest(summary: Uint8Array): void
  /** Announces the replier summary (announcement extension 0x11; empty: none). */
  setReplierSummary(summary: Uint8Array): void
}
