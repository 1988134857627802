/**
 * Keys as users give them: 32 bytes as a Uint8Array, 64 hex digits, or base64 (44 characters with padding, or 43
 * without; URL-safe letters allowed). Used for the network key and for topic keys. Errors name the option but never
 * show the key.
 */
import { InvalidOptionError } from '../errors'

/** Length of a key, bytes. */
export const KEY_BYTES = 32

/** A 32-byte key: the bytes, 64 hex digits, or base64. */
export type KeyInput = Uint8Array | string

const HEX = /^[0-9a-fA-F]{64}$/
const BASE64 = /^[A-Za-z0-9+/_-]{43}={0,1}$/

/** The 32 bytes of a key, or an InvalidOptionError naming `label` (the key itself is not shown). */
export function parseKey(value: unknown, label: string): Buffer {
  const bad = (why: string) =>
    new InvalidOptionError(`Invalid ${label}: ${why} (expected 32 bytes: a Uint8Array, 64 hex digits or base64)`, {
      option: label,
      value: '(hidden)',
    })
  if (value instanceof Uint8Array) {
    if (value.length !== KEY_BYTES) throw bad(`${value.length} bytes`)
    return Buffer.from(value)
  }
  if (typeof value !== 'string') throw bad(`a ${value === null ? 'null' : typeof value}`)
  const text = value.trim()
  if (HEX.test(text)) return Buffer.from(text, 'hex')
  if (BASE64.test(text)) {
    const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
    if (bytes.length === KEY_BYTES) return bytes
  }
  throw bad(`a string of ${text.length} characters that is neither 64 hex digits nor base64 of 32 bytes`)
}

/** One key or a list of them (the first one used, all accepted) as a non-empty list of 32-byte keys. */
export function parseKeyList(value: unknown, label: string): Buffer[] {
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0) {
    throw new InvalidOptionError(`Invalid ${label}: an empty list (expected at least one key)`, {
      option: label,
      value: '(hidden)',
    })
  }
  const keys = list.map((k, i) => parseKey(k, Array.isArray(value) ? `${label}[${i}]` : label))
  keys.forEach((k, i) => {
    if (keys.findIndex((o) => o.equals(k)) !== i) {
      throw new InvalidOptionError(`Invalid ${label}[${i}]: repeats an earlier key`, { option: label, value: '(hidden)' })
    }
  })
  return keys
}
