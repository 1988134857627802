/**
 * The error of the persistent store: {@link PersistError}, code `ERR_GLUE_PERSIST`.
 */
import { ErrorCode, GlueError, type GlueErrorOptions } from '../../errors'

/** What a {@link PersistError} carries besides its message. */
export interface PersistErrorDetails extends GlueErrorOptions {
  /** The file or directory the failed operation was about. */
  path: string
  /** The operation that failed, e.g. `write`, `fsync`, `rename`, `open`. */
  operation: string
  /** The system error code of the cause (e.g. `ENOSPC`, `EACCES`, `EIO`); undefined when there is none. */
  errno?: string
}

/**
 * A persistent store could not read or write its files (or found files it must not touch, such as ones written by a
 * newer version of glue). The message names the operation, the path and the system error code. Once a store has
 * failed with this error it is unusable: every later `append()` and `snapshot()` rejects with it; `close()` still
 * works. Code `ERR_GLUE_PERSIST`.
 */
export class PersistError extends GlueError {
  /** The file or directory the failed operation was about. */
  readonly path: string
  /** The operation that failed, e.g. `write`, `fsync`, `rename`, `open`. */
  readonly operation: string
  /** The system error code of the cause (e.g. `ENOSPC`, `EACCES`, `EIO`); undefined when there is none. */
  readonly errno: string | undefined

  constructor(message: string, details: PersistErrorDetails) {
    super(ErrorCode.PERSIST, message, details.cause === undefined ? undefined : { cause: details.cause })
    this.path = details.path
    this.operation = details.operation
    this.errno = details.errno
  }

  /**
   * Wraps the error of a failed file operation: `cannot <operation> <path>: <ERRNO> (<cause's message>)`. A
   * PersistError is returned as it is.
   */
  static from(operation: string, path: string, cause: unknown): PersistError {
    if (cause instanceof PersistError) return cause
    const code = (cause as { code?: unknown } | null | undefined)?.code
    const errno = typeof code === 'string' && code.length > 0 ? code : undefined
    const text = cause instanceof Error ? cause.message : String(cause)
    const message = `cannot ${operation} ${path}: ${errno ?? 'no system error code'} (${text})`
    return new PersistError(message, { path, operation, errno, cause })
  }
}
