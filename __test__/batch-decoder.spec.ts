import test from 'ava'

import { BatchDecoder, Message } from '../src/transport/batch-decoder'
import { type Peer, PeerTable, type PeerEvent } from '../src/discovery/peer-table'
import { BatchBuilder } from './helpers/fake-transport'

const A = { id: 'aaaaaaaaaaaaaaaa', name: 'A' }
const B = { id: 'bbbbbbbbbbbbbbbb', name: 'B' }
const C = { id: 'cccccccccccccccc', name: 'C' }

function setup(accept?: (peer: Peer) => boolean) {
  const messages: Message[] = []
  const events: PeerEvent[] = []
  const rejected: string[] = []
  const errors: unknown[] = []
  const peers = new PeerTable({ accept, reject: (id) => rejected.push(id), onError: (err) => errors.push(err) })
  const decoder = new BatchDecoder(peers, { message: (m) => messages.push(m), status: (e) => events.push(e) })
  return { peers, decoder, messages, events, rejected, errors }
}

test('messages and peer events come out in batch order, with names and views of the data', (t) => {
  const { decoder, messages, events, peers } = setup()
  const batch = new BatchBuilder()
    .peerUp(A)
    .message(A.id, 'hello')
    .peerUp(B)
    .message(B.id, 'to all', true)
    .message(A.id, '')
    .build()
  decoder.decode(batch)
  t.deepEqual(
    events.map((e) => [e.type, e.peer.name]),
    [
      ['peer-up', 'A'],
      ['peer-up', 'B'],
    ],
  )
  t.deepEqual(
    messages.map((m) => [m.from, m.fromName, m.text(), m.broadcast]),
    [
      [A.id, 'A', 'hello', false],
      [B.id, 'B', 'to all', true],
      [A.id, 'A', '', false],
    ],
  )
  t.is(messages[0].data.buffer, batch.data.buffer, 'data is a view, not a copy')
  t.true(messages[0] instanceof Message)
  t.deepEqual(
    peers.list().map((p) => p.name),
    ['A', 'B'],
  )
})

test('unknown entry kinds and a trailing partial entry are skipped', (t) => {
  const { decoder, messages } = setup()
  const built = new BatchBuilder().peerUp(A).unknownKind().message(A.id, 'x').build()
  decoder.decode({ ...built, entries: Uint32Array.from([...built.entries, 1, 0]) })
  t.deepEqual(
    messages.map((m) => m.text()),
    ['x'],
  )
})

test('a message from a peer not in the table is delivered with an empty name', (t) => {
  const { decoder, messages } = setup()
  decoder.decode(new BatchBuilder().message(C.id, 'early').build())
  t.is(messages[0].fromName, '')
})

test('accept filter: a rejected peer is hidden and its messages later in the same batch are dropped', (t) => {
  const { decoder, messages, events, rejected, peers } = setup((peer) => peer.name !== 'B')
  decoder.decode(
    new BatchBuilder()
      .message(B.id, 'before peer-up') // not yet rejected: delivered with an empty name
      .peerUp(A)
      .peerUp(B)
      .message(B.id, 'dropped 1')
      .message(A.id, 'kept')
      .message(B.id, 'dropped 2', true)
      .build(),
  )
  t.deepEqual(
    messages.map((m) => m.text()),
    ['before peer-up', 'kept'],
  )
  t.deepEqual(
    events.map((e) => e.peer.name),
    ['A'],
  )
  t.deepEqual(rejected, [B.id])
  t.is(decoder.droppedByFilter, 2)
  t.true(peers.isRejected(B.id))
  t.is(peers.resolve('B'), undefined)

  decoder.decode(new BatchBuilder().message(B.id, 'dropped 3').peerDown(B).build())
  t.is(decoder.droppedByFilter, 3)
  t.is(events.length, 1, 'no peer-down for a hidden peer')
  t.false(peers.isRejected(B.id), 'forgotten after its peer-down')
})

test('an accept filter that throws rejects the peer and reports the error', (t) => {
  const boom = new Error('boom')
  const { decoder, events, rejected, errors } = setup(() => {
    throw boom
  })
  decoder.decode(new BatchBuilder().peerUp(A).build())
  t.deepEqual(events, [])
  t.deepEqual(rejected, [A.id])
  t.deepEqual(errors, [boom])
})

test('peer-down removes the peer and carries the reason', (t) => {
  const { decoder, events, peers } = setup()
  decoder.decode(new BatchBuilder().peerUp(A).peerDown(A, 'expired').message(A.id, 'late').build())
  t.like(events[1], { type: 'peer-down', reason: 'expired', peer: { id: A.id, name: 'A' } })
  t.is(peers.size, 0)
})

test('peer-changed updates the table in place and keeps since', (t) => {
  const { decoder, events, peers } = setup()
  decoder.decode(new BatchBuilder().peerUp(A).peerUp(B).build())
  const since = peers.get(A.id)?.since
  decoder.decode(
    new BatchBuilder()
      .peerChanged({ id: A.id, name: 'A2', address: '127.0.0.1:1', announcePeriodMs: 50 })
      .build(),
  )
  const changed = events[2]
  t.is(changed.type, 'peer-changed')
  if (changed.type !== 'peer-changed') return
  t.is(changed.previous.name, 'A')
  t.like(changed.peer, { name: 'A2', address: '127.0.0.1:1', announcePeriodMs: 50 })
  t.true(changed.peer.since === since)
  t.deepEqual(
    peers.list().map((p) => p.name),
    ['A2', 'B'],
  )
  t.is(peers.resolve('A'), undefined)
  t.is(peers.resolve('A2')?.id, A.id)
})

test('an unchanged re-announce (peer-up for a known peer) emits nothing', (t) => {
  const { decoder, events } = setup()
  decoder.decode(new BatchBuilder().peerUp(A).peerUp(A).build())
  t.is(events.length, 1)
})

test('name clash: both kept, the oldest holder wins name lookups until it leaves', (t) => {
  const { decoder, events, peers } = setup()
  const A2 = { id: 'a2a2a2a2a2a2a2a2', name: 'A' }
  decoder.decode(
    new BatchBuilder()
      .peerUp(A)
      .peerUp(A2)
      .event({
        type: 'name-clash',
        id: A2.id,
        name: 'A',
        address: '127.0.0.1:2',
        announcePeriodMs: 1000,
        existingId: A.id,
        extensions: [],
      })
      .build(),
  )
  t.like(events[2], { type: 'name-clash', existingId: A.id, rejected: false, peer: { id: A2.id } })
  t.is(peers.resolve('A')?.id, A.id)
  t.is(peers.resolve(A2.id)?.id, A2.id)
  t.is(peers.resolve(A2.id.toUpperCase())?.id, A2.id)
  decoder.decode(new BatchBuilder().peerDown(A).build())
  t.is(peers.resolve('A')?.id, A2.id)
})

test('reliable messages (kinds 6, 7) are flagged reliable; best-effort ones are not', (t) => {
  const { decoder, messages } = setup()
  decoder.decode(
    new BatchBuilder()
      .peerUp(A)
      .message(A.id, 'u')
      .message(A.id, 'b', true)
      .message(A.id, 'ru', false, true)
      .message(A.id, 'rb', true, true)
      .build(),
  )
  t.deepEqual(
    messages.map((m) => [m.text(), m.broadcast, m.reliable]),
    [
      ['u', false, false],
      ['b', true, false],
      ['ru', false, true],
      ['rb', true, true],
    ],
  )
})

test('a large message (kind 9) is its own Buffer, handed over as it is, with its flags', (t) => {
  const { decoder, messages } = setup()
  const big = Buffer.alloc(100_000, 7)
  const other = Buffer.from('best effort, whole')
  decoder.decode(
    new BatchBuilder()
      .peerUp(A)
      .message(A.id, 'small first')
      .owned(A.id, big, true, true)
      .owned(A.id, other, false, false)
      .build(),
  )
  t.is(messages.length, 3)
  t.is(messages[1].data, big, 'the same Buffer, not a copy')
  t.like(messages[1], { from: A.id, fromName: 'A', broadcast: true, reliable: true })
  t.like(messages[2], { broadcast: false, reliable: false })
  t.is(messages[2].text(), 'best effort, whole')
})

test('a kind-9 entry pointing past the buffers is skipped', (t) => {
  const { decoder, messages } = setup()
  const built = new BatchBuilder().peerUp(A).build()
  decoder.decode({ ...built, peerIds: [A.id], entries: Uint32Array.from([...built.entries, 9, 0, 5, 3]) })
  t.deepEqual(messages, [])
})

test('delivery reports (kinds 4, 5, 8, with a refusal\'s payload handed back) go to the sink in batch order', (t) => {
  const reports: string[] = []
  const peers = new PeerTable({ accept: undefined, reject: () => {}, onError: () => {} })
  const decoder = new BatchDecoder(peers, {
    message: (m) => reports.push(`message ${m.text()}`),
    status: () => {},
    delivered: (token) => reports.push(`delivered ${token}`),
    failed: (token, missing) => reports.push(`failed ${token} ${missing.join(',')}`),
    refused: (token, reason, data) => reports.push(`refused ${token} ${reason} ${data?.toString() ?? '-'}`),
  })
  decoder.decode(
    new BatchBuilder()
      .delivered(7)
      .message(A.id, 'x')
      .failed(0xffff_ffff, [A.id, B.id])
      .refused(3, 2, Buffer.from('handed back'))
      .refused(4, 1)
      .failed(9, [])
      .build(),
  )
  t.deepEqual(reports, [
    'delivered 7',
    'message x',
    `failed ${0xffff_ffff} ${A.id},${B.id}`,
    'refused 3 2 handed back',
    'refused 4 1 -',
    'failed 9 ',
  ])
  // A sink without report handlers ignores them.
  t.notThrows(() => setup().decoder.decode(new BatchBuilder().delivered(1).refused(2, 1).failed(3, []).build()))
})

test('a peer whose announcement extensions change (only them) is a peer-changed event', (t) => {
  const { decoder, events, peers } = setup()
  decoder.decode(new BatchBuilder().peerUp(A).build())
  const interest = { type: 0x10, value: Buffer.of(1, 2) }
  decoder.decode(new BatchBuilder().peerChanged({ ...A, extensions: [interest] }).build())
  decoder.decode(new BatchBuilder().peerChanged({ ...A, extensions: [{ ...interest, value: Buffer.of(1, 2) }] }).build())
  decoder.decode(new BatchBuilder().peerChanged(A).build())
  t.deepEqual(
    events.map((e) => [e.type, e.peer.extensions.get(0x10)?.toString('hex')]),
    [
      ['peer-up', undefined],
      ['peer-changed', '0102'],
      ['peer-changed', undefined],
    ],
    'the same value again is no change',
  )
  t.is(peers.get(A.id)?.extensions.size, 0)
})
