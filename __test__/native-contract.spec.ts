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
