import test from 'ava'

import { decodeSlab, peerKey, SLAB_HEADER_BYTES, SendSlab } from '../src/transport/send-slab'

test('records round-trip: header layout, broadcast flag, deadlines rounded up, growth beyond 64 KiB', (t) => {
  const slab = new SendSlab()
  slab.append(7, peerKey('0102030405060708'), undefined, Buffer.from('hi'))
  t.is(
    Buffer.from(slab.bytes()).toString('hex'),
    // length 2, token 7, peer 0x0102030405060708 LE, default deadline, flags 0, payload
    '02000000' + '07000000' + '0807060504030201' + 'ffffffff' + '00000000' + '6869',
  )
  slab.append(8, undefined, 1.2, new Uint8Array(0))
  const big = Buffer.alloc(100_000, 5)
  slab.append(9, peerKey('ffffffffffffffff'), 0.001, big)
  t.is(slab.count, 3)
  t.is(slab.bytes().length, 3 * SLAB_HEADER_BYTES + 2 + 100_000)
  const records = decodeSlab(slab.bytes())
  t.deepEqual(
    records.map((r) => [r.token, r.peerId, r.deadlineMs, r.data.length]),
    [
      [7, '0102030405060708', undefined, 2],
      [8, undefined, 2, 0],
      [9, 'ffffffffffffffff', 1, 100_000],
    ],
  )
  t.true(Buffer.from(records[2]?.data ?? []).equals(big))
  slab.clear()
  t.is(slab.count, 0)
  t.is(slab.bytes().length, 0)
})

test('malformed slabs are named by record', (t) => {
  const slab = new SendSlab()
  slab.append(1, undefined, undefined, Buffer.from('abc'))
  const bytes = Buffer.from(slab.bytes())
  t.throws(() => decodeSlab(bytes.subarray(0, bytes.length - 1)), { message: /record 0: payload runs past/ })
  t.throws(() => decodeSlab(Buffer.concat([bytes, Buffer.alloc(3)])), { message: /record 1: truncated header/ })
  bytes[20] = 4
  t.throws(() => decodeSlab(bytes), { message: /record 0: unknown flags/ })
})
