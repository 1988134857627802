/**
 * Unit tests of the send path's fast paths, on the fake transport: peers by exact ID, other case or name; send
 * options checked without allocating.
 */
import test, { type ExecutionContext } from 'ava'

import { Endpoint, InvalidOptionError, UnknownPeerError } from '../index'
import { checkSendOptions } from '../src/transport/send-options'
import { BatchBuilder, fakeOpen } from './helpers/fake-transport'

const A = { id: 'aaaaaaaaaaaaaaaa', name: 'A' }
const reliable = { reliable: true } as const

async function openFake(t: ExecutionContext) {
  const { open, transports } = fakeOpen()
  const ep = await Endpoint.openWith(open, { env: false, name: 'self' })
  t.teardown(() => ep.close())
  const native = transports[0]
  native.deliver(new BatchBuilder().peerUp(A).build())
  return { ep, native }
}

test('send() finds a peer by exact ID, by ID in other case, or by name', async (t) => {
  const { ep, native } = await openFake(t)
  await Promise.all([
    ep.send(A.id, 'exact', reliable),
    ep.send(A.id.toUpperCase(), 'upper', reliable),
    ep.send('A', 'name', reliable),
  ])
  t.deepEqual(
    native.reliable.map((s) => [s.peerId, s.data.toString()]),
    [
      [A.id, 'exact'],
      [A.id, 'upper'],
      [A.id, 'name'],
    ],
  )
  await t.throwsAsync(ep.send('bbbbbbbbbbbbbbbb', 'x', reliable), { instanceOf: UnknownPeerError })
  await ep.close()
})

test('send options: own unknown keys are rejected, inherited ones ignored, as with Object.keys', (t) => {
  t.is(checkSendOptions({ reliable: true }), undefined)
  t.is(checkSendOptions({ reliable: true, deadlineMs: 250 }), 250)
  t.throws(() => checkSendOptions({ reliable: true, deadline: 5 }), { instanceOf: InvalidOptionError, message: /deadline/ })
  const inherited = Object.create({ somethingElse: 1 }) as { reliable?: boolean }
  inherited.reliable = true
  t.is(checkSendOptions(inherited), undefined)
  t.throws(() => checkSendOptions({ deadlineMs: 0 }), { instanceOf: InvalidOptionError })
})
