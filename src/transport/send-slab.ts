/**
 * Send slabs: the messages of one JavaScript tick, written into one buffer and handed to the native core in one call
 * (`sendSlab`): one N-API call, one copy, one queue slot and one wake-up of the I/O thread for all of them, instead
 * of one each. The native side (`glue_io::slab`) treats each record exactly as one `sendReliable` /
 * `broadcastReliable` call (reported under its token) or, for a best-effort record, one `send` / `broadcast`, in
 * order.
 *
 * A record is a 24-byte header and the payload, little-endian, no padding:
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                     payload length (u32)                      |
 * +---------------------------------------------------------------+
 * |                    token (u32), reported back                 |
 * +---------------------------------------------------------------+
 * |            peer ID (u64: low u32, then high u32)              |
 * +                ignored for a broadcast                        +
 * +---------------------------------------------------------------+
 * |        deadline, ms (u32); 0xffff_ffff = the configured one   |
 * +---------------------------------------------------------------+
 * |  flags (u32): bit 0 = broadcast, bit 1 = best effort, others 0 |
 * +---------------------------------------------------------------+
 * |                payload (payload length bytes) ...             |
 * +---------------------------------------------------------------+
 * ```
 */

/** Bytes of a record header. */
export const SLAB_HEADER_BYTES = 24
/** `flags` bit of a broadcast record. */
export const SLAB_BROADCAST = 1
/** `flags` bit of a best-effort record (token and deadline unused). */
export const SLAB_BEST_EFFORT = 2
/** `deadline` value meaning "the configured delivery deadline". */
export const SLAB_DEFAULT_DEADLINE = 0xffff_ffff
/** Initial slab capacity, bytes (it grows as needed, and shrinks back when a large tick is over). */
const INITIAL_BYTES = 64 << 10

/** A peer ID as two u32 halves (parsed once per channel, not per message). */
export interface PeerKey {
  readonly lo: number
  readonly hi: number
}

/** The {@link PeerKey} of a peer ID (16 hex digits). */
export function peerKey(id: string): PeerKey {
  return { hi: Number.parseInt(id.slice(0, 8), 16) >>> 0, lo: Number.parseInt(id.slice(8, 16), 16) >>> 0 }
}

/** One decoded record (tests and the in-memory fake transport). */
export interface SlabRecord {
  readonly token: number
  /** The peer ID (16 hex digits), or undefined for a broadcast. */
  readonly peerId: string | undefined
  /** The deadline, ms, or undefined for the configured one. */
  readonly deadlineMs: number | undefined
  /** A best-effort record (token and deadline unused). */
  readonly bestEffort: boolean
  readonly data: Uint8Array
}

/** A growing buffer of records. */
export class SendSlab {
  #bytes = new Uint8Array(INITIAL_BYTES)
  #view = new DataView(this.#bytes.buffer)
  #used = 0
  #count = 0

  /** Records written since the last `clear()`. */
  get count(): number {
    return this.#count
  }

  /** Bytes written since the last `clear()`. */
  get size(): number {
    return this.#used
  }

  /** The records written so far (a view, valid until the next `append()` or `clear()`). */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#used)
  }

  /**
   * Appends one record; returns its offset. `peer` undefined: a broadcast. `deadlineMs` undefined: the configured
   * deadline, else rounded up to whole ms (at least 1). `bestEffort`: a best-effort record (token and deadline
   * unused).
   */
  append(
    token: number,
    peer: PeerKey | undefined,
    deadlineMs: number | undefined,
    data: Uint8Array,
    bestEffort = false,
  ): number {
    const at = this.#reserve(SLAB_HEADER_BYTES + data.length)
    const view = this.#view
    view.setUint32(at, data.length, true)
    view.setUint32(at + 4, token, true)
    view.setUint32(at + 8, peer === undefined ? 0 : peer.lo, true)
    view.setUint32(at + 12, peer === undefined ? 0 : peer.hi, true)
    const deadline =
      deadlineMs === undefined ? SLAB_DEFAULT_DEADLINE : Math.min(SLAB_DEFAULT_DEADLINE - 1, Math.max(1, Math.ceil(deadlineMs)))
    view.setUint32(at + 16, deadline, true)
    view.setUint32(at + 20, (peer === undefined ? SLAB_BROADCAST : 0) | (bestEffort ? SLAB_BEST_EFFORT : 0), true)
    if (data.length <= 16) {
      for (let i = 0; i < data.length; i++) this.#bytes[at + SLAB_HEADER_BYTES + i] = data[i] as number
    } else {
      this.#bytes.set(data, at + SLAB_HEADER_BYTES)
    }
    this.#count++
    return at
  }

  /** Forgets every record (and gives back memory a large tick made it take). */
  clear(): void {
    this.#used = 0
    this.#count = 0
    if (this.#bytes.length > 4 * INITIAL_BYTES) this.#replace(INITIAL_BYTES)
  }

  /** Room for `n` more bytes; returns where they start. */
  #reserve(n: number): number {
    const at = this.#used
    if (at + n > this.#bytes.length) this.#replace(Math.max(this.#bytes.length * 2, at + n))
    this.#used = at + n
    return at
  }

  /** Swaps in a buffer of `size` bytes holding the used part of the old one. */
  #replace(size: number): void {
    const old = this.#bytes.subarray(0, this.#used)
    const bytes = new Uint8Array(size)
    bytes.set(old)
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer)
  }
}

/** Splits a slab into its records; throws a RangeError naming the record when it is malformed. */
export function decodeSlab(slab: Uint8Array): SlabRecord[] {
  const view = new DataView(slab.buffer, slab.byteOffset, slab.byteLength)
  const records: SlabRecord[] = []
  let at = 0
  while (at < slab.length) {
    if (at + SLAB_HEADER_BYTES > slab.length) throw new RangeError(`slab record ${records.length}: truncated header`)
    const length = view.getUint32(at, true)
    const flags = view.getUint32(at + 20, true)
    if ((flags & ~(SLAB_BROADCAST | SLAB_BEST_EFFORT)) !== 0) {
      throw new RangeError(`slab record ${records.length}: unknown flags`)
    }
    const end = at + SLAB_HEADER_BYTES + length
    if (end > slab.length) throw new RangeError(`slab record ${records.length}: payload runs past the end`)
    const hex = (n: number): string => n.toString(16).padStart(8, '0')
    const deadline = view.getUint32(at + 16, true)
    records.push({
      token: view.getUint32(at + 4, true),
      peerId: flags & SLAB_BROADCAST ? undefined : hex(view.getUint32(at + 12, true)) + hex(view.getUint32(at + 8, true)),
      deadlineMs: deadline === SLAB_DEFAULT_DEADLINE ? undefined : deadline,
      bestEffort: (flags & SLAB_BEST_EFFORT) !== 0,
      data: slab.subarray(at + SLAB_HEADER_BYTES, end),
    })
    at = end
  }
  return records
}
