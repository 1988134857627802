/**
 * Encodings of a whole replica: the snapshot and journal records that `persist` writes (see `persistence.ts`), and
 * the canonical encoding that replicas holding the same state produce byte for byte (`stateHash()`, tests). Parts as
 * in `wire-parts.ts`; layouts and rules as in `docs/PROTOCOL.md` (Model messages: Snapshots, journal records and the
 * canonical encoding), with hex test vectors:
 *
 * ```text
 * snapshot:  +-------------+-----------+--------------+---------+-------------+---------------------+
 *            | version = 1 | mode (u8) | origin table | context | entry count | entry count x entry |
 *            +-------------+-----------+--------------+---------+-------------+---------------------+
 *            mode: 0 lww (last writer wins), 1 mv (keep-all)
 * journal:   +-------------+--------------+----------+---------------+
 *            | version = 1 | origin table | op count | op count x op |
 *            +-------------+--------------+----------+---------------+
 *            op: 0x01 entry | 0x02 key length | key | origin ref | counter   (a removal)
 *                | 0x03 origin ref | first | last                           (the dots first..last seen)
 * canonical: +-------------+--------------+-------------+---------------------+
 *            | version = 1 | origin table | entry count | entry count x entry |
 *            +-------------+--------------+-------------+---------------------+
 * ```
 * The canonical encoding holds the entries with a value, by key in UTF-16 code unit order, then by `compareEntries`;
 * its origin table in order of first use, so equal states give equal bytes whatever each replica's numbering.
 */
import { createHash } from 'node:crypto'

import { TopicWireError } from '../topics/errors'
import type { Reader } from '../topics/wire-io'
import { ModelReader } from './model-reader'
import { ByteWriter } from '../util/byte-writer'
import { compareEntries, type Entry } from './entry'
import type { JournalOp, Replica } from './replica'
import { OriginRefs, readContext, readCount, readEntry, readKey, readOrigins, readRef, writeContext, writeEntry, writeOrigins } from './wire-parts'

const VERSION = 1

/** The snapshot of a replica (every entry, tombstones included, and the context). */
export function encodeSnapshot(replica: Replica): Buffer {
  const refs = new OriginRefs()
  refs.refContext(replica.context, replica.origins)
  const entries: Entry[] = []
  replica.store.forEach((e) => {
    refs.ref(e.origin)
    entries.push(e)
  })
  const w = new ByteWriter(64 + replica.store.bytes + 24 * entries.length + 20 * refs.list.length)
  w.u8(VERSION)
  w.u8(replica.store.mode === 'lww' ? 0 : 1)
  writeOrigins(w, refs)
  writeContext(w, replica.context, replica.origins, refs)
  w.varint(entries.length)
  for (const e of entries) writeEntry(w, e, refs)
  return w.finish()
}

/** Restores a snapshot into an empty replica. Throws TopicWireError when it is malformed or of the other mode. */
export function restoreSnapshot(replica: Replica, data: Uint8Array): void {
  const r = new ModelReader(data)
  if (r.u8('snapshot version') !== VERSION) throw new TopicWireError('unknown snapshot version', 0)
  const mode = r.u8('mode') === 0 ? 'lww' : 'mv'
  if (mode !== replica.store.mode) throw new TopicWireError(`snapshot of a ${mode} store`, 1)
  const origins = readOrigins(r, replica.origins)
  replica.restoreContext(readContext(r, origins))
  const count = readCount(r, 'entry count', 5)
  for (let i = 0; i < count; i++) replica.restoreEntry(readEntry(r, origins))
  r.end('snapshot')
}

/** A journal record of the given ops. */
export function encodeJournal(ops: readonly JournalOp[]): Buffer {
  const refs = new OriginRefs()
  let size = 16
  for (const op of ops) {
    if (op.op === 'entry') {
      refs.ref(op.entry.origin)
      size += op.entry.key.length * 3 + op.entry.size + 26
    } else {
      refs.ref(op.op === 'remove' ? op.removal.origin : op.origin)
      size += 32
    }
  }
  const w = new ByteWriter(size + 12 * refs.list.length)
  w.u8(VERSION)
  writeOrigins(w, refs)
  w.varint(ops.length)
  for (const op of ops) {
    if (op.op === 'entry') {
      w.u8(1)
      writeEntry(w, op.entry, refs)
    } else if (op.op === 'remove') {
      w.u8(2)
      w.text(op.removal.key)
      w.varint(refs.ref(op.removal.origin))
      w.varint(op.removal.counter)
    } else {
      w.u8(3)
      w.varint(refs.ref(op.origin))
      w.varint(op.first)
      w.varint(op.last)
    }
  }
  return w.finish()
}

/** Replays a journal record. Throws TopicWireError when it is malformed. */
export function replayJournal(replica: Replica, data: Uint8Array): void {
  const r = new ModelReader(data)
  if (r.u8('journal version') !== VERSION) throw new TopicWireError('unknown journal version', 0)
  const origins = readOrigins(r, replica.origins)
  const count = readCount(r, 'op count', 2)
  for (let i = 0; i < count; i++) {
    const op = r.u8('op')
    if (op === 1) replica.restoreEntry(readEntry(r, origins))
    else if (op === 2) {
      const key = readKey(r)
      replica.applyRemoval({ key, origin: readRef(r, origins), counter: r.varint('counter') })
    } else if (op === 3) {
      const origin = readRef(r, origins)
      replica.applyRange(origin, r.varint('first'), r.varint('last'))
    } else throw new TopicWireError(`unknown journal op ${op}`, r.offset - 1)
  }
  r.end('journal record')
}

/** The canonical encoding of what a replica shows (see the module doc). */
export function canonicalEncoding(replica: Replica): Buffer {
  const entries: Entry[] = []
  replica.store.forEach((e) => {
    if (!e.deleted) entries.push(e)
  })
  entries.sort((a, b) => (a.key === b.key ? compareEntries(a, b) : a.key < b.key ? -1 : 1))
  const refs = new OriginRefs()
  for (const e of entries) refs.ref(e.origin)
  const w = new ByteWriter(64 + replica.store.bytes + 24 * entries.length)
  w.u8(VERSION)
  writeOrigins(w, refs)
  w.varint(entries.length)
  for (const e of entries) writeEntry(w, e, refs)
  return w.finish()
}

/** SHA-256 of the canonical encoding, hex. */
export function stateHash(replica: Replica): string {
  return createHash('sha256').update(canonicalEncoding(replica)).digest('hex')
}
