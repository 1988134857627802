/**
 * The hashes behind the store summaries: each entry of a store has a 64-bit hash (two 32-bit words) of its key, dot
 * and timestamp; a bucket's hash is the XOR of its entries' hashes, so adding or removing an entry updates it in O(1)
 * and two replicas holding the same entries have the same bucket hashes whatever order they arrived in. The exact
 * functions are in `docs/PROTOCOL.md` (Model messages, "Store summary: hashes") with test vectors.
 */
import { fmix32 } from '../util/fmix32'

export { fmix32 }

/** Seed of the first hash word. */
export const SEED_1 = 0x9747b28c
/** Seed of the second hash word. */
export const SEED_2 = 0x5bd1e995

const TWO_32 = 2 ** 32

/** Folds a 32-bit word into a hash. */
export function mix32(h: number, word: number): number {
  return fmix32(Math.imul((h ^ word) >>> 0, 0x01000193) + 0x7f4a7c15)
}

/** Folds a safe non-negative integer (up to 2^53) into a hash, low word first. */
export function mixNumber(h: number, value: number): number {
  return mix32(mix32(h, value % TWO_32), Math.floor(value / TWO_32))
}

/** A 32-bit hash (FNV-1a steps, murmur3 finaliser) of bytes. */
export function hashBytes(bytes: Uint8Array, seed: number): number {
  let h = seed
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193)
  return fmix32(h ^ bytes.length)
}

/** {@link hashBytes} of a string's UTF-8 form (ASCII without encoding it). */
export function hashText(text: string, seed: number): number {
  let h = seed
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x80) return hashBytes(Buffer.from(text, 'utf8'), seed)
    h = Math.imul(h ^ c, 0x01000193)
  }
  return fmix32(h ^ text.length)
}
