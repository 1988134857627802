/**
 * Opening a store after a clean close or a crash: reads whichever of the files exist, decides which generation is
 * the current one ({@link plan}, a pure function of what was read), puts the files back into their normal state
 * (renames back what a snapshot() left half-way, deletes temporaries and files of no generation, cuts a torn log
 * tail) and loads the snapshot and records.
 *
 * The rules, for the states `installGeneration()` can leave (see `generation.ts`):
 * - the current snapshot is `<name>.snapshot`, or `<name>.snapshot.prev` when there is no `<name>.snapshot` (a crash
 *   between steps 4 and 5); no snapshot file at all is generation 0;
 * - its log is the one of `<name>.log` and `<name>.log.prev` whose header names its generation; if neither does,
 *   the snapshot was committed before its log was installed, and its log is empty;
 * - `.prev` files are kept only while they are the previous generation's pair (snapshot G-1, or none for G-1 = 0,
 *   with log G-1).
 *
 * A corrupt current snapshot (bad CRC, wrong size) falls back to the previous generation if its pair is intact: its
 * snapshot, then the records of its log and of the current log (everything appended since; a model's operations
 * replayed in order), with `corruptSnapshot` set; the files stay as they are, so reopening loads the same. Without a
 * usable previous generation the store starts empty (a new generation without snapshot) and says so.
 */
import { installEmptyLog, installGeneration } from './generation'
import { LOG_HEADER_BYTES, type StorePaths } from './format'
import type { File, Files } from './fs'
import {
  type LogHeaderRead,
  readLogHeader,
  readLogRecords,
  readSnapshotFile,
  type SnapshotRead,
  type LogRecords,
} from './read'

/** What `SnapshotLog.open()` loaded. */
export interface Loaded {
  /** The last complete snapshot, or undefined (none was ever made, or it was lost: see `corruptSnapshot`). */
  snapshot: Uint8Array | undefined
  /** The records appended after that snapshot, in order (a torn or corrupt tail is dropped: see `droppedBytes`). */
  records: Uint8Array[]
  /** Bytes at the end of the log that did not form a complete, valid record (a crash mid-write), discarded. */
  droppedBytes: number
  /**
   * The current snapshot was found damaged. If the previous generation was intact, `snapshot` is the previous
   * snapshot and `records` are the records appended since it (including those after the damaged snapshot);
   * otherwise the store started empty.
   */
  corruptSnapshot: boolean
}

/** The four files as read. */
export interface FilesRead {
  snapshot: SnapshotRead
  snapshotPrev: SnapshotRead
  log: LogHeaderRead
  logPrev: LogHeaderRead
}

/** What recovery does, decided from {@link FilesRead}. */
export interface Plan {
  /** The current generation once recovered. */
  generation: number
  /** `Loaded.snapshot`. */
  snapshot: Uint8Array | undefined
  corruptSnapshot: boolean
  /** Nothing usable: install {@link generation} as a new generation without snapshot (and an empty log). */
  reset: boolean
  /** Rename `<name>.snapshot.prev` back to `<name>.snapshot`. */
  restoreSnapshot: boolean
  /** Where the current generation's log is: in place, in `<name>.log.prev` (rename it back), or none (create it). */
  log: 'log' | 'prev' | 'new'
  /** `Loaded.records` begins with the records of `<name>.log.prev` (the fallback to the previous generation). */
  replayPrevLog: boolean
  /** Delete the `.prev` files (whatever of them is still there after the renames): they are no generation's pair. */
  dropPrev: boolean
  /** Bytes of a damaged `<name>.log` that is replaced (counted in `droppedBytes`). */
  lostLogBytes: number
}

/** The current generation after recovery, its loaded content and its log, open for appending. */
export interface Recovered {
  loaded: Loaded
  generation: number
  /** The current log, opened for writing. */
  log: File
  /** Offset where the next record goes. */
  end: number
}

/** Recovers and loads the store whose files are `paths`. */
export async function recover(files: Files, paths: StorePaths): Promise<Recovered> {
  await files.removeIfExists(paths.snapshotTmp)
  await files.removeIfExists(paths.logTmp)
  const snapshot = await readSnapshotFile(files, paths.snapshot, true)
  const read: FilesRead = {
    snapshot,
    // The previous snapshot is read whole only if it may be needed: no valid current one.
    snapshotPrev: await readSnapshotFile(files, paths.snapshotPrev, snapshot.kind !== 'ok'),
    log: await readLogHeader(files, paths.log),
    logPrev: await readLogHeader(files, paths.logPrev),
  }
  const decided = plan(read)
  const { generation } = decided
  const loaded: Loaded = {
    snapshot: decided.snapshot,
    records: [],
    droppedBytes: decided.lostLogBytes,
    corruptSnapshot: decided.corruptSnapshot,
  }
  if (decided.reset) {
    const log = await installGeneration(files, paths, generation, undefined)
    return { loaded, generation, log, end: LOG_HEADER_BYTES }
  }

  if (decided.replayPrevLog) {
    const prev = await loadRecords(files, paths.logPrev)
    loaded.records.push(...prev.records)
    loaded.droppedBytes += prev.droppedBytes
  }
  let changed = false
  if (decided.restoreSnapshot) changed = await files.renameIfExists(paths.snapshotPrev, paths.snapshot)
  if (decided.log === 'prev') changed = (await files.renameIfExists(paths.logPrev, paths.log)) || changed
  if (decided.dropPrev) {
    changed = (await files.removeIfExists(paths.snapshotPrev)) || changed
    changed = (await files.removeIfExists(paths.logPrev)) || changed
  }
  if (changed) await files.syncDir(paths.dir)
  if (decided.log === 'new') {
    return { loaded, generation, log: await installEmptyLog(files, paths, generation), end: LOG_HEADER_BYTES }
  }

  const log = await files.open(paths.log, 'r+')
  try {
    const current = await readLogRecordsOf(log)
    loaded.records.push(...current.records)
    loaded.droppedBytes += current.droppedBytes
    if (current.droppedBytes > 0) {
      await log.truncate(current.end)
      await log.datasync()
    }
    return { loaded, generation, log, end: current.end }
  } catch (err) {
    await log.close().catch(() => undefined)
    throw err
  }
}

/** Decides which generation is current and what to repair; see the module comment for the rules. */
export function plan(read: FilesRead): Plan {
  const { snapshot, snapshotPrev, log, logPrev } = read
  const logOf = (generation: number): 'log' | 'prev' | 'new' =>
    isLog(log, generation) ? 'log' : isLog(logPrev, generation) ? 'prev' : 'new'
  const base = { reset: false, restoreSnapshot: false, replayPrevLog: false, dropPrev: false, lostLogBytes: 0 }
  const current = snapshot.kind !== 'absent' ? snapshot : snapshotPrev
  const restoreSnapshot = snapshot.kind === 'absent' && snapshotPrev.kind !== 'absent'

  if (current.kind === 'ok' || current.kind === 'header') {
    if (current.kind === 'header') throw new Error('unreachable: the current snapshot is always read whole')
    const { generation } = current
    const where = logOf(generation)
    // The .prev files stay if they are the previous generation's pair, snapshot G-1 (none for 0) and log G-1,
    // which they are not if they held the current generation (a crash in the middle of steps 3..4).
    const prevPair =
      !restoreSnapshot &&
      where !== 'prev' &&
      isLog(logPrev, generation - 1) &&
      (isSnapshot(snapshotPrev, generation - 1) || (generation === 1 && snapshotPrev.kind === 'absent'))
    return {
      ...base,
      generation,
      snapshot: current.payload,
      corruptSnapshot: false,
      restoreSnapshot,
      log: where,
      dropPrev: !prevPair,
      lostLogBytes: where === 'new' && log.kind === 'corrupt' ? log.size : 0,
    }
  }

  if (current.kind === 'absent') {
    // Generation 0: no snapshot was ever made...
    const where = logOf(0)
    if (where !== 'new' || !hasLaterLog(read, 0)) {
      return {
        ...base,
        generation: 0,
        snapshot: undefined,
        corruptSnapshot: false,
        log: where,
        dropPrev: true,
        lostLogBytes: where === 'new' && log.kind === 'corrupt' ? log.size : 0,
      }
    }
    // ...unless there is only a log of a later generation: its snapshot was lost.
    return reset(read)
  }

  // The current snapshot is damaged: fall back to the previous generation if its pair is intact.
  if (!restoreSnapshot && logPrev.kind === 'ok') {
    const previous = logPrev.generation
    const generation = previous + 1
    const intact =
      (current.generation === undefined || current.generation === generation) &&
      (isSnapshot(snapshotPrev, previous) || (previous === 0 && snapshotPrev.kind === 'absent'))
    if (intact) {
      return {
        ...base,
        generation,
        snapshot: snapshotPrev.kind === 'ok' ? snapshotPrev.payload : undefined,
        corruptSnapshot: true,
        replayPrevLog: true,
        log: isLog(log, generation) ? 'log' : 'new',
        lostLogBytes: !isLog(log, generation) && log.kind === 'corrupt' ? log.size : 0,
      }
    }
  }
  return reset(read)
}

/** Nothing usable: a new generation without snapshot, numbered above every generation seen. */
function reset(read: FilesRead): Plan {
  const generations = [read.snapshot, read.snapshotPrev, read.log, read.logPrev].map((file) =>
    'generation' in file && file.generation !== undefined ? file.generation : 0,
  )
  return {
    generation: Math.max(...generations) + 1,
    snapshot: undefined,
    corruptSnapshot: true,
    reset: true,
    restoreSnapshot: false,
    log: 'new',
    replayPrevLog: false,
    dropPrev: false,
    lostLogBytes: 0,
  }
}

function isLog(read: LogHeaderRead, generation: number): boolean {
  return read.kind === 'ok' && read.generation === generation
}

/** Whether it is a valid snapshot of `generation` (or at least has a valid header and size, if not read whole). */
function isSnapshot(read: SnapshotRead, generation: number): boolean {
  return (read.kind === 'ok' || read.kind === 'header') && read.generation === generation
}

/** Whether a log of a generation after `generation` exists. */
function hasLaterLog(read: FilesRead, generation: number): boolean {
  return [read.log, read.logPrev].some((log) => log.kind === 'ok' && log.generation > generation)
}

async function readLogRecordsOf(log: File): Promise<LogRecords> {
  return readLogRecords(log, await log.size())
}

/** The records of the log at `path` (read only). */
async function loadRecords(files: Files, path: string): Promise<LogRecords> {
  const file = await files.open(path, 'r')
  try {
    return await readLogRecordsOf(file)
  } finally {
    await file.close()
  }
}
