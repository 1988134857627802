/**
 * A MessagePack writer for batches of commands (see commands.ts): arrays of small naturals, strings, binaries,
 * nil and booleans, written straight into one Buffer — the generic encoder's code is most of a put's encode time
 * when it runs once per proposal. Anything else (a number that is not a 32-bit natural, a batch or command that is
 * not an array) returns undefined and the caller uses the generic encoder; both give MessagePack that decodes to the
 * same values.
 */

/** Bytes a value takes at most, or -1 when this writer does not take it. */
function sizeOf(v: unknown): number {
  if (typeof v === 'number') return v >>> 0 === v ? 5 : -1
  if (typeof v === 'string') return 5 + v.length * 3
  if (v instanceof Uint8Array) return 5 + v.length
  if (v === null || typeof v === 'boolean') return 1
  return -1
}

/** The batch `commands` as MessagePack, or undefined when a value is not one this writer takes. */
export function encodeCommands(commands: readonly unknown[][]): Buffer | undefined {
  if (!Array.isArray(commands)) return undefined
  let max = 5
  for (const c of commands) {
    if (!Array.isArray(c)) return undefined
    max += 5
    for (const v of c) {
      const n = sizeOf(v)
      if (n < 0) return undefined
      max += n
    }
  }
  const out = Buffer.allocUnsafe(max)
  let at = arrayHeader(out, 0, commands.length)
  for (const c of commands) {
    at = arrayHeader(out, at, c.length)
    for (const v of c) at = write(out, at, v)
  }
  return out.subarray(0, at)
}

function arrayHeader(out: Buffer, at: number, n: number): number {
  if (n < 16) {
    out[at] = 0x90 | n
    return at + 1
  }
  return n < 0x10000 ? codeAnd(out, at, 0xdc, n, 2) : codeAnd(out, at, 0xdd, n, 4)
}

/** Writes `code`, then `n` in `bytes` (1, 2 or 4) big-endian bytes. */
function codeAnd(out: Buffer, at: number, code: number, n: number, bytes: 1 | 2 | 4): number {
  out[at] = code
  if (bytes === 1) out[at + 1] = n
  else if (bytes === 2) out.writeUInt16BE(n, at + 1)
  else out.writeUInt32BE(n, at + 1)
  return at + 1 + bytes
}

/**
 * Writes `n` as MessagePack sizes it: `fix | n` below `fixMax`, else `code8` (`code8 + 1`, `code8 + 2`) and `n` in
 * 1 (2, 4) bytes. Naturals are the same scheme (no fix bits, below 128, from 0xcc).
 */
function sized(out: Buffer, at: number, n: number, fix: number, fixMax: number, code8: number): number {
  if (n < fixMax) {
    out[at] = fix | n
    return at + 1
  }
  if (n < 0x100) return codeAnd(out, at, code8, n, 1)
  return n < 0x10000 ? codeAnd(out, at, code8 + 1, n, 2) : codeAnd(out, at, code8 + 2, n, 4)
}

function write(out: Buffer, at: number, v: unknown): number {
  if (typeof v === 'number') return sized(out, at, v, 0, 0x80, 0xcc)
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v)
    const start = sized(out, at, n, 0xa0, 32, 0xd9)
    return start + out.write(v, start, n, 'utf8')
  }
  if (v instanceof Uint8Array) {
    const start = sized(out, at, v.length, 0, 0, 0xc4)
    out.set(v, start)
    return start + v.length
  }
  out[at] = v === null ? 0xc0 : v === true ? 0xc3 : 0xc2
  return at + 1
}
