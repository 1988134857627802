/**
 * Reading a store's files: a snapshot file (validated whole), a log header, and a log's records up to the first
 * torn or corrupt one. Nothing here writes.
 */
import { crc32 } from './crc32'
import { PersistError } from './errors'
import {
  decodeLogHeader,
  decodeRecordFrame,
  decodeSnapshotHeader,
  FORMAT_VERSION,
  type HeaderProblem,
  LOG_HEADER_BYTES,
  RECORD_FRAME_BYTES,
  SNAPSHOT_HEADER_BYTES,
} from './format'
import type { File, Files } from './fs'

/** What a snapshot file holds. */
export type SnapshotRead =
  | { kind: 'absent' }
  /** A complete, valid snapshot; `payload` undefined for a generation without one. */
  | { kind: 'ok'; generation: number; payload: Uint8Array | undefined }
  /** Header and size are valid; the payload was not read (nor its CRC checked). */
  | { kind: 'header'; generation: number }
  /** Damaged; the generation is known if the header is intact. */
  | { kind: 'corrupt'; generation: number | undefined; reason: string }

/** What a log file's header says. */
export type LogHeaderRead =
  | { kind: 'absent' }
  | { kind: 'ok'; generation: number; size: number }
  | { kind: 'corrupt'; reason: string; size: number }

/** A log's records. */
export interface LogRecords {
  records: Uint8Array[]
  /** Offset just past the last valid record: where the next record goes. */
  end: number
  /** Bytes after `end` (a torn or corrupt tail). */
  droppedBytes: number
}

/** Reads of at most this many bytes go through one shared buffer; larger records are read directly. */
const CHUNK_BYTES = 1 << 20

/**
 * Reads and checks a snapshot file; with `withPayload` false, only its header and size.
 * @throws PersistError if it cannot be read, or was written by a newer format version (it is left alone)
 */
export async function readSnapshotFile(files: Files, path: string, withPayload: boolean): Promise<SnapshotRead> {
  const file = await files.openIfExists(path, 'r')
  if (file === undefined) return { kind: 'absent' }
  try {
    const size = await file.size()
    const head = new Uint8Array(Math.min(size, SNAPSHOT_HEADER_BYTES))
    await file.readAll(head, 0)
    const header = decodeSnapshotHeader(head)
    if ('problem' in header) return { kind: 'corrupt', generation: undefined, reason: problem(path, header) }
    const { generation } = header
    const expected = SNAPSHOT_HEADER_BYTES + header.length
    if (size !== expected) {
      return { kind: 'corrupt', generation, reason: `${size} bytes where the header says ${expected}` }
    }
    if (!header.hasSnapshot) return { kind: 'ok', generation, payload: undefined }
    if (!withPayload) return { kind: 'header', generation }
    const payload = new Uint8Array(header.length)
    await file.readAll(payload, SNAPSHOT_HEADER_BYTES)
    if (crc32(payload) !== header.crc) return { kind: 'corrupt', generation, reason: 'the payload CRC is wrong' }
    return { kind: 'ok', generation, payload }
  } finally {
    await file.close()
  }
}

/**
 * Reads a log file's header.
 * @throws PersistError if it cannot be read, or was written by a newer format version
 */
export async function readLogHeader(files: Files, path: string): Promise<LogHeaderRead> {
  const file = await files.openIfExists(path, 'r')
  if (file === undefined) return { kind: 'absent' }
  try {
    const size = await file.size()
    const head = new Uint8Array(Math.min(size, LOG_HEADER_BYTES))
    await file.readAll(head, 0)
    const header = decodeLogHeader(head)
    if ('problem' in header) return { kind: 'corrupt', reason: problem(path, header), size }
    return { kind: 'ok', generation: header.generation, size }
  } finally {
    await file.close()
  }
}

/** Reads the records of an open log file of `size` bytes whose header is valid. */
export async function readLogRecords(file: File, size: number): Promise<LogRecords> {
  const reader = new SequentialReader(file, size)
  const records: Uint8Array[] = []
  let position = LOG_HEADER_BYTES
  while (position + RECORD_FRAME_BYTES <= size) {
    const frame = decodeRecordFrame(await reader.bytes(position, RECORD_FRAME_BYTES))
    if (frame === undefined || position + RECORD_FRAME_BYTES + frame.length > size) break
    const payload = await reader.copy(position + RECORD_FRAME_BYTES, frame.length)
    if (crc32(payload) !== frame.crc) break
    records.push(payload)
    position += RECORD_FRAME_BYTES + frame.length
  }
  return { records, end: position, droppedBytes: size - position }
}

/** The reason of a header problem; a newer format version is an error, not damage. */
function problem(path: string, header: HeaderProblem): string {
  if (header.problem === 'corrupt') return header.reason
  throw new PersistError(
    `${path} was written by a newer version of glue (file format ${header.version}; this one reads ` +
      `${FORMAT_VERSION}); it is left as it is`,
    { path, operation: 'read' },
  )
}

/** Reads a file front to back through a buffer of {@link CHUNK_BYTES}: few reads for many small records. */
class SequentialReader {
  #buffer = new Uint8Array(0)
  /** File offset of `#buffer[0]`. */
  #start = 0

  constructor(
    readonly file: File,
    readonly size: number,
  ) {}

  /** `length` bytes at `position` (a view that is valid until the next call). */
  async bytes(position: number, length: number): Promise<Uint8Array> {
    if (position < this.#start || position + length > this.#start + this.#buffer.length) {
      this.#buffer = new Uint8Array(Math.min(Math.max(CHUNK_BYTES, length), this.size - position))
      this.#start = position
      await this.file.readAll(this.#buffer, position)
    }
    const offset = position - this.#start
    return this.#buffer.subarray(offset, offset + length)
  }

  /** A copy of `length` bytes at `position`. */
  async copy(position: number, length: number): Promise<Uint8Array> {
    if (length <= CHUNK_BYTES) return (await this.bytes(position, length)).slice()
    const target = new Uint8Array(length)
    await this.file.readAll(target, position)
    return target
  }
}
