/**
 * The pieces of the Yjs provider that need no network: the message layout (byte-for-byte y-protocols' and
 * y-websocket's, checked against their own encoders and decoders), the varUint primitives, awareness update parsing,
 * topic names, and local-update batching.
 */
import test from 'ava'
import fc from 'fast-check'

import { ByteReader, ByteWriter } from '../src/yjs/bytes'
import { parseAwarenessUpdate } from '../src/yjs/awareness-peers'
import { decodeMessage, encodeMessage } from '../src/yjs/messages'
import { docTopics } from '../src/yjs/topics'
import { awarenessProtocol, tick, Y, yjsNetwork } from './helpers/yjs-net'

type SyncModule = typeof import('y-protocols/sync', { with: { 'resolution-mode': 'import' } })
type EncodingModule = typeof import('lib0/encoding', { with: { 'resolution-mode': 'import' } })
type DecodingModule = typeof import('lib0/decoding', { with: { 'resolution-mode': 'import' } })
const sync = require('y-protocols/sync') as SyncModule
const encoding = require('lib0/encoding') as EncodingModule
const decoding = require('lib0/decoding') as DecodingModule

/** A document with some text. */
function sampleDoc(text = 'hello'): InstanceType<typeof Y.Doc> {
  const doc = new Y.Doc()
  doc.getText('text').insert(0, text)
  return doc
}

test('sync messages are byte-for-byte those of y-protocols (and y-websocket message type 0)', (t) => {
  const doc = sampleDoc()
  const y = (write: (e: ReturnType<EncodingModule['createEncoder']>) => void) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0) // y-websocket's messageSync
    write(e)
    return encoding.toUint8Array(e)
  }
  const sv = Y.encodeStateVector(doc)
  const update = Y.encodeStateAsUpdate(doc)
  t.deepEqual(encodeMessage({ kind: 'step1', stateVector: sv }), y((e) => sync.writeSyncStep1(e, doc)))
  t.deepEqual(encodeMessage({ kind: 'step2', update }), y((e) => sync.writeSyncStep2(e, doc)))
  t.deepEqual(encodeMessage({ kind: 'update', update }), y((e) => sync.writeUpdate(e, update)))

  // y-protocols reads ours: a step 1 is answered with a step 2 that brings the whole document.
  const asker = new Y.Doc()
  const request = encodeMessage({ kind: 'step1', stateVector: Y.encodeStateVector(asker) })
  const d = decoding.createDecoder(request)
  t.is(decoding.readVarUint(d), 0)
  const answer = encoding.createEncoder()
  encoding.writeVarUint(answer, 0) // as y-websocket does
  t.is(sync.readSyncMessage(d, answer, doc, null), sync.messageYjsSyncStep1)
  const step2 = decodeMessage(encoding.toUint8Array(answer))
  t.is(step2.kind, 'step2')
  if (step2.kind === 'step2') Y.applyUpdate(asker, step2.update)
  t.is(asker.getText('text').toString(), 'hello')
})

test('awareness messages carry y-protocols awareness updates (y-websocket message type 1)', (t) => {
  const doc = sampleDoc()
  const awareness = new awarenessProtocol.Awareness(doc)
  t.teardown(() => awareness.destroy())
  awareness.setLocalState({ user: 'Ada', n: 1 })
  const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID])
  const bytes = encodeMessage({ kind: 'awareness', update })
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint8Array(e, update)
  t.deepEqual(bytes, encoding.toUint8Array(e))
  const entries = parseAwarenessUpdate(update)
  t.deepEqual(entries, [{ clientID: doc.clientID, clock: 1, state: { user: 'Ada', n: 1 } }])
  awareness.setLocalState(null)
  t.deepEqual(parseAwarenessUpdate(awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]))[0].state, null)
})

test('varUints and byte arrays round-trip as lib0 writes them', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.maxSafeNat(), fc.uint8Array({ maxLength: 300 })), { maxLength: 20 }), (items) => {
      const w = new ByteWriter()
      const e = encoding.createEncoder()
      for (const item of items) {
        if (typeof item === 'number') {
          w.varUint(item)
          encoding.writeVarUint(e, item)
        } else {
          w.varUint8Array(item)
          encoding.writeVarUint8Array(e, item)
        }
      }
      const bytes = w.toBytes()
      t.deepEqual(bytes, encoding.toUint8Array(e))
      const r = new ByteReader(bytes)
      for (const item of items) t.deepEqual(typeof item === 'number' ? r.varUint() : r.varUint8Array(), item)
      t.true(r.done)
    }),
  )
})

test('any bytes either decode to a message or throw MalformedError, never anything else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        const m = decodeMessage(bytes)
        t.deepEqual(decodeMessage(encodeMessage(m)), m) // what decodes re-encodes to the same message
      } catch (err) {
        t.is((err as Error).name, 'MalformedError')
      }
      try {
        parseAwarenessUpdate(bytes)
      } catch (err) {
        t.is((err as Error).name, 'MalformedError')
      }
    }),
  )
  const huge = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
  t.throws(() => new ByteReader(huge).varUint(), { message: /out of range/ })
})

test('topic names: the document name comes last; wildcards and empty names are refused', (t) => {
  const topics = docTopics('team/notes', '0123456789abcdef')
  t.deepEqual(
    [topics.updates, topics.sync, topics.awareness, topics.inbox, topics.inboxOf('fedcba9876543210')],
    [
      'glue/yjs/update/team/notes',
      'glue/yjs/sync/team/notes',
      'glue/yjs/awareness/team/notes',
      'glue/yjs/to/0123456789abcdef/team/notes',
      'glue/yjs/to/fedcba9876543210/team/notes',
    ],
  )
  for (const bad of ['', 'a/#', '+', 'a\u0000b', 'x'.repeat(70_000)]) {
    t.throws(() => docTopics(bad, '0123456789abcdef'), { name: 'TopicError' }, JSON.stringify(bad.slice(0, 10)))
  }
})

test('local updates of one tick go out as one publication (merged); the next tick as another', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const a = await open('A')
  const doc = new Y.Doc()
  const p = provide(a, doc, { syncTimeoutMs: 1 })
  await p.whenSynced()
  const text = doc.getText('text')
  for (let i = 0; i < 100; i++) text.insert(text.length, `${i},`)
  await tick()
  t.is(p.stats().updatesSent, 1)
  text.insert(0, '!')
  await tick()
  t.is(p.stats().updatesSent, 2)
})
