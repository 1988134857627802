/**
 * The contract between src/transport/native-types.ts and the generated binding.d.ts: checked by the type checker (the
 * declarations below do not compile when they drift apart) and, for the reliable entries, against the real addon.
 */
import anyTest, { type TestFn } from 'ava'

import type * as Binding from '../binding'
import { resolveOptions } from '../index'
import { EntryKind } from '../src/transport/batch-decoder'
import { isNativeAvailable, loadNative } from '../src/transport/native'
import type {
  NativeBatch,
  NativeConfig,
  NativeOpen,
  NativePeerEvent,
  NativePeerStats,
  NativeStats,
  NativeTransport,
} from '../src/transport/native-types'
import { RefuseReason } from '../src/transport/reliable-sender'
import { peerKey, SendSlab } from '../src/transport/send-slab'
import { isolatedOptions, until } from './helpers/loopback'

/** True when each type is assignable to the other (same required fields, compatible types). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

/** Same, and the same field names (optional ones included). */
type Exactly<A, B> = Same<A, B> extends true ? Same<keyof A, keyof B> : false

const contract: {
  config: Exactly<NativeConfig, Binding.NativeConfig>
  batch: Exactly<NativeBatch, Binding.NativeBatch>
  event: Exactly<NativePeerEvent, Binding.NativePeerEvent>
  stats: Exactly<NativeStats, Binding.NativeStats>
  peerStats: Exactly<NativePeerStats, Binding.NativePeerStats>
  endpoint: Binding.NativeEndpoint extends NativeTransport ? true : false
  open: typeof Binding.NativeEndpoint.open extends NativeOpen ? true : false
} = { config: true, batch: true, event: true, stats: true, peerStats: true, endpoint: true, open: true }

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

anyTest('native-types.ts matches binding.d.ts (checked at compile time)', (t) => {
  t.true(Object.values(contract).every(Boolean))
})

test('the real core reports reliable sends as the contract says', async (t) => {
  const batches: NativeBatch[] = []
  const config = resolveOptions({ ...isolatedOptions(), maxMessageSize: 1000 }).native
  const native = loadNative()(config, (batch) => batches.push(batch))
  const entries = () => batches.flatMap((batch) => [...batch.entries])
  const has = (...entry: number[]) => {
    const all = entries()
    for (let i = 0; i + 3 < all.length; i += 4) if (entry.every((value, j) => all[i + j] === value)) return true
    return false
  }
  try {
    t.true(native.sendReliable('0123456789abcdef', Buffer.from('to nobody'), 7))
    t.true(native.broadcastReliable(Buffer.from('to nobody at all'), 0xffff_ffff, 500))
    const refused = () => has(EntryKind.REFUSED, 7, RefuseReason.UNKNOWN_PEER)
    t.true(await until(() => refused() && has(EntryKind.DELIVERED, 0xffff_ffff)))
    t.true(batches.every((batch) => Array.isArray(batch.failures) && Array.isArray(batch.buffers)))
    const tooLarge = t.throws(() => native.sendReliable('0123456789abcdef', Buffer.alloc(1001), 8))
    t.is((tooLarge as Error & { code?: string }).code, 'ERR_GLUE_MESSAGE_TOO_LARGE')
    t.is(typeof native.stats().reliableMessagesSent, 'number')
  } finally {
    await native.close()
  }
  const closed = t.throws(() => native.broadcastReliable(Buffer.from('x'), 9))
  t.is((closed as Error & { code?: string }).code, 'ERR_GLUE_CLOSED')
})

test('the real core hands back a reliable payload it refused for a full send queue', async (t) => {
  const options = isolatedOptions({ sendQueueBytes: 1 << 16 })
  const batches: NativeBatch[] = []
  const open = loadNative()
  const a = open(resolveOptions({ ...options, name: 'full-a' }).native, (batch) => batches.push(batch))
  const b = open(resolveOptions({ ...options, name: 'full-b' }).native, () => {})
  const sees = (id: string) => batches.some((batch) => batch.events.some((e) => e.type === 'peer-up' && e.id === id))
  const refusals = () =>
    batches.flatMap((batch) => {
      const found: { token: number; reason: number; data: string | undefined }[] = []
      for (let i = 0; i + 3 < batch.entries.length; i += 4) {
        if (batch.entries[i] !== EntryKind.REFUSED) continue
        const c = batch.entries[i + 3] as number
        const data = c > 0 ? batch.buffers[c - 1]?.toString() : undefined
        found.push({ token: batch.entries[i + 1] as number, reason: batch.entries[i + 2] as number, data })
      }
      return found
    })
  try {
    t.true(await until(() => sees(b.id)), 'a sees b')
    // One slab is applied in one go, before an ACK can come back: the second record finds the queue full.
    const slab = new SendSlab()
    slab.append(1, peerKey(b.id), undefined, Buffer.alloc((1 << 16) - 10, 1))
    slab.append(2, peerKey(b.id), undefined, Buffer.from('refused, handed back'))
    t.true(a.sendSlab(slab.bytes()))
    t.true(await until(() => refusals().length > 0))
    t.deepEqual(refusals(), [{ token: 2, reason: RefuseReason.QUEUE_FULL, data: 'refused, handed back' }])
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})
