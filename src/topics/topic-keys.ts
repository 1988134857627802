/**
 * Topic keys: publications on topics that match a key's filter are sealed end to end with that key (AES-256-GCM from
 * Node's crypto, OpenSSL), so that endpoints of the same network without the key can neither read nor forge them,
 * while caching endpoints still keep and repair the sealed records as they are. A record opens only with a key whose
 * filter matches its topic. Specified in docs/PROTOCOL.md
 * ("Sealed publications"):
 *
 * - key ID: the first 4 bytes (LE) of HKDF-SHA256(key, salt "glue/v1", info "glue/v1 topic key id");
 * - stream key: HKDF-SHA256(key, salt "glue/v1", info "glue/v1 topic" ‖ stream salt (16 bytes) ‖ topic (UTF-8)),
 *   where the stream salt is random per start of the publisher's topic layer;
 * - nonce: the sequence number (u64 LE) then 4 zero bytes (unique: one stream key per start and topic);
 * - associated data: "glue/v1 topic" ‖ publisher ID (u64 LE) ‖ epoch (u32 LE) ‖ sequence number (u64 LE) ‖
 *   timestamp (u64 LE) ‖ codec (u8) ‖ retain (u8, 0 or 1) ‖ topic length (u16 LE) ‖ topic ‖ type length (u8) ‖ type;
 * - the sealed payload: key ID (u32 LE) ‖ stream salt (16) ‖ ciphertext of the encoded value ‖ tag (16).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

import { parseKey, type KeyInput } from '../security/keys'
import type { TopicKeyReason } from './errors'
import { compileFilter, type TopicMatcher, validateTopicFilter } from './topic-name'

/** Bytes a sealed payload has more than the encoded value. */
export const TOPIC_SEAL_OVERHEAD = 4 + 16 + 16
const SALT = Buffer.from('glue/v1')
const INFO_ID = Buffer.from('glue/v1 topic key id')
const INFO = Buffer.from('glue/v1 topic')
const MAX_STREAM_KEYS = 4096

/** Why a sealed publication could not be opened (or an unsealed one was refused). */
export type TopicKeyProblem = TopicKeyReason

/** What identifies a publication to its seal. */
export interface SealContext {
  readonly publisherId: string
  readonly epoch: number
  readonly seq: number
  readonly timestamp: number
  readonly codec: number
  readonly retain: boolean
  readonly topic: string
  readonly type: string
}

interface TopicKey {
  readonly filter: string
  readonly matcher: TopicMatcher
  readonly key: Buffer
  readonly id: number
}

/** The key ID of a topic key. */
export function topicKeyId(key: Uint8Array): number {
  return Buffer.from(hkdfSync('sha256', key, SALT, INFO_ID, 4)).readUInt32LE(0)
}

/** The associated data of a sealed publication. */
export function sealAad(c: SealContext): Buffer {
  const topic = Buffer.from(c.topic)
  const type = Buffer.from(c.type)
  const out = Buffer.alloc(INFO.length + 8 + 4 + 8 + 8 + 1 + 1 + 2 + topic.length + 1 + type.length)
  let at = INFO.copy(out)
  at = out.writeBigUInt64LE(BigInt(`0x${c.publisherId}`), at)
  at = out.writeUInt32LE(c.epoch >>> 0, at)
  at = out.writeBigUInt64LE(BigInt(c.seq), at)
  at = out.writeBigUInt64LE(BigInt(c.timestamp), at)
  at = out.writeUInt8(c.codec, at)
  at = out.writeUInt8(c.retain ? 1 : 0, at)
  at = out.writeUInt16LE(topic.length, at)
  at += topic.copy(out, at)
  at = out.writeUInt8(type.length, at)
  type.copy(out, at)
  return out
}

function nonce(seq: number): Buffer {
  const n = Buffer.alloc(12)
  n.writeBigUInt64LE(BigInt(seq), 0)
  return n
}

/** The stream key of (topic key, stream salt, topic). */
export function streamKey(key: Uint8Array, salt: Uint8Array, topic: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, SALT, Buffer.concat([INFO, salt, Buffer.from(topic)]), 32))
}

/** Seals an encoded value under a stream key: key ID ‖ salt ‖ ciphertext ‖ tag (the layout in the module docs). */
export function sealWith(streamKeyBytes: Uint8Array, keyId: number, salt: Uint8Array, c: SealContext, value: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', streamKeyBytes, nonce(c.seq))
  cipher.setAAD(sealAad(c))
  const head = Buffer.alloc(20)
  head.writeUInt32LE(keyId >>> 0, 0)
  Buffer.from(salt).copy(head, 4)
  return Buffer.concat([head, cipher.update(value), cipher.final(), cipher.getAuthTag()])
}

/**
 * The topic keys of one endpoint (from `topics.keys`): which key seals a topic, sealing and opening, the derived
 * stream keys cached (bounded).
 */
export class TopicKeys {
  readonly #keys: readonly TopicKey[]
  /** Random per start: every stream key of this endpoint's publications derives from it. */
  readonly #salt = randomBytes(16)
  readonly #streamKeys = new Map<string, Buffer>()

  /** @throws InvalidOptionError naming `topics.keys[filter]` for a bad filter or key */
  constructor(keys: Readonly<Record<string, KeyInput>> = {}) {
    this.#keys = Object.entries(keys).map(([filter, key]) => {
      validateTopicFilter(filter, 'topics.keys')
      const bytes = parseKey(key, `topics.keys[${JSON.stringify(filter)}]`)
      return { filter, matcher: compileFilter(filter), key: bytes, id: topicKeyId(bytes) }
    })
  }

  /** True when no topic has a key. */
  get empty(): boolean {
    return this.#keys.length === 0
  }

  /** The key for publications on `topic`: the first (in the order given) whose filter matches it. */
  #keyFor(topic: string): TopicKey | undefined {
    for (const k of this.#keys) if (k.matcher.matches(topic)) return k
    return undefined
  }

  /** Whether publications on `topic` are sealed by this endpoint (and must be sealed to be accepted). */
  covers(topic: string): boolean {
    return this.#keys.length > 0 && this.#keyFor(topic) !== undefined
  }

  /** The stream key for (key, salt, topic): cached once it proved right (`keep`), so forgeries cannot churn it. */
  #streamKey(key: TopicKey, salt: Uint8Array, topic: string): { derived: Buffer; keep: () => void } {
    const id = `${key.id}:${Buffer.from(salt).toString('hex')}:${topic}`
    const cached = this.#streamKeys.get(id)
    if (cached !== undefined) return { derived: cached, keep: () => {} }
    const derived = streamKey(key.key, salt, topic)
    const keep = (): void => {
      if (this.#streamKeys.size >= MAX_STREAM_KEYS) this.#streamKeys.clear()
      this.#streamKeys.set(id, derived)
    }
    return { derived, keep }
  }

  /** Seals an encoded value published on `c.topic` (which `covers`); returns the sealed payload. */
  seal(c: SealContext, value: Uint8Array): Buffer {
    const key = this.#keyFor(c.topic) as TopicKey
    const stream = this.#streamKey(key, this.#salt, c.topic)
    stream.keep()
    return sealWith(stream.derived, key.id, this.#salt, c, value)
  }

  /** Opens a sealed payload: the encoded value, or the reason it cannot be had. */
  open(c: SealContext, sealed: Uint8Array): Buffer | TopicKeyProblem {
    if (sealed.length < TOPIC_SEAL_OVERHEAD) return 'unauthenticated'
    const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
    const id = data.readUInt32LE(0)
    // Only a key this endpoint has for the topic opens it: a key for another topic must not vouch for this one.
    const key = this.#keys.find((k) => k.id === id && k.matcher.matches(c.topic))
    if (key === undefined) return 'no-key'
    const body = data.subarray(20, data.length - 16)
    const stream = this.#streamKey(key, data.subarray(4, 20), c.topic)
    try {
      const decipher = createDecipheriv('aes-256-gcm', stream.derived, nonce(c.seq))
      decipher.setAAD(sealAad(c))
      decipher.setAuthTag(data.subarray(data.length - 16))
      const value = Buffer.concat([decipher.update(body), decipher.final()])
      stream.keep()
      return value
    } catch {
      return 'unauthenticated'
    }
  }
}
