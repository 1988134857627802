/**
 * Persistent storage of the model layer: a crash-safe snapshot + append log of opaque byte records
 * ({@link SnapshotLog}), one per replica. It knows nothing of CRDTs.
 */
export { PersistError, type PersistErrorDetails } from './errors'
export { DEFAULT_FSYNC_INTERVAL_MS, type FsyncPolicy, MAX_FSYNC_INTERVAL_MS, type StoreOptions } from './options'
export { MAX_RECORD_BYTES } from './format'
export { MAX_PENDING_BYTES } from './log-writer'
export { type Loaded } from './recovery'
export { SnapshotLog } from './store'
