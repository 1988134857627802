/**
 * GlueYjsProvider on the in-memory fake network (and once on real loopback endpoints): concurrent edits converge,
 * late joiners sync by step 1 / step 2, partitions heal, awareness comes and goes, bad input is dropped and counted.
 */
import test from 'ava'

import { Endpoint } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { encodeMessage } from '../src/yjs/messages'
import { GlueYjsProvider } from '../yjs'
import { isolatedOptions, until } from './helpers/loopback'
import { seeded } from './helpers/seeded-random'
import { converged, tick, untilConverged, Y, yjsNetwork } from './helpers/yjs-net'

test('two providers editing one Y.Text concurrently converge', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const [a, b] = [await open('A'), await open('B')]
  const docs = [new Y.Doc(), new Y.Doc()]
  const providers = [provide(a, docs[0]), provide(b, docs[1])]
  await Promise.all(providers.map((p) => p.whenSynced()))
  const random = seeded(9)
  for (let round = 0; round < 40; round++) {
    for (const [i, doc] of docs.entries()) {
      const text = doc.getText('text')
      for (let k = 0; k < 5; k++) {
        const at = random() < 0.5 ? 0 : text.length // both ends
        text.insert(at, `${'ab'[i]}${round}.${k} `)
        if (random() < 0.1 && text.length > 4) text.delete(Math.floor(random() * (text.length - 2)), 2)
      }
    }
    if (round % 3 === 0) await tick() // sometimes let the other side's edits in between
  }
  await untilConverged(docs)
  t.true(docs[0].getText('text').length > 500)
  t.is(providers[0].stats().malformed, 0)
  // Local updates of one tick went out as one publication; remote ones were never sent back.
  t.true(providers[0].stats().updatesSent <= 40)
  t.true(providers[1].stats().updatesReceived >= 1)
  t.deepEqual(providers.map((p) => p.peers()), [[b.id], [a.id]])
})

test('a late joiner gets the whole document by sync step 1 / step 2 and emits synced once', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const a = await open('A')
  const docA = new Y.Doc()
  const pa = provide(a, docA, { syncTimeoutMs: 50 })
  docA.getMap('meta').set('title', 'Notes')
  const words = 'written before anyone else came, in more ticks than glue keeps of the update topic'.split(' ')
  for (const [i, word] of words.entries()) {
    docA.getText('text').insert(docA.getText('text').length, i === 0 ? word : ` ${word}`)
    await tick()
  }
  await pa.whenSynced() // alone: synced once nobody answered
  t.true(pa.synced)
  t.true(pa.stats().updatesSent > 8)

  const b = await open('B')
  const docB = new Y.Doc()
  const pb = provide(b, docB)
  const events: boolean[] = []
  pb.on('synced', (s) => events.push(s))
  t.false(pb.synced)
  await pb.whenSynced()
  t.is(docB.getText('text').toString(), words.join(' '))
  t.is(docB.getMap('meta').get('title'), 'Notes')
  t.true(pb.stats().syncStep2Received >= 1)
  t.true(converged([docA, docB]))
  docB.getText('text').insert(0, '> ')
  await untilConverged([docA, docB])
  t.deepEqual(events, [true])
})

test('a partition heals: edits on both sides converge after net.heal (resync on peer-up)', async (t) => {
  const { open, provide, transport, net } = yjsNetwork(t)
  const [a, b] = [await open('A'), await open('B')]
  const docs = [new Y.Doc(), new Y.Doc()]
  const options = { resyncIntervalMs: 0 } // only the peer-up resync (and glue's own repair) can heal it
  const [pa, pb] = [provide(a, docs[0], options), provide(b, docs[1], options)]
  docs[0].getText('text').insert(0, 'common ')
  await untilConverged(docs)
  const statuses: string[] = []
  pa.on('status', (e) => statuses.push(e.status))

  net.cut(transport(a))
  t.true(await until(() => !pa.connected && !pb.connected))
  for (let i = 0; i < 30; i++) {
    docs[0].getText('text').insert(0, `a${i} `)
    docs[1].getText('text').insert(docs[1].getText('text').length, ` b${i}`)
    await tick()
  }
  t.false(converged(docs))
  net.heal(transport(a))
  await untilConverged(docs)
  for (const i of [0, 29]) t.true(docs[1].getText('text').toString().includes(`a${i} `))
  t.deepEqual(statuses, ['disconnected', 'connected'])
})

test('the periodic resync repairs what no update carried', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const [a, b] = [await open('A'), await open('B')]
  const docs = [new Y.Doc(), new Y.Doc()]
  const [, pb] = [provide(a, docs[0], { resyncIntervalMs: 50 }), provide(b, docs[1], { resyncIntervalMs: 50 })]
  await untilConverged(docs)
  // A change applied with the provider as origin is taken to come from the network: it is not published.
  const other = new Y.Doc()
  other.getText('text').insert(0, 'smuggled')
  Y.applyUpdate(docs[1], Y.encodeStateAsUpdate(other), pb)
  t.is(pb.stats().updatesSent, 0)
  await untilConverged(docs)
  t.is(docs[0].getText('text').toString(), 'smuggled')
})

test('awareness: a local state shows on the other side and goes when the provider is destroyed', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const [a, b] = [await open('A'), await open('B')]
  const [docA, docB] = [new Y.Doc(), new Y.Doc()]
  const [pa, pb] = [provide(a, docA), provide(b, docB)]
  pa.awareness?.setLocalStateField('user', { name: 'Ada' })
  const remote = () => pb.awareness?.getStates().get(docA.clientID) as { user?: { name: string } } | undefined
  t.true(await until(() => remote()?.user?.name === 'Ada'))
  pa.awareness?.setLocalStateField('cursor', 7)
  t.true(await until(() => (remote() as { cursor?: number } | undefined)?.cursor === 7))
  pa.destroy()
  t.true(await until(() => remote() === undefined))
  t.true(pa.destroyed)
  t.is(pa.awareness?.getLocalState(), null) // the awareness it created is destroyed with it
})

test('awareness: states of an endpoint that closes or is cut off go, and come back after a heal', async (t) => {
  const { open, provide, transport, net } = yjsNetwork(t)
  const [a, b, c] = [await open('A'), await open('B'), await open('C')]
  const [docA, docB, docC] = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
  const [pa, , pc] = [provide(a, docA), provide(b, docB), provide(c, docC)]
  pc.awareness?.setLocalState({ name: 'Cy' })
  pa.awareness?.setLocalState({ name: 'Ada' })
  const states = (p: GlueYjsProvider) => p.awareness?.getStates() ?? new Map()
  t.true(await until(() => states(pa).has(docC.clientID) && states(pc).has(docA.clientID)))

  net.cut(transport(a))
  t.true(await until(() => !states(pa).has(docC.clientID) && !states(pc).has(docA.clientID)))
  net.heal(transport(a)) // same states, same clocks: accepted again all the same
  const back = () => states(pa).get(docC.clientID)?.name === 'Cy' && states(pc).get(docA.clientID)?.name === 'Ada'
  t.true(await until(back))

  await c.close() // the provider is destroyed with its endpoint; the others see C go down
  t.true(pc.destroyed)
  t.true(await until(() => !states(pa).has(docC.clientID)))
})

test('malformed messages are dropped and counted, nothing throws, and the documents still converge', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const [a, b, evil] = [await open('A'), await open('B'), await open('Evil')]
  const docs = [new Y.Doc(), new Y.Doc()]
  const [pa, pb] = [provide(a, docs[0]), provide(b, docs[1])]
  docs[0].getText('text').insert(0, 'before ')
  await untilConverged(docs)
  const raw = (...bytes: number[]) => Uint8Array.from(bytes)
  const shared = [
    ['glue/yjs/update/notes', raw()], // empty
    ['glue/yjs/update/notes', raw(7, 1, 1)], // unknown message type
    ['glue/yjs/update/notes', raw(0, 9, 0)], // unknown sync type
    ['glue/yjs/update/notes', raw(0, 2, 5, 1)], // length beyond the end
    ['glue/yjs/update/notes', raw(0, 2, 0, 0)], // trailing bytes
    ['glue/yjs/update/notes', encodeMessage({ kind: 'update', update: raw(0xff, 0xff, 0xff) })], // not an update
    ['glue/yjs/update/notes', encodeMessage({ kind: 'step1', stateVector: raw(0) })], // wrong topic for a step 1
    ['glue/yjs/sync/notes', encodeMessage({ kind: 'step1', stateVector: raw(0xff) })], // not a state vector
    ['glue/yjs/sync/notes', encodeMessage({ kind: 'step2', update: raw(0, 0) })], // answers go to inboxes
    ['glue/yjs/awareness/notes', encodeMessage({ kind: 'awareness', update: raw(1, 1, 1, 3, 0x61, 0x62, 0x63) })],
    ['glue/yjs/awareness/notes', encodeMessage({ kind: 'awareness', update: raw(1, 1, 1, 1, 0x37) })], // a number
  ] as const
  const inbox = [[`glue/yjs/to/${a.id}/notes`, encodeMessage({ kind: 'step2', update: raw(9, 9) })]] as const
  await until(() => evil.peers().every((p) => p.extensions.size > 0)) // their interest is known
  for (const [topic, bytes] of [...shared, ...inbox]) {
    const reliable = !topic.includes('/awareness/')
    await evil.publish(topic, Buffer.from(bytes), { reliable })
  }
  const counted = () => pa.stats().malformed === shared.length + inbox.length && pb.stats().malformed === shared.length
  t.true(await until(counted))
  docs[1].getText('text').insert(0, 'after ')
  await untilConverged(docs)
  t.is(docs[0].getText('text').toString(), 'after before ')
  for (const ep of [a, b]) t.is(ep.stats().callbackErrors, 0)
  t.false(pa.peers().includes(evil.id)) // garbage does not make a provider
})

test('lifecycle: validation, one provider per name, idempotent destroy, whenSynced rejects', async (t) => {
  const { open, provide } = yjsNetwork(t)
  const a = await open('A')
  const doc = new Y.Doc()
  t.throws(() => new GlueYjsProvider(a, 'no/+/wildcards', doc), { name: 'TopicError' })
  t.throws(() => new GlueYjsProvider(a, '', doc), { name: 'TopicError' })
  t.throws(() => new GlueYjsProvider(a, 'x', doc, { resyncIntervalMs: -1 }), { name: 'InvalidOptionError' })
  t.throws(() => new GlueYjsProvider(a, 'x', doc, { awareness: {} as never }), { name: 'InvalidOptionError' })
  const p = provide(a, doc, { awareness: false, syncTimeoutMs: 1 }, 'project/notes') // '/' is fine
  t.is(p.awareness, null)
  t.throws(() => new GlueYjsProvider(a, 'project/notes', new Y.Doc()), { message: /already has a Yjs provider/ })
  await p.whenSynced()
  const q = provide(a, new Y.Doc(), { resyncIntervalMs: 0, syncTimeoutMs: 60_000 }, 'other')
  const waiting = q.whenSynced()
  q.destroy()
  q.destroy()
  await t.throwsAsync(waiting, { message: /destroyed before it synced/ })
  provide(a, new Y.Doc(), {}, 'other').destroy() // the name is free again
  doc.destroy() // destroying the document destroys its provider
  t.true(p.destroyed)
  await a.close()
  t.throws(() => new GlueYjsProvider(a, 'late', new Y.Doc()), { name: 'ClosedError' })
})

const native = isNativeAvailable()
const nativeTest = native ? test : test.skip
nativeTest(`two providers on real loopback endpoints converge${native ? '' : ' (skipped: no addon)'}`, async (t) => {
  const shared = isolatedOptions()
  const eps = [await Endpoint.open({ ...shared, name: 'A' }), await Endpoint.open({ ...shared, name: 'B' })]
  const docs = [new Y.Doc(), new Y.Doc()]
  t.teardown(() => Promise.all(eps.map((ep) => ep.close())))
  docs[0].getText('text').insert(0, 'from A ')
  const providers = eps.map((ep, i) => new GlueYjsProvider(ep, 'loopback', docs[i]))
  t.teardown(() => providers.forEach((p) => p.destroy()))
  t.true(await until(() => eps.every((ep) => ep.peers().length === 1), 5000))
  docs[1].getText('text').insert(0, 'from B ')
  for (let i = 0; i < 50; i++) docs[i % 2].getText('text').insert(0, `${i} `)
  await untilConverged(docs, 10_000)
  await Promise.all(providers.map((p) => p.whenSynced()))
  t.true(docs[0].getText('text').toString().includes('from A'))
  t.true(docs[0].getText('text').toString().includes('from B'))
})
