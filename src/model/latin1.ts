/**
 * Bytes as Latin-1 strings (one char per byte), the form in which entries keep their values: a string is one heap
 * object without a backing store, cheaper for the garbage collector than a typed array per small value.
 */

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string
/** `Buffer#latin1Slice`, callable on any Uint8Array (`Buffer#toString('latin1')` without its argument checks). */
export const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: Latin1Slice }).latin1Slice

/** The bytes of `value` as a Latin-1 string (a copy); a string is taken as it is; undefined stays undefined. */
export function latin1Of(value: Uint8Array | string | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value
  return latin1Slice.call(value, 0, value.length)
}
