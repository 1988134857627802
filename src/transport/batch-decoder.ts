/**
 * The inbound hot path: walks a {@link NativeBatch} in arrival order, applies peer events to the peer table, hands
 * every message to the sink as a {@link Message} whose `data` is a view into the batch buffer or, for a large
 * message, the Buffer the core handed over (no copy either way), and passes on the delivery reports of reliable
 * sends.
 */
import type { NativeBatch } from './native-types'
import type { PeerTable, PeerEvent } from '../discovery/peer-table'

/** Entry kinds in `NativeBatch.entries` (4 u32 per entry: kind, a, b, c). */
export const EntryKind = {
  /** a = index into peerIds, b = byte offset into data, c = byte length. */
  UNICAST: 1,
  /** Same layout as UNICAST. */
  BROADCAST: 2,
  /** a = index into events. */
  PEER_EVENT: 3,
  /** a = token of a reliable send that every intended receiver acknowledged. */
  DELIVERED: 4,
  /** a = token of a failed reliable send, b = index into failures (the receivers that did not acknowledge). */
  FAILED: 5,
  /** A reliable unicast message; same layout as UNICAST. */
  RELIABLE_UNICAST: 6,
  /** A reliable broadcast message; same layout as UNICAST. */
  RELIABLE_BROADCAST: 7,
  /**
   * a = token of a reliable send the core did not take, b = reason (1 unknown peer, 2 channel queue full,
   * 3 too large, 4 closed), c = 1 + index into buffers of the payload handed back (queue full), else 0.
   */
  REFUSED: 8,
  /** A large message handed over whole: a = index into peerIds, b = index into buffers, c = flags. */
  OWNED: 9,
} as const

/** Flags of an OWNED entry (its `c`). */
export const OwnedFlag = { BROADCAST: 1, RELIABLE: 2 } as const

/** One received message. */
export class Message {
  constructor(
    /** Sender's endpoint ID, 16 hex digits. */
    readonly from: string,
    /** Sender's name ('' if the sender is not in the peer table). */
    readonly fromName: string,
    /**
     * The payload: a view into the batch buffer (or, for a large reliable message, its own Buffer), valid as long
     * as you keep it. Copy it (`Buffer.from(data)`) only if you keep a small part of many messages for long, to
     * let the batch buffers go.
     */
    readonly data: Buffer,
    /** True when sent with `broadcast()`, false for a unicast `send()`. */
    readonly broadcast: boolean,
    /** True when sent with `{ reliable: true }`: it arrived exactly once and in order with the sender's others. */
    readonly reliable: boolean = false,
  ) {}

  /** The payload decoded as UTF-8. */
  text(): string {
    return this.data.toString('utf8')
  }
}

/** Where decoded items go. */
export interface BatchSink {
  /** A received message. */
  message(message: Message): void
  /** A status event for the peer table's change. */
  status(event: PeerEvent): void
  /** Every receiver acknowledged the reliable send with this token. */
  delivered?(token: number): void
  /** The reliable send with this token failed; `missing` are the IDs of the receivers that did not acknowledge. */
  failed?(token: number, missing: readonly string[]): void
  /**
   * The core did not take the reliable send with this token, for `reason` (see RefuseReason); `data` is the
   * payload the core hands back with a refusal for a full queue (undefined for the other reasons).
   */
  refused?(token: number, reason: number, data: Buffer | undefined): void
}

const NO_FAILURES: readonly string[] = Object.freeze([])

/** Decodes batches against one peer table; counts messages dropped because their sender was rejected. */
export class BatchDecoder {
  /** Messages dropped because the accept filter rejected their sender. */
  droppedByFilter = 0
  readonly #peers: PeerTable
  readonly #sink: BatchSink

  constructor(peers: PeerTable, sink: BatchSink) {
    this.#peers = peers
    this.#sink = sink
  }

  /** Processes every entry of the batch in order. Unknown entry kinds are skipped. */
  decode(batch: NativeBatch): void {
    const { data, entries, peerIds, events, failures, buffers } = batch
    const peers = this.#peers
    const sink = this.#sink
    // Sender names per peerIds index, resolved once per batch (null = rejected); reset by each peer event.
    let names: (string | null | undefined)[] = []
    const end = entries.length - 3
    for (let i = 0; i < end; i += 4) {
      const kind = entries[i]
      switch (kind) {
        case EntryKind.UNICAST:
        case EntryKind.BROADCAST:
        case EntryKind.RELIABLE_UNICAST:
        case EntryKind.RELIABLE_BROADCAST:
        case EntryKind.OWNED: {
          const index = entries[i + 1]
          const from = peerIds[index]
          let name = names[index]
          if (name === undefined) {
            name = peers.isRejected(from) ? null : (peers.get(from)?.name ?? '')
            names[index] = name
          }
          if (name === null) {
            this.droppedByFilter++
            break
          }
          if (kind === EntryKind.OWNED) {
            const payload = buffers[entries[i + 2]]
            const flags = entries[i + 3]
            if (payload === undefined) break
            const broadcast = (flags & OwnedFlag.BROADCAST) !== 0
            sink.message(new Message(from, name, payload, broadcast, (flags & OwnedFlag.RELIABLE) !== 0))
            break
          }
          const offset = entries[i + 2]
          const payload = data.subarray(offset, offset + entries[i + 3])
          const broadcast = kind === EntryKind.BROADCAST || kind === EntryKind.RELIABLE_BROADCAST
          const reliable = kind === EntryKind.RELIABLE_UNICAST || kind === EntryKind.RELIABLE_BROADCAST
          sink.message(new Message(from, name, payload, broadcast, reliable))
          break
        }
        case EntryKind.PEER_EVENT: {
          const event = events[entries[i + 1]]
          if (event === undefined) break
          names = []
          const status = peers.apply(event)
          if (status !== undefined) sink.status(status)
          break
        }
        case EntryKind.DELIVERED:
          sink.delivered?.(entries[i + 1])
          break
        case EntryKind.FAILED:
          sink.failed?.(entries[i + 1], failures?.[entries[i + 2]] ?? NO_FAILURES)
          break
        case EntryKind.REFUSED:
          sink.refused?.(entries[i + 1], entries[i + 2], entries[i + 3] > 0 ? buffers?.[entries[i + 3] - 1] : undefined)
          break
        default:
          break
      }
    }
  }
}
