/**
 * The security options of an endpoint: the network key(s) and the cipher that seals every datagram with them (the
 * sealing itself runs in the native core, see docs/PROTOCOL.md, "Sealed datagrams").
 */
import { InvalidOptionError } from '../errors'
import type { ReadOption } from '../option-checks'
import { type KeyInput, parseKeyList } from './keys'

/** Bytes a sealed datagram carries more than a plain one: a header of 36 bytes instead of 16, and the 16-byte tag. */
export const SEAL_OVERHEAD = 36

/** The AEADs that seal datagrams. */
export type NetworkCipher = 'aes-256-gcm' | 'chacha20-poly1305'

/** Options of the security layer (part of {@link EndpointOptions}). */
export interface SecurityOptions {
  /**
   * The network key: 32 bytes (a Uint8Array, 64 hex digits or base64), or a list of keys to rotate without downtime
   * (the first seals what this endpoint sends, every one is accepted; change them later with `setNetworkKeys`).
   * With a key every datagram this endpoint sends is sealed (authenticated and encrypted with an AEAD under a key
   * derived per sender and start) and only sealed datagrams of endpoints with one of the keys are accepted:
   * endpoints without it see nothing of names, topics or payloads, and can forge nothing. Env `GLUE_NETWORK_KEY`
   * (one key, or several separated by commas). Default: none (plain datagrams, accepted from anyone on the segment).
   */
  networkKey?: KeyInput | readonly KeyInput[]
  /**
   * The AEAD this endpoint seals with: 'aes-256-gcm' (fastest on CPUs with AES instructions, e.g. x86-64) or
   * 'chacha20-poly1305' (faster on CPUs without, e.g. many ARM boards); receivers accept both. Env
   * `GLUE_NETWORK_CIPHER`. Default 'aes-256-gcm'.
   */
  networkCipher?: NetworkCipher
}

/** What the native core gets. */
export interface ResolvedSecurity {
  /** Keys as 64 hex digits each (undefined: no sealing). */
  networkKeys: string[] | undefined
  networkCipher: NetworkCipher | undefined
}

/** The security options, from the options or the environment. */
export function resolveSecurity(source: ReadOption<'networkKey' | 'networkCipher'>): ResolvedSecurity {
  const key = source('networkKey')
  const keys =
    key === undefined
      ? undefined
      : parseKeyList(key.fromEnv ? String(key.value).split(',') : key.value, key.label).map((k) => k.toString('hex'))
  const cipher = source('networkCipher')
  if (cipher !== undefined && cipher.value !== 'aes-256-gcm' && cipher.value !== 'chacha20-poly1305') {
    throw new InvalidOptionError(
      `Invalid ${cipher.fromEnv ? 'environment variable' : 'option'} ${cipher.label}: ${JSON.stringify(cipher.value)} (expected 'aes-256-gcm' or 'chacha20-poly1305')`,
      { option: cipher.label, value: cipher.value },
    )
  }
  return { networkKeys: keys, networkCipher: cipher?.value as NetworkCipher | undefined }
}

/** Keys for `setNetworkKeys`, as 64 hex digits each. */
export function networkKeysHex(keys: unknown): string[] {
  return parseKeyList(keys, 'networkKeys').map((k) => k.toString('hex'))
}
