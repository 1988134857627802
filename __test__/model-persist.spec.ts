import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as zlib from 'node:zlib'

import test, { type ExecutionContext } from 'ava'

import { ErrorCode, GlueError, InvalidOptionError } from '../src/errors'
import {
  DEFAULT_FSYNC_INTERVAL_MS,
  type Loaded,
  MAX_PENDING_BYTES,
  MAX_RECORD_BYTES,
  PersistError,
  SnapshotLog,
  type StoreOptions,
} from '../src/model/persist'
import { crc32 } from '../src/model/persist/crc32'
import {
  decodeLogHeader,
  decodeSnapshotHeader,
  encodeLogHeader,
  encodeSnapshotHeader,
  frameRecord,
  LOG_HEADER_BYTES,
  RECORD_FRAME_BYTES,
  SNAPSHOT_HEADER_BYTES,
} from '../src/model/persist/format'
import { nodeFs, type OpenMode, type PersistFile, type PersistFs } from '../src/model/persist/fs'
import { openSnapshotLog } from '../src/model/persist/store'

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** A fresh directory under the system's temporary directory, removed after the test. */
async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'glue-persist-'))
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const str = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes)

/** A Loaded in readable form. */
function view(loaded: Loaded): { snapshot: string | undefined; records: string[]; dropped: number; corrupt: boolean } {
  return {
    snapshot: str(loaded.snapshot),
    records: loaded.records.map((r) => str(r) as string),
    dropped: loaded.droppedBytes,
    corrupt: loaded.corruptSnapshot,
  }
}

const state = (snapshot: string | undefined, records: string[], dropped = 0, corrupt = false) => ({
  snapshot,
  records,
  dropped,
  corrupt,
})

/** Opens, returns the loaded state in readable form, closes. */
async function load(options: StoreOptions): Promise<ReturnType<typeof view>> {
  const { store, loaded } = await SnapshotLog.open(options)
  await store.close()
  return view(loaded)
}

/** The files of the directory (sorted). */
async function listing(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort()
}

interface Op {
  op: string
  path: string
  bytes?: number
}

/** Thrown by {@link TestFs} once it has "crashed". */
class Crash extends Error {
  readonly code = 'ECRASH'
}

/**
 * A PersistFs over the real one that records every operation, can fail chosen ones, can hold writes until the test
 * lets them go, and can "crash": from mutation number `crashAt` on (counting open for writing, write, fsync, truncate,
 * rename, delete and mkdir) every operation fails without effect (a write in progress writes half its bytes first),
 * as if the process had died there. Closing files still works, so no descriptors leak.
 */
class TestFs implements PersistFs {
  readonly ops: Op[] = []
  mutations = 0
  crashAt = Infinity
  /** Returns an error to fail the operation with. */
  failWith: ((op: Op) => Error | undefined) | undefined
  /** Returns a promise the operation waits for before it runs. */
  gate: ((op: Op) => Promise<void> | undefined) | undefined
  readonly #listeners: { match: (op: Op) => boolean; resolve: () => void }[] = []

  constructor(readonly real: PersistFs = nodeFs) {}

  /** Resolves after the next operation that matches. */
  next(match: (op: Op) => boolean): Promise<void> {
    return new Promise((resolve) => this.#listeners.push({ match, resolve }))
  }

  count(op: string, path?: string): number {
    return this.ops.filter((o) => o.op === op && (path === undefined || o.path === path)).length
  }

  get crashed(): boolean {
    return this.mutations > this.crashAt
  }

  async #run<T>(op: Op, mutation: boolean, action: (crashing: boolean) => Promise<T>): Promise<T> {
    const crashing = mutation && this.mutations === this.crashAt
    if (this.crashed) throw new Crash(`crashed before ${op.op} ${op.path}`)
    if (mutation) this.mutations++
    await this.gate?.(op)
    const failure = this.failWith?.(op)
    if (failure !== undefined) throw failure
    if (crashing && op.op !== 'write') throw new Crash(`crash at ${op.op} ${op.path}`)
    const result = await action(crashing)
    if (crashing) throw new Crash(`crash in ${op.op} ${op.path}`)
    this.ops.push(op)
    for (const listener of this.#listeners.filter((l) => l.match(op))) {
      this.#listeners.splice(this.#listeners.indexOf(listener), 1)
      listener.resolve()
    }
    return result
  }

  mkdir(path: string) {
    return this.#run({ op: 'mkdir', path }, true, () => this.real.mkdir(path))
  }

  realpath(path: string) {
    return this.#run({ op: 'realpath', path }, false, () => this.real.realpath(path))
  }

  async open(path: string, mode: OpenMode): Promise<PersistFile> {
    const file = await this.#run({ op: `open ${mode}`, path }, mode !== 'r', () => this.real.open(path, mode))
    return {
      read: (buffer, offset, length, position) =>
        this.#run({ op: 'read', path }, false, () => file.read(buffer, offset, length, position)),
      write: (buffer, offset, length, position) =>
        this.#run({ op: 'write', path, bytes: length }, true, (crashing) =>
          file.write(buffer, offset, crashing ? Math.floor(length / 2) : length, position),
        ),
      sync: () => this.#run({ op: 'sync', path }, true, () => file.sync()),
      datasync: () => this.#run({ op: 'datasync', path }, true, () => file.datasync()),
      truncate: (length) => this.#run({ op: 'truncate', path }, true, () => file.truncate(length)),
      stat: () => this.#run({ op: 'stat', path }, false, () => file.stat()),
      close: () => file.close(),
    }
  }

  rename(from: string, to: string) {
    return this.#run({ op: 'rename', path: `${from} -> ${to}` }, true, () => this.real.rename(from, to))
  }

  unlink(path: string) {
    return this.#run({ op: 'unlink', path }, true, () => this.real.unlink(path))
  }

  syncDir(path: string) {
    return this.#run({ op: 'syncDir', path }, true, () => this.real.syncDir(path))
  }
}

function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated failure`), { code })
}

/** Settles every promise; returns which rejected. */
async function outcomes(promises: Promise<unknown>[]): Promise<('ok' | unknown)[]> {
  return Promise.all(promises.map((p) => p.then(() => 'ok' as const, (err: unknown) => err)))
}

// ---------------------------------------------------------------------------------------------------------------
// Format

test('crc32 matches zlib (IEEE) on many lengths and continues a running CRC', (t) => {
  t.is(crc32(text('123456789')), 0xcbf43926)
  for (let n = 0; n < 200; n++) {
    const data = randomBytes(n * 3 + (n % 7))
    t.is(crc32(data), zlib.crc32(data))
  }
  const a = randomBytes(1001)
  const b = randomBytes(333)
  t.is(crc32(b, crc32(a)), zlib.crc32(Buffer.concat([a, b])))
})

test('headers round trip and reject damage', (t) => {
  const payload = text('hello')
  const header = encodeSnapshotHeader(7, payload)
  t.is(header.length, SNAPSHOT_HEADER_BYTES)
  t.deepEqual(decodeSnapshotHeader(header), { generation: 7, hasSnapshot: true, length: 5, crc: crc32(payload) })
  t.like(decodeSnapshotHeader(encodeSnapshotHeader(3, undefined)), { generation: 3, hasSnapshot: false, length: 0 })
  const damaged = Buffer.from(header)
  damaged[14] ^= 1
  t.like(decodeSnapshotHeader(damaged), { problem: 'corrupt' })
  t.like(decodeSnapshotHeader(header.subarray(0, 20)), { problem: 'corrupt' })
  const newer = Buffer.from(header)
  newer.writeUInt16LE(2, 8)
  t.deepEqual(decodeSnapshotHeader(newer), { problem: 'newer', version: 2 })

  const log = encodeLogHeader(2 ** 40)
  t.is(log.length, LOG_HEADER_BYTES)
  t.deepEqual(decodeLogHeader(log), { generation: 2 ** 40 })
  t.like(decodeLogHeader(Buffer.from('GLUESNAP-not-a-log-at-all')), { problem: 'corrupt' })
  const frame = Buffer.alloc(RECORD_FRAME_BYTES + 3)
  t.is(frameRecord(text('abc'), frame, 0), frame.length)
  t.is(frame.readUInt32LE(0), 3)
  t.is(frame.readUInt32LE(4), crc32(text('abc')))
})

// ---------------------------------------------------------------------------------------------------------------
// Round trips

test('round trip: a snapshot and many records of many sizes; reopening loads the same', async (t) => {
  const dir = await tempDir(t)
  const options = { dir, name: 'map-config' }
  const { store, loaded } = await SnapshotLog.open(options)
  t.deepEqual(view(loaded), state(undefined, []))
  t.is(store.logBytes, 0)

  const snapshot = randomBytes(1 << 20)
  await store.snapshot(snapshot)
  const records = Array.from({ length: 2000 }, (_, i) => randomBytes(1 + ((i * 7919) % 3000)))
  records.push(randomBytes(5 << 20), randomBytes(1))
  await Promise.all(records.map((r) => store.append(r)))
  const bytes = records.reduce((sum, r) => sum + RECORD_FRAME_BYTES + r.length, 0)
  t.is(store.logBytes, bytes)
  await store.close()
  t.deepEqual(await listing(dir), ['map-config.log', 'map-config.log.prev', 'map-config.snapshot'])

  for (let round = 0; round < 2; round++) {
    const again = await SnapshotLog.open(options)
    t.deepEqual(Buffer.from(again.loaded.snapshot as Uint8Array), snapshot)
    t.is(again.loaded.records.length, records.length)
    t.true(again.loaded.records.every((r, i) => Buffer.compare(r, records[i]) === 0))
    t.is(again.loaded.droppedBytes, 0)
    t.false(again.loaded.corruptSnapshot)
    t.true(again.loaded.records.every((r) => r.constructor === Uint8Array))
    t.is(again.store.logBytes, bytes)
    await again.store.close()
  }
})

test('records without any snapshot (generation 0), and an empty snapshot is a snapshot', async (t) => {
  const dir = await tempDir(t)
  const options = { dir, name: 's' }
  const { store } = await SnapshotLog.open(options)
  await store.append(text('a'))
  await store.append(text('b'))
  await store.close()
  t.deepEqual(await load(options), state(undefined, ['a', 'b']))

  const again = await SnapshotLog.open(options)
  await again.store.snapshot(new Uint8Array(0))
  await again.store.close()
  t.deepEqual(await load(options), state('', []))
})

test('appends made while snapshot() runs go into the new log; snapshots run in order', async (t) => {
  const dir = await tempDir(t)
  const options = { dir, name: 'm' }
  const { store } = await SnapshotLog.open(options)
  const done = [
    store.append(text('before-1')),
    store.append(text('before-2')),
    store.snapshot(text('S1')),
    store.append(text('after-1')),
  ]
  t.is(store.logBytes, RECORD_FRAME_BYTES + 'after-1'.length, 'logBytes restarts at the snapshot() call')
  done.push(store.snapshot(text('S2')), store.append(text('after-2')), store.append(text('after-3')))
  t.deepEqual(await outcomes(done), done.map(() => 'ok'))
  await store.close()
  t.deepEqual(await load(options), state('S2', ['after-2', 'after-3']))
})

test('stores with different names share a directory; a second open of the same store is refused', async (t) => {
  const dir = await tempDir(t)
  const a = await SnapshotLog.open({ dir, name: 'a' })
  const b = await SnapshotLog.open({ dir: join(dir, '.'), name: 'a.snapshot' })
  await a.store.append(text('A'))
  await b.store.append(text('B'))
  const err = await t.throwsAsync(SnapshotLog.open({ dir: `${dir}/`, name: 'a' }), { instanceOf: PersistError })
  t.regex(err.message, /already open/)
  await a.store.close()
  await b.store.close()
  t.deepEqual((await load({ dir, name: 'a' })).records, ['A'])
  t.deepEqual((await load({ dir, name: 'a.snapshot' })).records, ['B'])
})

test('open creates missing parent directories', async (t) => {
  const dir = join(await tempDir(t), 'x', 'y', 'z')
  const { store } = await SnapshotLog.open({ dir, name: 'n' })
  await store.append(text('1'))
  await store.close()
  t.deepEqual(await load({ dir, name: 'n' }), state(undefined, ['1']))
})

test('after close(), append and snapshot reject; close is idempotent', async (t) => {
  const dir = await tempDir(t)
  const { store } = await SnapshotLog.open({ dir, name: 'c' })
  const pending = store.append(text('last'))
  const closing = store.close()
  t.is(store.close(), closing)
  await closing
  await pending
  await t.throwsAsync(store.append(text('x')), { code: ErrorCode.CLOSED })
  await t.throwsAsync(store.snapshot(text('x')), { code: ErrorCode.CLOSED })
  t.deepEqual((await load({ dir, name: 'c' })).records, ['last'])
})

// ---------------------------------------------------------------------------------------------------------------
// Torn and damaged logs

async function storeWith(dir: string, records: string[], snapshot?: string): Promise<void> {
  const { store } = await SnapshotLog.open({ dir, name: 't' })
  if (snapshot !== undefined) await store.snapshot(text(snapshot))
  for (const r of records) await store.append(text(r))
  await store.close()
}

test('a torn tail (the log cut inside its last record) is dropped, counted and cut off', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['one', 'two', 'three'], 'S')
  const log = join(dir, 't.log')
  const { size } = await fs.stat(log)
  await fs.truncate(log, size - 3)
  t.deepEqual(await load({ dir, name: 't' }), state('S', ['one', 'two'], RECORD_FRAME_BYTES + 'three'.length - 3))
  t.is((await fs.stat(log)).size, size - RECORD_FRAME_BYTES - 'three'.length, 'the tail is gone from the file')
  t.deepEqual(await load({ dir, name: 't' }), state('S', ['one', 'two']))

  // Cut inside a frame header, too.
  await fs.truncate(log, LOG_HEADER_BYTES + RECORD_FRAME_BYTES + 3 + 5)
  t.deepEqual(await load({ dir, name: 't' }), state('S', ['one'], 5))
})

test('garbage or zeros after the last record are dropped; appending continues after the valid records', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['a', 'b'])
  const log = join(dir, 't.log')
  await fs.appendFile(log, Buffer.from([1, 2, 3, 4, 5]))
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, ['a', 'b'], 5))
  await fs.appendFile(log, Buffer.alloc(4096))
  const { store, loaded } = await SnapshotLog.open({ dir, name: 't' })
  t.deepEqual(view(loaded), state(undefined, ['a', 'b'], 4096))
  await store.append(text('c'))
  await store.close()
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, ['a', 'b', 'c']))
})

test('a record with a bad CRC ends the log there: it and everything after it are dropped', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['first', 'second', 'third'])
  const log = join(dir, 't.log')
  const bytes = await fs.readFile(log)
  const second = LOG_HEADER_BYTES + RECORD_FRAME_BYTES + 'first'.length
  bytes[second + RECORD_FRAME_BYTES + 2] ^= 0xff
  await fs.writeFile(log, bytes)
  const dropped = bytes.length - second
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, ['first'], dropped))
})

test('a log with a damaged header is replaced and its bytes counted as dropped', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['x', 'y'])
  const log = join(dir, 't.log')
  const bytes = await fs.readFile(log)
  bytes[13] ^= 1
  await fs.writeFile(log, bytes)
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, [], bytes.length))
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, []))
})

test('files written by a newer format version are refused and left untouched', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['x'], 'S')
  for (const file of ['t.log', 't.snapshot']) {
    const path = join(dir, file)
    const original = await fs.readFile(path)
    const newer = Buffer.from(original)
    newer.writeUInt16LE(9, 8)
    await fs.writeFile(path, newer)
    const err = await t.throwsAsync(SnapshotLog.open({ dir, name: 't' }), { instanceOf: PersistError })
    t.regex(err.message, /newer version.*format 9/)
    t.true(err.message.includes(path))
    t.deepEqual(await fs.readFile(path), newer)
    await fs.writeFile(path, original)
  }
  t.deepEqual(await load({ dir, name: 't' }), state('S', ['x']))
})

// ---------------------------------------------------------------------------------------------------------------
// Corrupt snapshots

async function corruptByte(path: string, offset: number): Promise<void> {
  const bytes = await fs.readFile(path)
  bytes[offset] ^= 0x40
  await fs.writeFile(path, bytes)
}

test('a corrupt snapshot falls back to the previous generation and its records, and stays usable', async (t) => {
  const dir = await tempDir(t)
  const options = { dir, name: 'f' }
  const { store } = await SnapshotLog.open(options)
  await store.snapshot(text('A'))
  await store.append(text('a1'))
  await store.snapshot(text('B = A + a1'))
  await store.append(text('b1'))
  await store.close()
  await corruptByte(join(dir, 'f.snapshot'), SNAPSHOT_HEADER_BYTES + 2)

  const reopened = await SnapshotLog.open(options)
  t.deepEqual(view(reopened.loaded), state('A', ['a1', 'b1'], 0, true))
  await reopened.store.append(text('b2'))
  await reopened.store.close()
  t.deepEqual(await load(options), state('A', ['a1', 'b1', 'b2'], 0, true), 'reopening loads the same')

  const again = await SnapshotLog.open(options)
  await again.store.snapshot(text('C'))
  await again.store.append(text('c1'))
  await again.store.close()
  t.deepEqual(await load(options), state('C', ['c1']))
})

test('a corrupt first snapshot falls back to generation 0 (no snapshot, its records)', async (t) => {
  const dir = await tempDir(t)
  const { store } = await SnapshotLog.open({ dir, name: 't' })
  await store.append(text('z1'))
  await store.snapshot(text('A'))
  await store.append(text('a1'))
  await store.close()
  await corruptByte(join(dir, 't.snapshot'), 30) // the payload CRC, in the header
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, ['z1', 'a1'], 0, true))
})

test('a corrupt snapshot without its previous generation: the store starts empty, says so, and works', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['a1'], 'A')
  await fs.rm(join(dir, 't.log.prev'))
  await corruptByte(join(dir, 't.snapshot'), 14) // the generation: the header CRC no longer matches
  const { store, loaded } = await SnapshotLog.open({ dir, name: 't' })
  t.deepEqual(view(loaded), state(undefined, [], 0, true))
  await store.append(text('fresh'))
  await store.close()
  t.deepEqual(await load({ dir, name: 't' }), state(undefined, ['fresh']))
})

test('a truncated snapshot file is corrupt too', async (t) => {
  const dir = await tempDir(t)
  await storeWith(dir, ['a1'], 'AAAA')
  const { store } = await SnapshotLog.open({ dir, name: 't' })
  await store.snapshot(text('BBBB'))
  await store.close()
  const path = join(dir, 't.snapshot')
  await fs.truncate(path, (await fs.stat(path)).size - 1)
  t.deepEqual(await load({ dir, name: 't' }), state('AAAA', ['a1'], 0, true))
})

// ---------------------------------------------------------------------------------------------------------------
// Crashes

/** The old state of the crash tests: snapshot 'OLD' + records r1, r2, in a store left open on `testFs`. */
async function oldState(dir: string, testFs: TestFs): Promise<SnapshotLog> {
  const { store } = await openSnapshotLog({ dir, name: 'c', fsync: 'always' }, testFs)
  await store.append(text('r0'))
  await store.snapshot(text('OLD'))
  await store.append(text('r1'))
  await store.append(text('r2'))
  return store
}

const OLD = state('OLD', ['r1', 'r2'])
const NEW = state('NEW', [])

test('a crash at every step of snapshot() leaves the old or the new state, and recovery is repeatable', async (t) => {
  // How many file mutations a whole snapshot() makes.
  const probeDir = await tempDir(t)
  const probe = new TestFs()
  const probeStore = await oldState(probeDir, probe)
  const before = probe.mutations
  await probeStore.snapshot(text('NEW'))
  const steps = probe.mutations - before
  await probeStore.close()
  t.true(steps >= 12, `snapshot() made ${steps} mutations`)

  // Crash after k mutations; k = steps crashes the write of the append made during the snapshot (half of it is
  // written), k = steps + 2 does not crash at all (the write and the fdatasync of that append come after it).
  const seen: string[] = []
  for (let k = 0; k <= steps + 2; k++) {
    const dir = await tempDir(t)
    const testFs = new TestFs()
    const store = await oldState(dir, testFs)
    testFs.crashAt = testFs.mutations + k
    const result = await outcomes([store.snapshot(text('NEW')), store.append(text('during'))])
    await store.close() // the "dead" store still releases its files
    t.is(result[0] instanceof PersistError, k < steps, `step ${k}`)
    if (k < steps) t.true((result[0] as PersistError).cause instanceof Crash)
    t.is(result[1] === 'ok', k === steps + 2, `step ${k}`)

    const after = await load({ dir, name: 'c' })
    if (k < steps) {
      t.true([OLD, NEW].some((s) => JSON.stringify(s) === JSON.stringify(after)), `step ${k}: ${JSON.stringify(after)}`)
    } else if (k === steps) {
      t.deepEqual(after, state('NEW', [], Math.floor((RECORD_FRAME_BYTES + 'during'.length) / 2)))
    } else {
      t.deepEqual(after, state('NEW', ['during']), `step ${k}: the append is written before its fdatasync`)
    }
    seen.push(after.snapshot === 'OLD' ? 'old' : 'new')
    t.deepEqual(await load({ dir, name: 'c' }), { ...after, dropped: 0 }, `step ${k}: reopening loads the same`)
    const files = await listing(dir)
    t.false(files.some((f) => f.endsWith('.tmp')), `step ${k}: no temporaries left: ${files.join(' ')}`)
  }
  // Old up to the commit (the rename of the new snapshot), new from there on.
  const firstNew = seen.indexOf('new')
  t.true(firstNew > 0)
  t.deepEqual(seen, seen.map((_, i) => (i < firstNew ? 'old' : 'new')))
})

test('a crash during recovery from any half-done snapshot() still recovers to the same state', async (t) => {
  const probe = new TestFs()
  const probeStore = await oldState(await tempDir(t), probe)
  const before = probe.mutations
  await probeStore.snapshot(text('NEW'))
  const steps = probe.mutations - before
  await probeStore.close()

  for (let k = 0; k < steps; k++) {
    // Leave the files as a crash at step k does; remember what recovery makes of them.
    const dir = await tempDir(t)
    const copy = join(dir, 'copy')
    const work = join(dir, 'work')
    const crashFs = new TestFs()
    const store = await oldState(copy, crashFs)
    crashFs.crashAt = crashFs.mutations + k
    await outcomes([store.snapshot(text('NEW'))])
    await store.close()
    const expected = await (async () => {
      await fs.cp(copy, work, { recursive: true })
      const result = await load({ dir: work, name: 'c' })
      await fs.rm(work, { recursive: true })
      return result
    })()
    // Now crash recovery itself after j mutations, for every j, then recover for real.
    for (let j = 0; ; j++) {
      await fs.cp(copy, work, { recursive: true })
      const recoveryFs = new TestFs()
      recoveryFs.crashAt = j
      const opened = await openSnapshotLog({ dir: work, name: 'c' }, recoveryFs).catch((err: unknown) => err)
      const finished = !(opened instanceof Error)
      if (finished) await (opened as { store: SnapshotLog }).store.close()
      else t.true(opened instanceof PersistError && opened.cause instanceof Crash, String(opened))
      t.deepEqual(await load({ dir: work, name: 'c' }), expected, `snapshot step ${k}, recovery step ${j}`)
      await fs.rm(work, { recursive: true })
      if (finished || j > 40) break
    }
  }
})

/** Writes a store's files by hand. */
async function writeFiles(dir: string, files: Record<string, Uint8Array[]>): Promise<void> {
  for (const [name, chunks] of Object.entries(files)) await fs.writeFile(join(dir, name), Buffer.concat(chunks))
}

const snapshotFile = (generation: number, payload: string | undefined): Uint8Array[] =>
  payload === undefined
    ? [encodeSnapshotHeader(generation, undefined)]
    : [encodeSnapshotHeader(generation, text(payload)), text(payload)]

function logFile(generation: number, records: string[]): Uint8Array[] {
  return [
    encodeLogHeader(generation),
    ...records.map((r) => {
      const frame = Buffer.alloc(RECORD_FRAME_BYTES + r.length)
      frameRecord(text(r), frame, 0)
      return frame
    }),
  ]
}

test('hand-made crash states of snapshot() recover to the old or the new state', async (t) => {
  // Generation 1 ('OLD' + r1, r2) being replaced by generation 2 ('NEW'); generation 0 had record r0.
  const gen0 = { 'c.log.prev': logFile(0, ['r0']) }
  const complete1 = { 'c.snapshot': snapshotFile(1, 'OLD'), 'c.log': logFile(1, ['r1', 'r2']), ...gen0 }
  const cases: [string, Record<string, Uint8Array[]>, ReturnType<typeof state>, string[]][] = [
    [
      'temporaries left (torn new snapshot, its log)',
      { ...complete1, 'c.snapshot.tmp': [snapshotFile(2, 'NEW')[0]], 'c.log.tmp': logFile(2, []) },
      OLD,
      ['c.log', 'c.log.prev', 'c.snapshot'],
    ],
    [
      'the old log moved to .prev',
      { 'c.snapshot': snapshotFile(1, 'OLD'), 'c.log.prev': logFile(1, ['r1', 'r2']), 'c.log.tmp': logFile(2, []) },
      OLD,
      ['c.log', 'c.snapshot'],
    ],
    [
      'the old snapshot and log both moved to .prev',
      {
        'c.snapshot.prev': snapshotFile(1, 'OLD'),
        'c.log.prev': logFile(1, ['r1', 'r2']),
        'c.snapshot.tmp': snapshotFile(2, 'NEW'),
      },
      OLD,
      ['c.log', 'c.snapshot'],
    ],
    [
      'the new snapshot without its log (the old log still in place)',
      { ...complete1, 'c.snapshot': snapshotFile(2, 'NEW') },
      NEW,
      ['c.log', 'c.snapshot'], // log 0 in .prev is not generation 1's: it goes
    ],
    [
      'the new snapshot, the old generation in .prev, no log',
      {
        'c.snapshot': snapshotFile(2, 'NEW'),
        'c.snapshot.prev': snapshotFile(1, 'OLD'),
        'c.log.prev': logFile(1, ['r1', 'r2']),
        'c.log.tmp': logFile(2, []),
      },
      NEW,
      ['c.log', 'c.log.prev', 'c.snapshot', 'c.snapshot.prev'],
    ],
    ['only an old log of generation 0', { 'c.log.prev': logFile(0, ['r0']) }, state(undefined, ['r0']), ['c.log']],
    ['nothing at all', {}, state(undefined, []), ['c.log']],
  ]
  for (const [title, files, expected, after] of cases) {
    const dir = await tempDir(t)
    await writeFiles(dir, files)
    t.deepEqual(await load({ dir, name: 'c' }), expected, title)
    t.deepEqual(await listing(dir), after, title)
    t.deepEqual(await load({ dir, name: 'c' }), expected, `${title}, reopened`)
  }
})

test('a crash in the middle of an append leaves a prefix of the records', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'p', fsync: 'always' }, testFs)
  await store.append(text('kept'))
  testFs.crashAt = testFs.mutations // the next write writes half and dies
  const result = await outcomes([store.append(text('torn-1-longer')), store.append(text('torn-2'))])
  t.true(result.every((r) => r instanceof PersistError))
  await store.close()
  const after = await load({ dir, name: 'p' })
  t.deepEqual(after.records, ['kept'])
  t.is(after.dropped, Math.floor((2 * RECORD_FRAME_BYTES + 13 + 6) / 2))
})

// ---------------------------------------------------------------------------------------------------------------
// Batching, backpressure, fsync policies

test('10 000 appends in one tick are one write (and one fdatasync with fsync: always)', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'b', fsync: 'always' }, testFs)
  const log = join(dir, 'b.log')
  const writes = testFs.count('write', log)
  const done = Array.from({ length: 10_000 }, (_, i) => store.append(text(`record ${i}`)))
  await Promise.all(done)
  t.is(testFs.count('write', log) - writes, 1)
  t.is(testFs.count('datasync', log), 1)
  await store.close()
  const after = await load({ dir, name: 'b' })
  t.is(after.records.length, 10_000)
  t.is(after.records[9_999], 'record 9999')
})

test("fsync 'always': append() resolves only after the write and its fdatasync", async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'a', fsync: 'always' }, testFs)
  const log = join(dir, 'a.log')
  for (let i = 0; i < 3; i++) {
    await store.append(text(`r${i}`))
    testFs.ops.push({ op: 'resolved', path: log })
  }
  const sequence = testFs.ops.filter((o) => o.path === log && ['write', 'datasync', 'resolved'].includes(o.op))
  t.deepEqual(
    sequence.map((o) => o.op),
    ['write', 'datasync', 'resolved', 'write', 'datasync', 'resolved', 'write', 'datasync', 'resolved'],
  )
  await store.close()
})

test("fsync 'never': appends are not fsynced until close()", async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'n', fsync: 'never' }, testFs)
  const log = join(dir, 'n.log')
  for (let i = 0; i < 5; i++) await store.append(text(`r${i}`))
  t.is(testFs.count('write', log), 5)
  t.is(testFs.count('datasync', log) + testFs.count('sync', log), 0)
  await store.close()
  t.is(testFs.count('datasync', log), 1, 'close() fsyncs')
})

test('fsync { intervalMs }: appends resolve when written; one fdatasync follows for the interval', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'i', fsync: { intervalMs: 50 } }, testFs)
  const log = join(dir, 'i.log')
  const synced = testFs.next((o) => o.op === 'datasync' && o.path === log)
  // The timer is armed when the write completes; no timer can run before append()'s continuation.
  await store.append(text('one'))
  t.is(testFs.count('datasync', log), 0, 'not yet fsynced when append() resolves')
  await Promise.all(Array.from({ length: 100 }, (_, i) => store.append(text(`more ${i}`))))
  await synced
  t.is(testFs.count('write', log), 2)
  await store.close()
  // One fsync per interval that saw writes; close() fsyncs what is left: 101 appends, two writes, one or two fsyncs.
  const syncs = testFs.count('datasync', log)
  t.true(syncs === 1 || syncs === 2, `${syncs} fsyncs`)
})

test('the default fsync policy is an interval of 100 ms', async (t) => {
  t.is(DEFAULT_FSYNC_INTERVAL_MS, 100)
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'd' }, testFs)
  const log = join(dir, 'd.log')
  const synced = testFs.next((o) => o.op === 'datasync' && o.path === log)
  await store.append(text('x'))
  t.is(testFs.count('datasync', log), 0)
  await synced
  await store.close()
})

test('snapshot() fsyncs the temporary files and the directory whatever the policy', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'y', fsync: 'never' }, testFs)
  await store.append(text('x'))
  const from = testFs.ops.length
  await store.snapshot(text('S'))
  const ops = testFs.ops.slice(from).map((o) => `${o.op} ${o.path.replaceAll(`${dir}/`, '')}`)
  t.deepEqual(ops, [
    'datasync y.log',
    'open w y.snapshot.tmp',
    'write y.snapshot.tmp', // header
    'write y.snapshot.tmp', // payload
    'sync y.snapshot.tmp',
    'open w y.log.tmp',
    'write y.log.tmp',
    'sync y.log.tmp',
    'rename y.log -> y.log.prev', // (no snapshot to move to .prev in generation 0; no .prev to delete)
    'rename y.snapshot.tmp -> y.snapshot',
    `syncDir ${dir}`,
    'rename y.log.tmp -> y.log',
    `syncDir ${dir}`,
    'open r+ y.log',
  ])
  await store.close()
})

test('backpressure: at most 16 MiB wait to be written; later appends wait, in order', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'bp', fsync: 'never' }, testFs)
  const log = join(dir, 'bp.log')
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  const started = testFs.next((o) => o.op === 'write' && o.path === log)
  const sizes: number[] = []
  testFs.gate = (op) => {
    if (op.op !== 'write' || op.path !== log) return undefined
    sizes.push(op.bytes as number)
    return held
  }
  const record = (i: number) => Buffer.alloc(1 << 20, i)
  const done = Array.from({ length: 40 }, (_, i) => store.append(record(i)))
  done.push(store.append(text('small, last')))
  let resolved = 0
  for (const p of done) void p.then(() => resolved++)
  await new Promise((resolve) => setImmediate(resolve))
  t.deepEqual(sizes.length, 1, 'one write in flight')
  t.true(sizes[0] <= MAX_PENDING_BYTES, `first write ${sizes[0]} bytes`)
  t.is(resolved, 0)
  release()
  await started
  await Promise.all(done)
  t.true(sizes.length >= 3)
  t.true(sizes.every((s) => s <= MAX_PENDING_BYTES))
  await store.close()
  const { store: again, loaded } = await SnapshotLog.open({ dir, name: 'bp' })
  t.is(loaded.records.length, 41)
  t.true(loaded.records.slice(0, 40).every((r, i) => r.length === 1 << 20 && r[0] === i && r[r.length - 1] === i))
  t.is(str(loaded.records[40]), 'small, last')
  await again.close()
})

test('a record larger than the 16 MiB buffer goes through alone, in order', async (t) => {
  const dir = await tempDir(t)
  const { store } = await SnapshotLog.open({ dir, name: 'big', fsync: 'never' })
  const big = Buffer.alloc(MAX_PENDING_BYTES + 1000, 7)
  await Promise.all([store.append(text('a')), store.append(big), store.append(text('b'))])
  await store.close()
  const { store: again, loaded } = await SnapshotLog.open({ dir, name: 'big' })
  t.deepEqual(
    loaded.records.map((r) => r.length),
    [1, big.length, 1],
  )
  await again.close()
})

// ---------------------------------------------------------------------------------------------------------------
// Errors

test('bad options name the option', async (t) => {
  const dir = await tempDir(t)
  const bad: [unknown, string][] = [
    [undefined, 'persist'],
    ['dir', 'persist'],
    [{ dir: '', name: 'n' }, 'persist.dir'],
    [{ dir: 5, name: 'n' }, 'persist.dir'],
    [{ name: 'n' }, 'persist.dir'],
    [{ dir, name: '' }, 'persist.name'],
    [{ dir, name: 'a/b' }, 'persist.name'],
    [{ dir, name: 'a b' }, 'persist.name'],
    [{ dir, name: 'x'.repeat(101) }, 'persist.name'],
    [{ dir, name: 7 }, 'persist.name'],
    [{ dir, name: 'n', fsync: 'sometimes' }, 'persist.fsync'],
    [{ dir, name: 'n', fsync: null }, 'persist.fsync'],
    [{ dir, name: 'n', fsync: { intervalMs: 0 } }, 'persist.fsync'],
    [{ dir, name: 'n', fsync: { intervalMs: 1.5 } }, 'persist.fsync'],
    [{ dir, name: 'n', fsync: { intervalMs: '100' } }, 'persist.fsync'],
    [{ dir, name: 'n', fsync: { intervalMs: 3_600_001 } }, 'persist.fsync'],
    [{ dir, name: 'n', fsync: { interval: 100 } }, 'persist.fsync'],
    [{ dir, name: 'n', fsynch: 'always' }, 'persist.fsynch'],
  ]
  for (const [options, option] of bad) {
    const err = await t.throwsAsync(SnapshotLog.open(options as StoreOptions), { instanceOf: InvalidOptionError })
    t.is(err.option, option, JSON.stringify(options))
    t.is(err.code, ErrorCode.INVALID_OPTION)
    t.true(err.message.includes(option))
  }
  t.deepEqual(await listing(dir), [], 'nothing was created')
  const good = await SnapshotLog.open({ dir, name: 'A-z_0.9', fsync: { intervalMs: 3_600_000 } })
  await good.store.close()
})

test('bad records and snapshots are refused without harming the store', async (t) => {
  const dir = await tempDir(t)
  const { store } = await SnapshotLog.open({ dir, name: 'r' })
  await t.throwsAsync(store.append(new Uint8Array(0)), { instanceOf: RangeError })
  await t.throwsAsync(store.append(new Uint8Array(MAX_RECORD_BYTES + 1)), { instanceOf: RangeError })
  await t.throwsAsync(store.append('text' as unknown as Uint8Array), { instanceOf: TypeError })
  await t.throwsAsync(store.snapshot([1, 2] as unknown as Uint8Array), { instanceOf: TypeError })
  await store.append(new Uint8Array(MAX_RECORD_BYTES))
  await store.close()
  const { store: again, loaded } = await SnapshotLog.open({ dir, name: 'r' })
  t.deepEqual(
    loaded.records.map((r) => r.length),
    [MAX_RECORD_BYTES],
  )
  await again.close()
})

test('a failed write rejects the pending appends with PersistError; later calls reject too; close works', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'w', fsync: 'never' }, testFs)
  const log = join(dir, 'w.log')
  await store.append(text('before'))
  testFs.failWith = (op) => (op.op === 'write' && op.path === log ? systemError('EIO') : undefined)
  const result = await outcomes([store.append(text('x1')), store.append(text('x2'))])
  const err = result[0] as PersistError
  t.true(err instanceof PersistError)
  t.true(err instanceof GlueError)
  t.is(err.code, ErrorCode.PERSIST)
  t.is(err.code, 'ERR_GLUE_PERSIST')
  t.is(err.name, 'PersistError')
  t.is(err.errno, 'EIO')
  t.is(err.path, log)
  t.is(err.operation, 'write')
  t.true(err.message.includes(log) && err.message.includes('EIO'), err.message)
  t.is(result[1], err)
  testFs.failWith = undefined
  await t.throwsAsync(store.append(text('later')), { instanceOf: PersistError })
  await t.throwsAsync(store.snapshot(text('S')), { instanceOf: PersistError })
  await store.close()
  t.deepEqual(await load({ dir, name: 'w' }), state(undefined, ['before']))
})

test('a failed fdatasync (fsync: always) rejects the append and fails the store', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 's', fsync: 'always' }, testFs)
  testFs.failWith = (op) => (op.op === 'datasync' ? systemError('EIO') : undefined)
  const err = await t.throwsAsync(store.append(text('x')), { instanceOf: PersistError })
  t.is(err.operation, 'fdatasync')
  await t.throwsAsync(store.append(text('y')), { instanceOf: PersistError })
  await store.close()
})

test('a failed interval fsync fails the store: the next append rejects', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 's', fsync: { intervalMs: 1 } }, testFs)
  let failed!: () => void
  const failure = new Promise<void>((resolve) => (failed = resolve))
  testFs.failWith = (op) => {
    if (op.op !== 'datasync') return undefined
    setImmediate(failed)
    return systemError('ENOSPC')
  }
  await store.append(text('x'))
  await failure
  const err = await t.throwsAsync(store.append(text('y')), { instanceOf: PersistError })
  t.is(err.errno, 'ENOSPC')
  await store.close()
})

test('a failed snapshot() rejects, fails the store and leaves the old state on disk', async (t) => {
  const dir = await tempDir(t)
  const testFs = new TestFs()
  const { store } = await openSnapshotLog({ dir, name: 'f' }, testFs)
  await store.snapshot(text('OLD'))
  await store.append(text('r1'))
  testFs.failWith = (op) =>
    op.op === 'rename' && op.path.includes('.snapshot.tmp') ? systemError('EACCES') : undefined
  const result = await outcomes([store.snapshot(text('NEW')), store.append(text('during'))])
  t.true(result[0] instanceof PersistError)
  t.is((result[0] as PersistError).errno, 'EACCES')
  t.is(result[1], result[0])
  await t.throwsAsync(store.append(text('later')), { instanceOf: PersistError })
  await store.close()
  t.deepEqual(await load({ dir, name: 'f' }), state('OLD', ['r1']))
})

test('open fails with PersistError when the directory cannot be made', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'a-file')
  await fs.writeFile(file, 'x')
  const err = await t.throwsAsync(SnapshotLog.open({ dir: join(file, 'sub'), name: 'n' }), { instanceOf: PersistError })
  t.true(err.message.includes(join(file, 'sub')))
  t.is(err.errno, 'ENOTDIR')
})
