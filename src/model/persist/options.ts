/**
 * The options of a persistent store ({@link StoreOptions}) and their validation. Errors name the option as the
 * model layer's users know it: `persist.dir`, `persist.name`, `persist.fsync`.
 */
import { resolve } from 'node:path'

import { describe, explicit, invalid } from '../../option-checks'
import { InvalidOptionError } from '../../errors'

/**
 * How often appended records reach the disk (are fsynced):
 * - `'always'`: every `append()` resolves only after its record is fsynced (batched: one fsync per write);
 * - `'never'`: only `close()` and `snapshot()` fsync; a crash of the machine (not just the process) may lose the
 *   records of the last few seconds;
 * - `{ intervalMs }`: `append()` resolves once written; an fsync follows within `intervalMs` milliseconds (integer
 *   1..3 600 000). A machine crash may lose the records of the last interval.
 *
 * The snapshot procedure always fsyncs, whatever the policy.
 */
export type FsyncPolicy = 'always' | 'never' | { intervalMs: number }

/** The options of `SnapshotLog.open()`. */
export interface StoreOptions {
  /** Directory of the store (created, with its parents, if missing). One store per directory + name. */
  dir: string
  /**
   * File name stem, e.g. `'map-config'`: the files are `<name>.snapshot`, `<name>.log` and their `.prev` and
   * `.tmp` companions. 1..100 characters of `[A-Za-z0-9._-]`.
   */
  name: string
  /** When appends are fsynced. Default `{ intervalMs: 100 }`. */
  fsync?: FsyncPolicy
}

/** {@link StoreOptions}, checked, with defaults filled in. */
export interface ResolvedStoreOptions {
  /** The directory, as an absolute path. */
  dir: string
  name: string
  /** `'always'`, `'never'`, or the fsync interval in milliseconds. */
  fsync: 'always' | 'never' | number
}

/** Default fsync interval, milliseconds. */
export const DEFAULT_FSYNC_INTERVAL_MS = 100
/** Longest fsync interval, milliseconds (one hour). */
export const MAX_FSYNC_INTERVAL_MS = 3_600_000

const NAME = /^[A-Za-z0-9._-]{1,100}$/
const KNOWN = new Set(['dir', 'name', 'fsync'])

/**
 * Checks the options and fills in the defaults.
 * @throws InvalidOptionError naming the option (`persist.dir`, `persist.name`, `persist.fsync`) and the value
 */
export function resolveStoreOptions(options: StoreOptions): ResolvedStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`Invalid option persist: ${describe(options)} (expected an object)`, {
      option: 'persist',
      value: options,
    })
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalid(explicit(`persist.${key}`, options[key as keyof StoreOptions]), 'no such option')
  }
  const { dir, name, fsync } = options
  if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
    throw invalid(explicit('persist.dir', dir), 'a directory path: a non-empty string')
  }
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalid(explicit('persist.name', name), '1..100 characters of A-Z a-z 0-9 . _ -')
  }
  return { dir: resolve(dir), name, fsync: resolveFsync(fsync) }
}

function resolveFsync(fsync: unknown): 'always' | 'never' | number {
  if (fsync === undefined) return DEFAULT_FSYNC_INTERVAL_MS
  if (fsync === 'always' || fsync === 'never') return fsync
  const expected = `'always', 'never' or { intervalMs: an integer 1..${MAX_FSYNC_INTERVAL_MS}, milliseconds }`
  if (typeof fsync !== 'object' || fsync === null) throw invalid(explicit('persist.fsync', fsync), expected)
  const keys = Object.keys(fsync)
  const intervalMs = (fsync as { intervalMs?: unknown }).intervalMs
  const ok =
    keys.length === 1 &&
    keys[0] === 'intervalMs' &&
    typeof intervalMs === 'number' &&
    Number.isInteger(intervalMs) &&
    intervalMs >= 1 &&
    intervalMs <= MAX_FSYNC_INTERVAL_MS
  if (!ok) throw invalid(explicit('persist.fsync', fsync), expected)
  return intervalMs
}
