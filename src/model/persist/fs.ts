/**
 * The file operations the store uses: the {@link PersistFs} interface (node:fs/promises by default, replaceable in
 * tests to count writes and fsyncs or to fail at a chosen step), and {@link Files}, which runs them and turns every
 * failure into a {@link PersistError} naming the operation and the path.
 */
import * as fsp from 'node:fs/promises'

import { PersistError } from './errors'

/** An open file. node:fs/promises' FileHandle is one. */
export interface PersistFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>
  /** fsync(2): data and metadata. */
  sync(): Promise<void>
  /** fdatasync(2): data and the metadata needed to read it back (the size). */
  datasync(): Promise<void>
  truncate(length: number): Promise<void>
  stat(): Promise<{ size: number }>
  close(): Promise<void>
}

/** How a file is opened: `r` read only, `r+` read and write (must exist), `w` write (created or truncated). */
export type OpenMode = 'r' | 'r+' | 'w'

/** The file system operations of a store. */
export interface PersistFs {
  /** Creates the directory and its parents if they are missing; returns the first one it created, if any. */
  mkdir(path: string): Promise<string | undefined>
  /** Resolves symbolic links (the store's identity is its real directory). */
  realpath(path: string): Promise<string>
  open(path: string, mode: OpenMode): Promise<PersistFile>
  /** rename(2): atomically replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** Makes the directory's entries (creations, renames, deletions) durable: fsync of the directory itself. */
  syncDir(path: string): Promise<void>
}

/** The real file system. Directory fsync is skipped on Windows, which cannot open a directory as a file. */
export const nodeFs: PersistFs = {
  mkdir: (path) => fsp.mkdir(path, { recursive: true }),
  realpath: (path) => fsp.realpath(path),
  open: (path, mode) => fsp.open(path, mode),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  async syncDir(path) {
    if (process.platform === 'win32') return
    const dir = await fsp.open(path, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  },
}

/** Whether `err` is a PersistError caused by a missing file. */
export function isNotFound(err: unknown): boolean {
  return err instanceof PersistError && err.errno === 'ENOENT'
}

/** Runs `action`; a failure becomes a PersistError about `operation` on `path`. */
async function attempt<T>(operation: string, path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (err) {
    throw PersistError.from(operation, path, err)
  }
}

/** A {@link PersistFs} whose failures are PersistErrors, with the helpers the store needs. */
export class Files {
  constructor(readonly fs: PersistFs) {}

  /** Creates the directory and its parents if missing; returns the first one created, if any. */
  mkdir(path: string): Promise<string | undefined> {
    return attempt('create directory', path, () => this.fs.mkdir(path))
  }

  realpath(path: string): Promise<string> {
    return attempt('resolve', path, () => this.fs.realpath(path))
  }

  async open(path: string, mode: OpenMode): Promise<File> {
    return new File(path, await attempt('open', path, () => this.fs.open(path, mode)))
  }

  /** Opens an existing file; undefined if there is none. */
  async openIfExists(path: string, mode: OpenMode): Promise<File | undefined> {
    try {
      return await this.open(path, mode)
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  rename(from: string, to: string): Promise<void> {
    return attempt('rename', `${from} to ${to}`, () => this.fs.rename(from, to))
  }

  /** Renames `from` to `to` (replacing it) if `from` exists; returns whether it did. */
  async renameIfExists(from: string, to: string): Promise<boolean> {
    try {
      await this.rename(from, to)
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** Deletes the file if it exists; returns whether it did. */
  async removeIfExists(path: string): Promise<boolean> {
    try {
      await attempt('delete', path, () => this.fs.unlink(path))
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  syncDir(path: string): Promise<void> {
    return attempt('fsync directory', path, () => this.fs.syncDir(path))
  }

  /** Creates (or replaces) `path` with `chunks` as its content, fsyncs it and closes it. */
  async writeNewFile(path: string, chunks: readonly Uint8Array[]): Promise<void> {
    const file = await this.open(path, 'w')
    try {
      let position = 0
      for (const chunk of chunks) {
        await file.writeAll(chunk, position)
        position += chunk.length
      }
      await file.sync()
    } finally {
      await file.close()
    }
  }
}

/** An open file whose failures are PersistErrors naming its path. */
export class File {
  #closed = false

  constructor(
    readonly path: string,
    readonly handle: PersistFile,
  ) {}

  /** The file's size, bytes. */
  async size(): Promise<number> {
    return (await attempt('stat', this.path, () => this.handle.stat())).size
  }

  /** Reads `target.length` bytes at `position` into `target`; fails if the file ends first. */
  async readAll(target: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < target.length) {
      const { bytesRead } = await attempt('read', this.path, () =>
        this.handle.read(target, done, target.length - done, position + done),
      )
      if (bytesRead === 0) {
        throw PersistError.from('read', this.path, new Error('the file ended early (changed while it was read?)'))
      }
      done += bytesRead
    }
  }

  /** Writes all of `data` at `position` (repeating short writes). */
  async writeAll(data: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < data.length) {
      const { bytesWritten } = await attempt('write', this.path, () =>
        this.handle.write(data, done, data.length - done, position + done),
      )
      if (bytesWritten <= 0) throw PersistError.from('write', this.path, new Error('the write made no progress'))
      done += bytesWritten
    }
  }

  sync(): Promise<void> {
    return attempt('fsync', this.path, () => this.handle.sync())
  }

  datasync(): Promise<void> {
    return attempt('fdatasync', this.path, () => this.handle.datasync())
  }

  truncate(length: number): Promise<void> {
    return attempt('truncate', this.path, () => this.handle.truncate(length))
  }

  /** Closes the file; later calls do nothing. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await attempt('close', this.path, () => this.handle.close())
  }
}
