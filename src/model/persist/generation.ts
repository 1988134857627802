/**
 * Installing a new generation: the steps of `snapshot()`, in an order where a crash after any step leaves files
 * from which recovery (`recovery.ts`) rebuilds either the whole old generation (snapshot G + its log) or the whole
 * new one (snapshot G+1 + an empty log), never a mix.
 *
 * ```
 *   step                                   a crash after it leaves            recovery picks
 *   0 (snapshot()) write the records        old files                          old
 *     appended before it to the old log,
 *     fdatasync and close it
 *   1 write <name>.snapshot.tmp (G+1),      old files + temporaries            old: temporaries are deleted
 *     fsync, close
 *   2 write <name>.log.tmp (G+1, empty),    old files + temporaries            old
 *     fsync, close
 *   3 rename <name>.log -> .log.prev        snapshot G, log G as .log.prev     old (the log is found by its header)
 *   4 rename <name>.snapshot -> .prev       snapshot G and log G as .prev      old (moved back into place)
 *     (generation 0 has no snapshot:
 *     delete any .snapshot.prev instead)
 *   5 rename .snapshot.tmp -> .snapshot     snapshot G+1, no log G+1           new, with an empty log  <- commit
 *   6 fsync the directory
 *   7 rename .log.tmp -> .log               snapshot G+1, log G+1              new
 *   8 fsync the directory; open the log
 * ```
 *
 * Steps 3 and 4 keep generation G as `.prev`: if snapshot G+1 is ever found corrupt, the store falls back to it.
 * The fsync in step 6 makes the commit durable before step 7 can replace anything; step 8 makes the new log's name
 * durable before records are appended to it. Renames 3..5 need no fsync between them: whichever subset of them a
 * power loss keeps, snapshot G is still found with its log G, or committed snapshot G+1 is found (and its log is
 * empty).
 */
import { encodeLogHeader, encodeSnapshotHeader, type StorePaths } from './format'
import type { File, Files } from './fs'

/**
 * Makes `generation` the current one with `payload` as its snapshot (undefined: a generation without a snapshot)
 * and an empty log, which it returns opened for writing. The current log must be closed (and fsynced) first.
 * @throws PersistError if a step fails; the files are then as after the last step that succeeded
 */
export async function installGeneration(
  files: Files,
  paths: StorePaths,
  generation: number,
  payload: Uint8Array | undefined,
): Promise<File> {
  const snapshot = payload === undefined ? [] : [payload]
  await files.writeNewFile(paths.snapshotTmp, [encodeSnapshotHeader(generation, payload), ...snapshot])
  await files.writeNewFile(paths.logTmp, [encodeLogHeader(generation)])
  await files.renameIfExists(paths.log, paths.logPrev)
  // Generation 0 has no snapshot file; a .prev one from before would not belong to the log just retired.
  if (!(await files.renameIfExists(paths.snapshot, paths.snapshotPrev))) await files.removeIfExists(paths.snapshotPrev)
  await files.rename(paths.snapshotTmp, paths.snapshot)
  await files.syncDir(paths.dir)
  await files.rename(paths.logTmp, paths.log)
  await files.syncDir(paths.dir)
  return files.open(paths.log, 'r+')
}

/**
 * Gives `generation` (the current one, whose snapshot is in place) a new empty log, replacing any `<name>.log`
 * (which then belongs to another generation): what step 7 of {@link installGeneration} would have done. Returns it
 * opened for writing.
 */
export async function installEmptyLog(files: Files, paths: StorePaths, generation: number): Promise<File> {
  await files.writeNewFile(paths.logTmp, [encodeLogHeader(generation)])
  await files.rename(paths.logTmp, paths.log)
  await files.syncDir(paths.dir)
  return files.open(paths.log, 'r+')
}
