/**
 * A MessagePack writer for batches of commands (see commands.ts): arrays of small naturals, strings, binaries,
 * nil and booleans, written straight into one Buffer — the generic encoder's code is most of a put's encode time
 * when it runs once per proposal. Anything else (a number that is not a 32-bit natural) returns undefined and the
 * caller uses the generic encoder; both give MessagePack that decodes to the same values.
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
  let max = 5
  for (const c of commands) {
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
  if (n < 0x10000) {
    out[at] = 0xdc
    out.writeUInt16BE(n, at + 1)
    return at + 3
  }
  out[at] = 0xdd
  out.writeUInt32BE(n, at + 1)
  return at + 5
}

/** Writes a length-prefixed header: `small` (fix) below `fixMax`, else the 8/16/32-bit form from `code8`. */
function lengthHeader(out: Buffer, at: number, n: number, fix: number, fixMax: number, code8: number): number {
  if (n < fixMax) {
    out[at] = fix | n
    return at + 1
  }
  if (n < 0x100) {
    out[at] = code8
    out[at + 1] = n
    return at + 2
  }
  if (n < 0x10000) {
    out[at] = code8 + 1
    out.writeUInt16BE(n, at + 1)
    return at + 3
  }
  out[at] = code8 + 2
  out.writeUInt32BE(n, at + 1)
  return at + 5
}

function write(out: Buffer, at: number, v: unknown): number {
  if (typeof v === 'number') {
    if (v < 0x80) {
      out[at] = v
      return at + 1
    }
    if (v < 0x100) {
      out[at] = 0xcc
      out[at + 1] = v
      return at + 2
    }
    if (v < 0x10000) {
      out[at] = 0xcd
      out.writeUInt16BE(v, at + 1)
      return at + 3
    }
    out[at] = 0xce
    out.writeUInt32BE(v, at + 1)
    return at + 5
  }
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v)
    const start = lengthHeader(out, at, n, 0xa0, 32, 0xd9)
    return start + out.write(v, start, n, 'utf8')
  }
  if (v instanceof Uint8Array) {
    const start = lengthHeader(out, at, v.length, 0, 0, 0xc4)
    out.set(v, start)
    return start + v.length
  }
  out[at] = v === null ? 0xc0 : v === true ? 0xc3 : 0xc2
  return at + 1
}
