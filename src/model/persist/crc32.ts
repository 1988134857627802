/**
 * CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF; the CRC of zlib, PNG
 * and gzip), computed with eight tables ("slicing by 8"). It detects torn and corrupt records; it is not a defence
 * against anyone who can write the files.
 */

/** TABLES[k][b]: the CRC contribution of byte b followed by k zero bytes. */
const TABLES: readonly Uint32Array[] = buildTables()

function buildTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256))
  for (let b = 0; b < 256; b++) {
    let c = b
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    tables[0][b] = c >>> 0
  }
  for (let b = 0; b < 256; b++) {
    for (let k = 1; k < 8; k++) tables[k][b] = (tables[0][tables[k - 1][b] & 0xff] ^ (tables[k - 1][b] >>> 8)) >>> 0
  }
  return tables
}

/**
 * The CRC-32 of `data` (an unsigned 32-bit integer). Pass the CRC of the preceding bytes as `crc` to continue a
 * running CRC over several pieces: `crc32(b, crc32(a))` equals `crc32(a + b)`.
 */
export function crc32(data: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES
  let c = ~crc >>> 0
  let i = 0
  const end8 = data.length - (data.length % 8)
  while (i < end8) {
    const lo = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0
    c =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]]
    i += 8
  }
  while (i < data.length) c = t0[(c ^ data[i++]) & 0xff] ^ (c >>> 8)
  return ~c >>> 0
}
