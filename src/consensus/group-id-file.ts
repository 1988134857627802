/**
 * The group ID a joining member adopted, kept in its `dataDir` (`glue-group-id`, 16 hex digits and a newline) so that
 * after a restart it still knows which group it belongs to. Written atomically (temporary file, fsync, rename).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'

const FILE = 'glue-group-id'

/** The stored group ID, or undefined. */
export function readGroupId(dir: string): string | undefined {
  try {
    const text = readFileSync(join(dir, FILE), 'utf8').trim()
    return /^[0-9a-f]{16}$/.test(text) ? text : undefined
  } catch {
    return undefined
  }
}

/** Stores the group ID. */
export function writeGroupId(dir: string, groupId: string): void {
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `${FILE}.tmp`)
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, `${groupId}\n`)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, FILE))
}
