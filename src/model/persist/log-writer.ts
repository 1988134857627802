/**
 * Appending records to the current log file: group commit, backpressure and the fsync policy.
 *
 * - Batching: appends wait in a queue; one write (and, for `'always'`, one fdatasync) takes everything queued, so
 *   10 000 appends in one tick cost one write. While a write is in flight, new appends collect for the next one.
 * - Backpressure: at most {@link MAX_PENDING_BYTES} of framed records are queued or being written (a single larger
 *   record is let through alone); appends beyond that wait, in order, without being copied, until writes make room.
 * - Barriers: `hold()` marks the end of the queue; records after the mark are not written until `release()`, so
 *   `snapshot()` can write everything before it to the old log, then switch files (`rotate()`), then let the rest
 *   go to the new one.
 * - Failure: the first failed write or fsync rejects every queued append and makes the writer unusable.
 */
import { RECORD_FRAME_BYTES, frameRecord } from './format'
import type { File } from './fs'
import { PersistError } from './errors'
import { Fifo } from '../../util/fifo'

/** The most bytes (records with their frames) that are queued or being written at once: 16 MiB. */
export const MAX_PENDING_BYTES = 16 * 1024 * 1024

/** One append() call. */
interface Entry {
  /** Position in append order. */
  readonly seq: number
  /** The caller's record, until it is admitted into the queue. */
  record: Uint8Array | undefined
  /** Length and CRC followed by the record: a copy, made when admitted; dropped once written. */
  frame: Buffer | undefined
  /** Size of the frame, bytes. */
  readonly bytes: number
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

/** Waits for all records before `seq` to be written. */
interface DrainWaiter {
  readonly seq: number
  readonly resolve: () => void
  readonly reject: (err: Error) => void
}

/** Writes the records of one log file at a time (see the module comment). */
export class LogWriter {
  #log: File | undefined
  /** Offset of the log's end, where the next batch goes. */
  #end: number
  /** `'always'`, `'never'`, or the fsync interval in milliseconds. */
  readonly #fsync: 'always' | 'never' | number
  /** Admitted (framed) records waiting to be written, in order. */
  readonly #queue = new Fifo<Entry>()
  /** Records waiting for room in the queue, in order, after all queued ones. */
  readonly #blocked = new Fifo<Entry>()
  /** Records of the write in flight. */
  #inFlight: Entry[] = []
  /** Bytes queued or in flight. */
  #pendingBytes = 0
  #nextSeq = 0
  /** Every record before this one is written (per the fsync policy). */
  #writtenSeq = 0
  /** `hold()` marks, oldest first; records from the first one on wait. */
  readonly #barriers: number[] = []
  #drainWaiters: DrainWaiter[] = []
  #scheduled = false
  #writing = false
  /** Written but not fsynced. */
  #unsynced = false
  #timer: NodeJS.Timeout | undefined
  /** The last file operation: operations run one at a time. */
  #io: Promise<unknown> = Promise.resolve()
  #failure: PersistError | undefined

  constructor(log: File, end: number, fsync: 'always' | 'never' | number) {
    this.#log = log
    this.#end = end
    this.#fsync = fsync
  }

  /** The error that made the writer unusable, if any. */
  get failure(): PersistError | undefined {
    return this.#failure
  }

  /** Queues a record (1 byte .. 64 MiB, checked by the caller); resolves once written per the fsync policy. */
  append(record: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    return new Promise<void>((resolve, reject) => {
      const bytes = RECORD_FRAME_BYTES + record.length
      const entry: Entry = { seq: this.#nextSeq++, record, frame: undefined, bytes, resolve, reject }
      if (this.#blocked.size === 0 && this.#fits(bytes)) this.#admit(entry)
      else this.#blocked.push(entry)
      this.#kick()
    })
  }

  /** Marks the end of the queue: records appended from now on wait until {@link release}. Returns the mark. */
  hold(): number {
    this.#barriers.push(this.#nextSeq)
    return this.#nextSeq
  }

  /** Removes the oldest mark of {@link hold}. */
  release(): void {
    this.#barriers.shift()
    this.#kick()
  }

  /** Resolves when every record appended before mark `seq` is written; rejects if the writer fails first. */
  drained(seq: number): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (this.#writtenSeq >= seq) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.#drainWaiters.push({ seq, resolve, reject })
      this.#kick()
    })
  }

  /**
   * With no other file operation running: fsyncs and closes the current log, then replaces it with the one
   * `install` returns. (The caller holds a mark, so nothing is written meanwhile.)
   */
  rotate(install: () => Promise<{ log: File; end: number }>): Promise<void> {
    return this.#exclusive(async (log) => {
      await this.#syncNow(log)
      await log.close()
      const next = await install()
      this.#log = next.log
      this.#end = next.end
    })
  }

  /**
   * Makes the writer unusable with `err` (as a PersistError): every waiting append and drained() rejects with it,
   * and so do later ones. Returns the failure (the first one, if it had failed before).
   */
  fail(err: unknown): PersistError {
    if (this.#failure !== undefined) return this.#failure
    const failure = PersistError.from('write', this.#log?.path ?? 'the log', err)
    this.#failure = failure
    clearTimeout(this.#timer)
    this.#timer = undefined
    const entries = [...this.#inFlight, ...this.#queue.toArray(), ...this.#blocked.toArray()]
    this.#inFlight = []
    this.#queue.clear()
    this.#blocked.clear()
    for (const entry of entries) entry.reject(failure)
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const waiter of waiters) waiter.reject(failure)
    return failure
  }

  /**
   * Writes everything appended so far, fsyncs it and closes the file. If the writer had failed, only closes it
   * (ignoring errors). Rejects if the last writes or the fsync fail.
   */
  async close(): Promise<void> {
    if (this.#failure === undefined) await this.drained(this.#nextSeq).catch(() => undefined)
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#io
    const log = this.#log
    this.#log = undefined
    if (log === undefined) return
    if (this.#failure !== undefined) {
      await log.close().catch(() => undefined)
      return
    }
    try {
      await this.#syncNow(log)
    } catch (err) {
      throw this.fail(err)
    } finally {
      await log.close().catch(() => undefined)
    }
  }

  #fits(bytes: number): boolean {
    return this.#pendingBytes === 0 || this.#pendingBytes + bytes <= MAX_PENDING_BYTES
  }

  /** Moves a record into the queue: frames (copies) it and counts it as pending. */
  #admit(entry: Entry): void {
    const frame = Buffer.allocUnsafe(entry.bytes)
    frameRecord(entry.record as Uint8Array, frame, 0)
    entry.frame = frame
    entry.record = undefined
    this.#pendingBytes += entry.bytes
    this.#queue.push(entry)
  }

  #admitBlocked(): void {
    for (let next = this.#blocked.peek(); next !== undefined && this.#fits(next.bytes); next = this.#blocked.peek()) {
      this.#admit(this.#blocked.shift() as Entry)
    }
  }

  /** Whether the queue's first record may be written now (it is before the oldest mark). */
  #writable(): boolean {
    const next = this.#queue.peek()
    return next !== undefined && next.seq < (this.#barriers[0] ?? Infinity)
  }

  /** Starts the write loop in a later tick (so all appends of this one share the write) unless it runs. */
  #kick(): void {
    if (this.#scheduled || this.#writing || this.#failure !== undefined || !this.#writable()) return
    this.#scheduled = true
    setImmediate(() => void this.#writeLoop())
  }

  /** Writes batches until the queue holds nothing writable. */
  async #writeLoop(): Promise<void> {
    this.#scheduled = false
    this.#writing = true
    try {
      while (this.#failure === undefined && this.#writable()) {
        const limit = this.#barriers[0] ?? Infinity
        const batch: Entry[] = []
        for (let next = this.#queue.peek(); next !== undefined && next.seq < limit; next = this.#queue.peek()) {
          batch.push(this.#queue.shift() as Entry)
        }
        this.#inFlight = batch
        try {
          await this.#exclusive((log) => this.#write(log, batch))
        } catch (err) {
          this.fail(err)
          return
        }
        this.#inFlight = []
        for (const entry of batch) {
          this.#pendingBytes -= entry.bytes
          entry.resolve()
        }
        this.#writtenSeq = batch[batch.length - 1].seq + 1
        this.#resolveDrained()
        this.#admitBlocked()
      }
    } finally {
      this.#writing = false
    }
  }

  /** One write of the whole batch at the end of the log, then the fsync the policy asks for. */
  async #write(log: File, batch: Entry[]): Promise<void> {
    const frames = batch.map((entry) => entry.frame as Buffer)
    for (const entry of batch) entry.frame = undefined
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames)
    await log.writeAll(data, this.#end)
    this.#end += data.length
    this.#unsynced = true
    if (this.#fsync === 'always') await this.#syncNow(log)
    else if (typeof this.#fsync === 'number') this.#armTimer(this.#fsync)
  }

  #resolveDrained(): void {
    const ready = this.#drainWaiters.filter((waiter) => waiter.seq <= this.#writtenSeq)
    if (ready.length === 0) return
    this.#drainWaiters = this.#drainWaiters.filter((waiter) => waiter.seq > this.#writtenSeq)
    for (const waiter of ready) waiter.resolve()
  }

  /** Schedules an fsync `ms` from now, unless one is scheduled. The timer does not keep the process alive. */
  #armTimer(ms: number): void {
    if (this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#exclusive((log) => this.#syncNow(log)).catch((err: unknown) => this.fail(err))
    }, ms)
    this.#timer.unref()
  }

  async #syncNow(log: File): Promise<void> {
    if (!this.#unsynced) return
    this.#unsynced = false
    await log.datasync()
  }

  /** Runs `operation` on the current log after the previous file operation has finished. */
  #exclusive<T>(operation: (log: File) => Promise<T>): Promise<T> {
    const run = this.#io.then(() => {
      if (this.#failure !== undefined) throw this.#failure
      if (this.#log === undefined) throw new PersistError('the log is closed', { path: '', operation: 'write' })
      return operation(this.#log)
    })
    this.#io = run.catch(() => undefined)
    return run
  }
}
