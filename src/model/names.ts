/**
 * The rules for names of replicated objects and for keys, checked at the call with a {@link ModelNameError}.
 *
 * - A name is 1..200 UTF-8 bytes of topic levels (it becomes part of the object's topics): no wildcards (`+`, `#`),
 *   no U+0000, no lone surrogates, not starting with `$`, no empty level (`a//b`, a leading or trailing `/`).
 * - A key is a string of 0..4096 UTF-8 bytes without lone surrogates.
 */
import { isTopicName } from '../topics/topic-name'
import { ModelNameError } from './errors'
import { MAX_KEY_BYTES } from './wire-parts'

/** Longest name, UTF-8 bytes. */
export const MAX_NAME_BYTES = 200

const LONE_SURROGATE = /\p{Surrogate}/u

/** Throws ModelNameError unless `name` is a valid object name (`what`: 'map', 'counter', 'set'). */
export function validateObjectName(name: unknown, what: string): asserts name is string {
  const why = nameProblem(name)
  if (why !== undefined) throw new ModelNameError(`invalid ${what} name ${JSON.stringify(name) ?? String(name)}: ${why}`, name)
}

function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, not ${name === null ? 'null' : typeof name}`
  if (name.length === 0) return 'must not be empty'
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} UTF-8 bytes`
  if (name.startsWith('$')) return 'must not start with "$"'
  if (name.split('/').some((level) => level.length === 0)) return 'must not have empty levels (leading, trailing or double "/")'
  if (!isTopicName(name)) return 'must be a valid topic name: no "+", "#", U+0000 or lone surrogates'
  return undefined
}

/** False when no char of `key` is a surrogate (short keys: a loop is cheaper than the expression). */
function mayHoldSurrogates(key: string): boolean {
  if (key.length > 64) return true
  for (let i = 0; i < key.length; i++) if ((key.charCodeAt(i) & 0xf800) === 0xd800) return true
  return false
}

/** Throws ModelNameError unless `key` is a valid key. */
export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new ModelNameError(`invalid key: must be a string, not ${key === null ? 'null' : typeof key}`, key)
  }
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ModelNameError(`invalid key ${JSON.stringify(key.slice(0, 40))}...: longer than ${MAX_KEY_BYTES} UTF-8 bytes`, key)
  }
  if (mayHoldSurrogates(key) && LONE_SURROGATE.test(key)) throw new ModelNameError(`invalid key ${JSON.stringify(key)}: contains a lone surrogate`, key)
}
