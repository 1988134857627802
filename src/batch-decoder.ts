/**
 * The inbound hot path: walks a {@link NativeBatch} in arrival order, applies peer events to the peer table, and
 * hands every message to the sink as a {@link Message} whose `data` is a view into the batch buffer (no copy).
 */
import type { NativeBatch } from './native-types'
import type { PeerTable, StatusEvent } from './peer-table'

/** Entry kinds in `NativeBatch.entries` (4 u32 per entry: kind, a, b, c). */
export const EntryKind = {
  /** a = index into peerIds, b = byte offset into data, c = byte length. */
  UNICAST: 1,
  /** Same layout as UNICAST. */
  BROADCAST: 2,
  /** a = index into events. */
  PEER_EVENT: 3,
} as const

/** One received message. */
export class Message {
  constructor(
    /** Sender's endpoint ID, 16 hex digits. */
    readonly from: string,
    /** Sender's name ('' if the sender is not in the peer table). */
    readonly fromName: string,
    /**
     * The payload: a view into the batch buffer, valid as long as you keep it. Copy it (`Buffer.from(data)`) only
     * if you keep a small part of many messages for long, to let the batch buffers go.
     */
    readonly data: Buffer,
    /** True when sent with `broadcast()`, false for a unicast `send()`. */
    readonly broadcast: boolean,
  ) {}

  /** The payload decoded as UTF-8. */
  text(): string {
    return this.data.toString('utf8')
  }
}

/** Where decoded items go. */
export interface BatchSink {
  message(message: Message): void
  status(event: StatusEvent): void
}

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
    const { data, entries, peerIds, events } = batch
    const peers = this.#peers
    const sink = this.#sink
    // Sender names per peerIds index, resolved once per batch (null = rejected); reset by each peer event.
    let names: (string | null | undefined)[] = []
    const end = entries.length - 3
    for (let i = 0; i < end; i += 4) {
      const kind = entries[i]
      if (kind === EntryKind.UNICAST || kind === EntryKind.BROADCAST) {
        const index = entries[i + 1]
        const from = peerIds[index]
        let name = names[index]
        if (name === undefined) {
          name = peers.isRejected(from) ? null : (peers.get(from)?.name ?? '')
          names[index] = name
        }
        if (name === null) {
          this.droppedByFilter++
          continue
        }
        const offset = entries[i + 2]
        sink.message(
          new Message(from, name, data.subarray(offset, offset + entries[i + 3]), kind === EntryKind.BROADCAST),
        )
      } else if (kind === EntryKind.PEER_EVENT) {
        const event = events[entries[i + 1]]
        if (event === undefined) continue
        names = []
        const status = peers.apply(event)
        if (status !== undefined) sink.status(status)
      }
    }
  }
}
