/**
 * The on-disk format of a persistent store: its file names, the snapshot and log headers, and record framing.
 * Pure functions over bytes; the I/O is elsewhere.
 *
 * ## Files
 *
 * A store `<name>` in directory `<dir>` consists of these files (all integers little-endian):
 *
 * ```
 *   <name>.snapshot        the current snapshot, generation G
 *   <name>.log             the records appended after it; its header names generation G
 *   <name>.snapshot.prev   the previous snapshot, generation G-1 (kept to fall back to if the current one is ever
 *   <name>.log.prev        found corrupt), and its log: together they hold what <name>.snapshot was made from
 *   <name>.snapshot.tmp    temporaries of snapshot() in progress: never read, deleted when the store opens
 *   <name>.log.tmp
 * ```
 *
 * Generation 0 is the state before the first snapshot: it has a log but no snapshot file. Every snapshot() makes
 * generation G+1 (see `generation.ts` for the steps); which snapshot a log belongs to is decided by the generation in
 * the headers, never by the file names alone, so any set of files a crash can leave is unambiguous.
 *
 * ## Snapshot file
 *
 * ```
 *   offset  size  field
 *   0       8     magic "GLUESNAP"
 *   8       2     format version (1); magic and version keep these offsets in every version
 *   10      2     flags: bit 0 = "no snapshot" (a generation without one; length is then 0), others 0
 *   12      8     generation
 *   20      8     payload length in bytes
 *   28      4     CRC-32 of the payload
 *   32      4     CRC-32 of bytes 0..31 (the header)
 *   36      n     payload
 * ```
 *
 * The file is complete and valid only if both CRCs match and its size is exactly 36 + length.
 *
 * ## Log file
 *
 * ```
 *   offset  size  field
 *   0       8     magic "GLUE-LOG"
 *   8       2     format version (1)
 *   10      2     reserved, 0
 *   12      8     generation of the snapshot these records follow
 *   20      4     CRC-32 of bytes 0..19 (the header)
 *   24            records, each:
 *                   +0  4  payload length n, 1 .. 64 MiB
 *                   +4  4  CRC-32 of the payload
 *                   +8  n  payload
 * ```
 *
 * The records are read up to the first one that is incomplete (the file ends inside it), has a length out of range
 * (a zero-filled tail included) or a wrong CRC; the bytes from there to the end are a torn tail and are dropped.
 */
import { join } from 'node:path'

import { crc32 } from './crc32'

/** The file format version this code writes and reads. */
export const FORMAT_VERSION = 1

/** First bytes of a snapshot file. */
export const SNAPSHOT_MAGIC = Buffer.from('GLUESNAP', 'latin1')
/** First bytes of a log file. */
export const LOG_MAGIC = Buffer.from('GLUE-LOG', 'latin1')

/** Size of the snapshot header, bytes. */
export const SNAPSHOT_HEADER_BYTES = 36
/** Size of the log header, bytes. */
export const LOG_HEADER_BYTES = 24
/** Size of a record's frame (length and CRC) in front of its payload, bytes. */
export const RECORD_FRAME_BYTES = 8
/** Largest record payload, bytes (64 MiB). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024

/** Snapshot flag: the generation has no snapshot (`Loaded.snapshot` is undefined). */
const FLAG_NO_SNAPSHOT = 1

/** The paths of a store's files. */
export interface StorePaths {
  /** The directory. */
  readonly dir: string
  /** `<name>.snapshot`: the current snapshot. */
  readonly snapshot: string
  /** `<name>.log`: the current log. */
  readonly log: string
  /** `<name>.snapshot.prev`: the previous generation's snapshot. */
  readonly snapshotPrev: string
  /** `<name>.log.prev`: the previous generation's log. */
  readonly logPrev: string
  /** `<name>.snapshot.tmp`: a snapshot being written. */
  readonly snapshotTmp: string
  /** `<name>.log.tmp`: a new log being prepared. */
  readonly logTmp: string
}

/**
 * The paths of store `name`'s files in `dir`. The suffixes are such that no two stores in one directory share a
 * file, whatever their names.
 */
export function storePaths(dir: string, name: string): StorePaths {
  const file = (suffix: string): string => join(dir, name + suffix)
  return {
    dir,
    snapshot: file('.snapshot'),
    log: file('.log'),
    snapshotPrev: file('.snapshot.prev'),
    logPrev: file('.log.prev'),
    snapshotTmp: file('.snapshot.tmp'),
    logTmp: file('.log.tmp'),
  }
}

/** A decoded snapshot header. */
export interface SnapshotHeader {
  generation: number
  /** False for a generation without a snapshot. */
  hasSnapshot: boolean
  /** Payload length, bytes. */
  length: number
  /** CRC-32 of the payload. */
  crc: number
}

/** Why a header could not be used: not a store file or damaged, or written by a newer version of the format. */
export type HeaderProblem = { problem: 'corrupt'; reason: string } | { problem: 'newer'; version: number }

/** The header of a snapshot file holding `payload` (undefined: a generation without a snapshot). */
export function encodeSnapshotHeader(generation: number, payload: Uint8Array | undefined): Buffer {
  const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES)
  SNAPSHOT_MAGIC.copy(header, 0)
  header.writeUInt16LE(FORMAT_VERSION, 8)
  header.writeUInt16LE(payload === undefined ? FLAG_NO_SNAPSHOT : 0, 10)
  header.writeBigUInt64LE(BigInt(generation), 12)
  header.writeBigUInt64LE(BigInt(payload?.length ?? 0), 20)
  header.writeUInt32LE(payload === undefined ? 0 : crc32(payload), 28)
  header.writeUInt32LE(crc32(header.subarray(0, 32)), 32)
  return header
}

/** Decodes a snapshot header (the first {@link SNAPSHOT_HEADER_BYTES} bytes, or fewer if the file is shorter). */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader | HeaderProblem {
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const start = checkStart(header, SNAPSHOT_MAGIC, SNAPSHOT_HEADER_BYTES, 'snapshot')
  if (start !== undefined) return start
  if (header.readUInt32LE(32) !== crc32(header.subarray(0, 32))) return corrupt('the snapshot header CRC is wrong')
  const flags = header.readUInt16LE(10)
  if ((flags & ~FLAG_NO_SNAPSHOT) !== 0) return corrupt(`unknown snapshot flags ${flags}`)
  const generation = readSafeInteger(header, 12)
  const length = readSafeInteger(header, 20)
  if (generation === undefined || length === undefined) return corrupt('the snapshot header has an impossible value')
  const hasSnapshot = (flags & FLAG_NO_SNAPSHOT) === 0
  if (!hasSnapshot && length !== 0) return corrupt('a generation without a snapshot has a payload')
  return { generation, hasSnapshot, length, crc: header.readUInt32LE(28) }
}

/** The header of a log file whose records follow the snapshot of `generation`. */
export function encodeLogHeader(generation: number): Buffer {
  const header = Buffer.alloc(LOG_HEADER_BYTES)
  LOG_MAGIC.copy(header, 0)
  header.writeUInt16LE(FORMAT_VERSION, 8)
  header.writeBigUInt64LE(BigInt(generation), 12)
  header.writeUInt32LE(crc32(header.subarray(0, 20)), 20)
  return header
}

/** Decodes a log header (the first {@link LOG_HEADER_BYTES} bytes, or fewer if the file is shorter): its generation. */
export function decodeLogHeader(bytes: Uint8Array): { generation: number } | HeaderProblem {
  const header = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const start = checkStart(header, LOG_MAGIC, LOG_HEADER_BYTES, 'log')
  if (start !== undefined) return start
  if (header.readUInt32LE(20) !== crc32(header.subarray(0, 20))) return corrupt('the log header CRC is wrong')
  if (header.readUInt16LE(10) !== 0) return corrupt('the reserved log header field is not 0')
  const generation = readSafeInteger(header, 12)
  return generation === undefined ? corrupt('the log header has an impossible generation') : { generation }
}

/** Magic, version and size checks common to both headers. */
function checkStart(header: Buffer, magic: Buffer, size: number, what: string): HeaderProblem | undefined {
  if (header.length < magic.length + 2 || !header.subarray(0, magic.length).equals(magic)) {
    return corrupt(`not a ${what} file (no magic number)`)
  }
  const version = header.readUInt16LE(magic.length)
  if (version > FORMAT_VERSION) return { problem: 'newer', version }
  if (version !== FORMAT_VERSION) return corrupt(`unknown ${what} format version ${version}`)
  if (header.length < size) return corrupt(`the ${what} header is incomplete`)
  return undefined
}

function corrupt(reason: string): HeaderProblem {
  return { problem: 'corrupt', reason }
}

function readSafeInteger(header: Buffer, offset: number): number | undefined {
  const value = header.readBigUInt64LE(offset)
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(value)
}

/** Writes the frame (length, CRC) of `payload` at `offset` of `target`, followed by the payload; returns the end. */
export function frameRecord(payload: Uint8Array, target: Buffer, offset: number): number {
  target.writeUInt32LE(payload.length, offset)
  target.writeUInt32LE(crc32(payload), offset + 4)
  target.set(payload, offset + RECORD_FRAME_BYTES)
  return offset + RECORD_FRAME_BYTES + payload.length
}

/** A record's frame: its payload length, or undefined if the length is out of range (the log ends here). */
export function decodeRecordFrame(frame: Uint8Array, offset = 0): { length: number; crc: number } | undefined {
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)
  const length = view.readUInt32LE(offset)
  if (length < 1 || length > MAX_RECORD_BYTES) return undefined
  return { length, crc: view.readUInt32LE(offset + 4) }
}
