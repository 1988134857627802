/**
 * REQUEST and REPLY (topic wire kinds 6 and 7): the docs/PROTOCOL.md vectors, strict decoding, and the requester's
 * checks on replies (only from the peer asked, under the id asked, once) driven through an in-memory network of
 * request/reply layers, where a third endpoint can forge replies with the real request id.
 */
import test from 'ava'

import { MessageTooLargeError, NoResponderError, ReplyError } from '../index'
import type { Peer, PeerEvent } from '../src/discovery/peer-table'
import { TopicWireError } from '../src/topics/errors'
import { TOPIC_ENVELOPE, unwrapTopicMessage } from '../src/topics/envelope'
import { REPLIER_EXTENSION } from '../src/topics/repliers'
import { RequestReply } from '../src/topics/request-reply'
import type { TopicTransport } from '../src/topics/transport'
import { decodeTopicMessage } from '../src/topics/wire'
import { encodeReply, encodeRequest, ReplyFlag, type RequestMessage } from '../src/topics/wire-reqrep'
import { protocolVectors } from './helpers/protocol-doc'

const DOC = protocolVectors('reqrep-hex')
const ID = '0123456789abcdef'
const REQUEST = { id: ID, codec: 1, timeoutMs: 5000, topic: 'svc/echo', payload: Buffer.from('{"n":1}') }

test('docs/PROTOCOL.md vectors: REQUEST, REPLY, error REPLY encode and decode', (t) => {
  t.deepEqual([...DOC.keys()].sort(), ['reply', 'reply-error', 'request'])
  const request = encodeRequest(REQUEST, TOPIC_ENVELOPE)
  const reply = encodeReply({ id: ID, flags: 0, codec: 1, payload: Buffer.from('{"n":2}') }, TOPIC_ENVELOPE)
  const error = encodeReply({ id: ID, flags: ReplyFlag.ERROR, codec: 0, payload: Buffer.from('boom') }, TOPIC_ENVELOPE)
  t.is(request.toString('hex'), (DOC.get('request') as Buffer).toString('hex'))
  t.is(reply.toString('hex'), (DOC.get('reply') as Buffer).toString('hex'))
  t.is(error.toString('hex'), (DOC.get('reply-error') as Buffer).toString('hex'))
  const decoded = decodeTopicMessage(unwrapTopicMessage(request)) as RequestMessage
  t.like(decoded, { kind: 'request', id: ID, codec: 1, timeoutMs: 5000, topic: 'svc/echo' })
  t.is(Buffer.from(decoded.payload).toString(), '{"n":1}')
  t.like(decodeTopicMessage(unwrapTopicMessage(error)), { kind: 'reply', id: ID, flags: 1, codec: 0 })
})

test('strict decoding: bad flags, codec, timeout, topic and truncations throw TopicWireError only', (t) => {
  const request = encodeRequest(REQUEST, TOPIC_ENVELOPE).subarray(2)
  const reply = encodeReply({ id: ID, flags: ReplyFlag.NONE, codec: 0, payload: Buffer.alloc(0) }, TOPIC_ENVELOPE).subarray(2)
  const bad = (m: Buffer, at: number, value: number) => {
    const copy = Buffer.from(m)
    copy[at] = value
    return copy
  }
  const cases = [
    bad(request, 2, 1), // REQUEST flags
    bad(request, 3, 7), // reserved codec id
    Buffer.concat([request.subarray(0, 12), Buffer.alloc(4), request.subarray(16)]), // timeout 0
    bad(request, 18, 0x24), // topic "$vc/echo": reserved
    bad(request, 21, 0x2b), // topic "svc+echo"... a wildcard
    bad(reply, 2, 3), // two REPLY flags
    bad(reply, 2, 8), // unknown REPLY flag
    bad(reply, 3, 1), // a flagged REPLY with a codec
  ]
  for (const m of cases) t.throws(() => decodeTopicMessage(m), { instanceOf: TopicWireError }, m.toString('hex'))
  for (let cut = 0; cut < 18; cut++) {
    t.throws(() => decodeTopicMessage(request.subarray(0, cut)), { instanceOf: TopicWireError }, `request cut at ${cut}`)
  }
  for (let cut = 0; cut < 12; cut++) t.throws(() => decodeTopicMessage(reply.subarray(0, cut)), { instanceOf: TopicWireError })
  t.throws(() => encodeRequest({ ...REQUEST, id: 'XYZ' }, TOPIC_ENVELOPE), { instanceOf: RangeError })
  t.throws(() => encodeRequest({ ...REQUEST, timeoutMs: 0 }, TOPIC_ENVELOPE), { instanceOf: RangeError })
  t.throws(() => encodeReply({ id: ID, flags: 5, codec: 0, payload: Buffer.alloc(0) }, TOPIC_ENVELOPE), { instanceOf: RangeError })
})

/** An in-memory network of request/reply layers; deliveries can be held to let a test act in between. */
function fakeNetwork(maxMessageSize = 1 << 20) {
  const nodes = new Map<string, { rr: RequestReply; peer: Peer }>()
  const held: (() => void)[] = []
  let hold = false
  const make = (id: string, name: string): RequestReply => {
    const peer: Peer = { id, name, address: '127.0.0.1:1', announcePeriodMs: 1000, since: new Date(), extensions: new Map() }
    const transport: TopicTransport = {
      id,
      name,
      peers: () => [...nodes.values()].filter((n) => n.peer.id !== id).map((n) => n.peer),
      nameOf: (other) => nodes.get(other)?.peer.name ?? '',
      send: (to, data) => {
        const deliver = () => nodes.get(to)?.rr.receive(id, decodeTopicMessage(unwrapTopicMessage(data)) as never)
        if (hold) held.push(deliver)
        else queueMicrotask(deliver)
        return Promise.resolve()
      },
      broadcast: () => true,
      setInterest: () => {},
      setReplierSummary: (summary) => {
        const extensions = new Map(peer.extensions)
        if (summary.length === 0) extensions.delete(REPLIER_EXTENSION)
        else extensions.set(REPLIER_EXTENSION, Buffer.from(summary))
        const changed = { ...peer, extensions }
        nodes.get(id)!.peer = changed
        for (const [other, node] of nodes) {
          if (other !== id) node.rr.peerEvent({ type: 'peer-changed', peer: changed, previous: peer })
        }
      },
    }
    const rr = new RequestReply(transport, { maxMessageSize }, (err) => {
      throw err
    })
    nodes.set(id, { rr, peer })
    return rr
  }
  return {
    make,
    holdDeliveries: (on: boolean) => (hold = on),
    release: () => held.splice(0).forEach((d) => d()),
    down: (id: string) => {
      const node = nodes.get(id)
      for (const [other, n] of nodes) if (other !== id && node) n.rr.peerEvent({ type: 'peer-down', peer: node.peer, reason: 'left' } as PeerEvent)
    },
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

test('a reply is accepted only from the peer asked, under its id, once: the rest is dropped and counted', async (t) => {
  const net = fakeNetwork()
  const a = net.make('aaaaaaaaaaaaaaaa', 'A')
  const b = net.make('bbbbbbbbbbbbbbbb', 'B')
  net.make('cccccccccccccccc', 'C')
  b.reply('f/x', (req) => `B:${(req.value as Buffer).toString()}`)
  await tick()
  // Capture what A sends B: the REQUEST with its real id.
  const sent: RequestMessage[] = []
  const originalReceive = b.receive.bind(b)
  b.receive = (from, m) => {
    if (m.kind === 'request') sent.push(m)
    originalReceive(from, m)
  }
  net.holdDeliveries(true)
  const pending = a.request('f/x', 'hi', { timeoutMs: 10_000 })
  await tick()
  net.release() // the REQUEST reaches B; B's REPLY is held
  await tick()
  t.is(sent.length, 1)
  const id = sent[0].id
  t.regex(id, /^[0-9a-f]{16}$/)
  // C forges a reply with the real id, and one with another id.
  a.receive('cccccccccccccccc', { kind: 'reply', id, flags: 0, codec: 0, payload: Buffer.from('forged') })
  a.receive('cccccccccccccccc', { kind: 'reply', id: '00000000deadbeef', flags: 0, codec: 0, payload: Buffer.from('x') })
  t.is(a.stats().replyDropUnasked, 1)
  t.is(a.stats().replyDropUnknown, 1)
  net.holdDeliveries(false)
  net.release() // B's real reply
  t.is((await pending).text(), 'B:hi')
  // The same reply again: a duplicate, dropped.
  a.receive('bbbbbbbbbbbbbbbb', { kind: 'reply', id, flags: 0, codec: 0, payload: Buffer.from('again') })
  t.is(a.stats().replyDropUnknown, 2)
  t.is(a.stats().requestReplies, 1)
})

test('request ids are random and distinct', async (t) => {
  const net = fakeNetwork()
  const a = net.make('aaaaaaaaaaaaaaaa', 'A')
  const b = net.make('bbbbbbbbbbbbbbbb', 'B')
  b.reply('#', () => new Promise(() => {}))
  await tick()
  const ids = new Set<string>()
  b.receive = (_from, m) => void (m.kind === 'request' && ids.add(m.id))
  const requests = Array.from({ length: 500 }, (_, i) => a.request(`r/${i}`, '', { timeoutMs: 60_000 }).catch(() => {}))
  await tick()
  t.is(ids.size, 500)
  // Distinct in their high bytes too (not a counter).
  t.true(new Set([...ids].map((id) => id.slice(0, 8))).size > 490)
  a.close()
  await Promise.all(requests)
})

test('fail-over on the fake network: down, none and busy move on; a busy-only end is a busy ReplyError', async (t) => {
  const net = fakeNetwork()
  const a = net.make('aaaaaaaaaaaaaaaa', 'A')
  const b = net.make('bbbbbbbbbbbbbbbb', 'B')
  const c = net.make('cccccccccccccccc', 'C')
  b.reply('x', () => new Promise(() => {}), { concurrency: 1, queueLimit: 0 })
  c.reply('x', () => new Promise(() => {}), { concurrency: 1, queueLimit: 0 })
  await tick()
  // Occupy both (one request each), then one more finds both busy.
  const first = [a.request('x', '1', { timeoutMs: 60_000 }), a.request('x', '2', { timeoutMs: 60_000 })]
  for (const p of first) p.catch(() => {})
  await tick()
  const busy = await t.throwsAsync(a.request('x', '3', { timeoutMs: 60_000 }), { instanceOf: ReplyError })
  t.true(busy?.busy)
  t.is(a.stats().requestFailovers, 1, 'the second one was asked after the first refused')
  // B and C go down: the two pending requests end with NoResponderError (nobody left), long before the timeout.
  net.down('bbbbbbbbbbbbbbbb')
  net.down('cccccccccccccccc')
  for (const p of first) await t.throwsAsync(p, { instanceOf: NoResponderError })
  a.close()
})

test('too large: a request fails at once with MessageTooLargeError, a reply becomes an error reply', async (t) => {
  const net = fakeNetwork(1000)
  const a = net.make('aaaaaaaaaaaaaaaa', 'A')
  const b = net.make('bbbbbbbbbbbbbbbb', 'B')
  b.reply('big/+', (req) => (req.topic === 'big/reply' ? Buffer.alloc(5000) : 'small'))
  await tick()
  await t.throwsAsync(a.request('big/request', Buffer.alloc(2000)), { instanceOf: MessageTooLargeError })
  const err = await t.throwsAsync(a.request('big/reply', 'x'), { instanceOf: ReplyError })
  t.regex(err?.remoteMessage ?? '', /the reply could not be sent: reply of 5000 bytes is larger than maxMessageSize: 1000 bytes/)
  t.is((await a.request('big/ok', 'x')).text(), 'small')
})
