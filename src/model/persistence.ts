/**
 * `persist`: a replica's state on disk, in a {@link SnapshotLog} (crash-safe snapshot + append log, fsync policy).
 * Opening restores the snapshot and replays the journal records after it; from then on every change the replica
 * journals goes out as one record per tick, and when the log outgrows the snapshot (and 1 MiB) a new snapshot
 * replaces both. A restarted endpoint thus comes back with its state and then syncs only the difference.
 *
 * The replica's own origin is new at every open (a new incarnation), so write counters are never reused even when
 * the last records before a crash were lost: the members still hold those writes and send them back.
 */
import { createHash } from 'node:crypto'

import { type FsyncPolicy, type Loaded, SnapshotLog } from './persist'
import type { FsyncOption } from './options'
import type { Replica } from './replica'
import { encodeJournal, encodeSnapshot, replayJournal, restoreSnapshot } from './snapshot'

/** What a persistent replica needs of its store (a {@link SnapshotLog}; tests use one in memory). */
export interface ReplicaStore {
  readonly logBytes: number
  append(record: Uint8Array): Promise<void>
  snapshot(state: Uint8Array): Promise<void>
  close(): Promise<void>
}

/** Opens the store of one object. */
export type OpenStore = (dir: string, name: string, fsync: FsyncOption) => Promise<{ store: ReplicaStore; loaded: Loaded }>

/** Opens a {@link SnapshotLog}. */
export const openSnapshotLog: OpenStore = (dir, name, fsync) => SnapshotLog.open({ dir, name, fsync: fsync as FsyncPolicy })

/** The log may grow to this many bytes at least before a snapshot replaces it. */
const MIN_COMPACT_BYTES = 1 << 20

/** The file name stem of an object: `<kind>-<name>` with bytes outside `[A-Za-z0-9.-]` as `_xx` (hex). */
export function storeName(kind: string, name: string): string {
  let escaped = ''
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte)
    escaped += /[A-Za-z0-9.-]/.test(c) ? c : `_${byte.toString(16).padStart(2, '0')}`
  }
  const stem = `${kind}-${escaped}`
  if (stem.length <= 100) return stem
  return `${stem.slice(0, 80)}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`
}

/** See the module doc. */
export class Persistence {
  readonly #store: ReplicaStore
  readonly #replica: Replica
  readonly #onError: (err: unknown) => void
  readonly #soon: (fn: () => void) => void
  #snapshotBytes = 0
  #queued = false
  #failed = false
  /** Settles once every write issued so far settled. */
  #settled: Promise<void> = Promise.resolve()
  /** Records that could not be replayed when opening (skipped). */
  readonly skipped: number

  private constructor(store: ReplicaStore, replica: Replica, loaded: Loaded, onError: (err: unknown) => void, soon: (fn: () => void) => void) {
    this.#store = store
    this.#soon = soon
    this.#replica = replica
    this.#onError = onError
    let skipped = 0
    if (loaded.snapshot !== undefined) {
      restoreSnapshot(replica, loaded.snapshot)
      this.#snapshotBytes = loaded.snapshot.length
    }
    for (const record of loaded.records) {
      try {
        replayJournal(replica, record)
      } catch {
        skipped++
      }
    }
    this.skipped = skipped
    replica.journal = []
  }

  /**
   * Opens (or creates) the store of an object and restores `replica` from it; `soon` schedules the writes of a tick
   * (`setImmediate`), `onError` gets a failed write (the replica then goes on in memory only).
   */
  static async open(
    open: OpenStore,
    replica: Replica,
    where: { dir: string; name: string; fsync: FsyncOption },
    onError: (err: unknown) => void,
    soon: (fn: () => void) => void,
  ): Promise<Persistence> {
    const { store, loaded } = await open(where.dir, where.name, where.fsync)
    try {
      return new Persistence(store, replica, loaded, onError, soon)
    } catch (err) {
      await store.close().catch(() => undefined)
      throw err
    }
  }

  /** The replica journaled something: write it out once this tick is done. */
  changed(): void {
    if (this.#queued || this.#failed) return
    this.#queued = true
    this.#soon(() => this.#write())
  }

  #write(): void {
    this.#queued = false
    const ops = this.#replica.journal
    if (this.#failed || ops === undefined || ops.length === 0) return
    this.#replica.journal = []
    const fail = (err: unknown): void => {
      if (this.#failed) return
      this.#failed = true
      this.#replica.journal = undefined
      this.#onError(err)
    }
    // The journal goes to the log first even when a snapshot follows: should the new snapshot ever be found damaged,
    // the previous one and its log still hold everything.
    const writes: Promise<void>[] = [this.#store.append(encodeJournal(ops)).catch(fail)]
    if (this.#store.logBytes > Math.max(MIN_COMPACT_BYTES, 2 * this.#snapshotBytes)) {
      const state = encodeSnapshot(this.#replica)
      this.#snapshotBytes = state.length
      writes.push(this.#store.snapshot(state).catch(fail))
    }
    this.#settled = Promise.all([this.#settled, ...writes]).then(() => undefined)
  }

  /** Writes what is journaled now; resolves once it and everything before reached the store (fsync per its policy). */
  flushed(): Promise<void> {
    this.#write()
    return this.#settled
  }

  /** Writes what is journaled and closes the files. */
  async close(): Promise<void> {
    this.#write()
    this.#failed = true
    await this.#store.close()
  }
}
