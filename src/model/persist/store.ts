/**
 * {@link SnapshotLog}: a crash-safe store of one opaque snapshot plus the records appended after it, for a replica
 * that must come back with its state after a reboot. It knows nothing of what the bytes mean.
 *
 * The file format is in `format.ts`, the snapshot procedure in `generation.ts`, crash recovery in `recovery.ts`
 * and the batching of appends in `log-writer.ts`.
 */
import { dirname, join } from 'node:path'

import { ClosedError } from '../../errors'
import { PersistError } from './errors'
import { LOG_HEADER_BYTES, MAX_RECORD_BYTES, RECORD_FRAME_BYTES, storePaths, type StorePaths } from './format'
import { Files, nodeFs, type PersistFs } from './fs'
import { installGeneration } from './generation'
import { LogWriter } from './log-writer'
import { resolveStoreOptions, type StoreOptions } from './options'
import { type Loaded, recover } from './recovery'

/** Stores open in this process, by real directory and name: a second SnapshotLog on the same files is refused. */
const openStores = new Set<string>()

/** What a SnapshotLog is made of (internal: use {@link SnapshotLog.open}). */
export interface StoreParts {
  files: Files
  paths: StorePaths
  /** The key in the set of open stores. */
  key: string
  writer: LogWriter
  generation: number
  logBytes: number
}

/**
 * A snapshot plus an append log on disk, crash-safe: whatever moment the process or the machine stops at,
 * {@link SnapshotLog.open} finds either the state before an operation or the state after it (appends: a prefix of
 * the records, with a torn last one dropped and counted; snapshots: all old or all new).
 *
 * ```ts
 * const { store, loaded } = await SnapshotLog.open({ dir: '/var/lib/app', name: 'map-config' })
 * // rebuild the state from loaded.snapshot, then loaded.records in order
 * await store.append(update)                    // per change
 * if (store.logBytes > 1 << 20) await store.snapshot(encode(state))   // compaction
 * await store.close()
 * ```
 *
 * One store per directory and name (a second open in this process is refused; other processes must not open the
 * same files). Methods may be called concurrently: records keep the order of the `append()` calls.
 */
export class SnapshotLog {
  readonly #files: Files
  readonly #paths: StorePaths
  readonly #key: string
  readonly #writer: LogWriter
  #generation: number
  #logBytes: number
  /** The last snapshot() in progress (snapshots run one after the other). */
  #snapshots: Promise<void> = Promise.resolve()
  #closing: Promise<void> | undefined

  /** @internal Use {@link SnapshotLog.open}. */
  constructor(parts: StoreParts) {
    this.#files = parts.files
    this.#paths = parts.paths
    this.#key = parts.key
    this.#writer = parts.writer
    this.#generation = parts.generation
    this.#logBytes = parts.logBytes
  }

  /**
   * Opens the store (creating the directory and its parents if needed), recovers from a crash (deletes temporary
   * files, finishes or undoes a snapshot() that was cut short, cuts a torn log tail) and loads it.
   * @throws InvalidOptionError for bad options, naming `persist.dir`, `persist.name` or `persist.fsync`
   * @throws PersistError if the files cannot be read or repaired, were written by a newer version of glue, or the
   *   store is already open in this process
   */
  static open(options: StoreOptions): Promise<{ store: SnapshotLog; loaded: Loaded }> {
    return openSnapshotLog(options, nodeFs)
  }

  /**
   * Bytes the log holds since the last `snapshot()` call (records with their 8-byte frames, the file header not
   * counted), including appends not yet written. For compaction decisions: replaying the log costs about this.
   */
  get logBytes(): number {
    return this.#logBytes
  }

  /**
   * Appends one record (1 byte .. 64 MiB). Resolves when it is written per the fsync policy (`'always'`: fsynced;
   * otherwise handed to the operating system). Records are kept in the order of the calls. Many calls in one tick
   * share one write; when 16 MiB are already waiting to be written the record waits too (backpressure), so do not
   * modify `record` before the promise settles.
   * @throws TypeError if `record` is not a Uint8Array; RangeError if its length is out of range
   * @throws PersistError if the store failed (now or before: it is then unusable); ClosedError after close()
   */
  append(record: Uint8Array): Promise<void> {
    if (!(record instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`a record must be a Uint8Array, not ${typeof record}`))
    }
    if (record.length < 1 || record.length > MAX_RECORD_BYTES) {
      return Promise.reject(new RangeError(`a record must have 1..${MAX_RECORD_BYTES} bytes, not ${record.length}`))
    }
    const refused = this.#refusal()
    if (refused !== undefined) return Promise.reject(refused)
    this.#logBytes += RECORD_FRAME_BYTES + record.length
    return this.#writer.append(record)
  }

  /**
   * Replaces everything with this snapshot, atomically: the records appended before this call are written to the old
   * log; the snapshot goes to a temporary file that is fsynced, then renamed over the old snapshot, the directory is
   * fsynced, and an empty log starts. A crash at any point leaves either the old snapshot and its log or the new
   * snapshot and an empty log. Appends made while it runs go into the new log. The previous generation is kept
   * beside it (`.prev` files) to fall back to if the new snapshot is ever found corrupt. Calls run one after the
   * other. Do not modify `state` before the promise settles.
   * @throws TypeError if `state` is not a Uint8Array
   * @throws PersistError if a step fails (the store is then unusable); ClosedError after close()
   */
  snapshot(state: Uint8Array): Promise<void> {
    if (!(state instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`a snapshot must be a Uint8Array, not ${typeof state}`))
    }
    const refused = this.#refusal()
    if (refused !== undefined) return Promise.reject(refused)
    const mark = this.#writer.hold()
    this.#logBytes = 0
    const run = this.#snapshots.then(() => this.#install(mark, state))
    this.#snapshots = run.catch(() => undefined)
    return run
  }

  /**
   * Waits for snapshot() calls in progress, writes and fsyncs pending appends (whatever the fsync policy), and closes
   * the files. Idempotent: every call returns the same promise. After a failure it only closes the files.
   * @throws PersistError if the last writes or the fsync fail
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  async #shutdown(): Promise<void> {
    try {
      await this.#snapshots
      await this.#writer.close()
    } finally {
      openStores.delete(this.#key)
    }
  }

  /** Why a call is refused now, if it is. */
  #refusal(): Error | undefined {
    if (this.#closing !== undefined) return new ClosedError(`the persistent store ${this.#paths.log} is closed`)
    return this.#writer.failure
  }

  async #install(mark: number, state: Uint8Array): Promise<void> {
    try {
      await this.#writer.drained(mark)
      const generation = this.#generation + 1
      await this.#writer.rotate(async () => ({
        log: await installGeneration(this.#files, this.#paths, generation, state),
        end: LOG_HEADER_BYTES,
      }))
      this.#generation = generation
    } catch (err) {
      throw this.#writer.fail(err)
    } finally {
      this.#writer.release()
    }
  }
}

/**
 * {@link SnapshotLog.open} on another file system (internal: tests count writes and fsyncs, or fail at a chosen
 * step, through it).
 */
export async function openSnapshotLog(
  options: StoreOptions,
  fs: PersistFs,
): Promise<{ store: SnapshotLog; loaded: Loaded }> {
  const { dir, name, fsync } = resolveStoreOptions(options)
  const files = new Files(fs)
  await makeDirectory(files, dir)
  const realDir = await files.realpath(dir)
  const key = join(realDir, name)
  if (openStores.has(key)) {
    throw new PersistError(`${key}: this store is already open in this process (one SnapshotLog per dir and name)`, {
      path: key,
      operation: 'open',
    })
  }
  openStores.add(key)
  try {
    const paths = storePaths(realDir, name)
    const { loaded, generation, log, end } = await recover(files, paths)
    const writer = new LogWriter(log, end, fsync)
    const logBytes = end - LOG_HEADER_BYTES
    return { store: new SnapshotLog({ files, paths, key, writer, generation, logBytes }), loaded }
  } catch (err) {
    openStores.delete(key)
    throw err
  }
}

/** Creates the directory if needed; new directories' entries are fsynced into their parents. */
async function makeDirectory(files: Files, dir: string): Promise<void> {
  const first = await files.mkdir(dir)
  if (first === undefined) return
  for (let created = dir; ; created = dirname(created)) {
    await files.syncDir(dirname(created))
    if (created === first || dirname(created) === created) return
  }
}
