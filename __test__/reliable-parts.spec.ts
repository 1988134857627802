/**
 * Unit tests of the small pieces of the reliable send path: the queues, the flush tracker, token allocation and
 * the send options.
 */
import test from 'ava'

import { InvalidOptionError } from '../index'
import { Fifo, MinHeap } from '../src/util/fifo'
import { FlushTracker } from '../src/transport/flush-tracker'
import { freeToken } from '../src/transport/reliable-sender'
import { checkSendOptions, isReliable } from '../src/transport/send-options'

test('Fifo: push, shift, unshift, remove, in order across compaction', (t) => {
  const fifo = new Fifo<number>()
  t.is(fifo.shift(), undefined)
  for (let i = 0; i < 5000; i++) fifo.push(i)
  for (let i = 0; i < 3000; i++) t.is(fifo.shift(), i)
  fifo.unshift(2999)
  t.is(fifo.size, 2001)
  t.is(fifo.peek(), 2999)
  t.true(fifo.remove(4000))
  t.false(fifo.remove(4000))
  const rest = fifo.toArray()
  t.is(rest.length, 2000)
  t.deepEqual(rest.slice(0, 3), [2999, 3000, 3001])
  t.false(rest.includes(4000))
  fifo.clear()
  t.is(fifo.size, 0)
  fifo.unshift(1)
  t.is(fifo.shift(), 1)
})

test('Fifo.insertBefore: before the oldest item after it, at the back if none, with a moved head', (t) => {
  const fifo = new Fifo<number>()
  for (const n of [0, 1, 5, 7]) fifo.push(n)
  fifo.shift() // the head has moved
  fifo.insertBefore(0.5, (other) => other > 0.5) // before the oldest: the unshift path
  fifo.insertBefore(3, (other) => other > 3)
  fifo.insertBefore(9, (other) => other > 9)
  t.deepEqual(fifo.toArray(), [0.5, 1, 3, 5, 7, 9])
  t.is(fifo.size, 6)
  const empty = new Fifo<number>()
  empty.insertBefore(4, () => true)
  t.deepEqual(empty.toArray(), [4])
})

test('MinHeap pops in key order', (t) => {
  const heap = new MinHeap<{ k: number }>((item) => item.k)
  const keys = Array.from({ length: 500 }, (_, i) => (i * 7919) % 503)
  for (const k of keys) heap.push({ k })
  t.is(heap.size, 500)
  const out: number[] = []
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item.k)
  t.deepEqual(
    out,
    [...keys].sort((a, b) => a - b),
  )
  t.is(heap.peek(), undefined)
})

test('FlushTracker: a flush waits for what was added before it, not after', async (t) => {
  const tracker = new FlushTracker()
  await tracker.flush() // nothing pending: resolves at once
  const a = tracker.add()
  const b = tracker.add()
  let first = false
  const flushed = tracker.flush().then(() => (first = true))
  const c = tracker.add() // after the flush: not waited for
  let second = false
  const flushedLater = tracker.flush().then(() => (second = true))
  tracker.settled(b)
  await Promise.resolve()
  t.false(first)
  tracker.settled(a)
  await flushed
  t.true(first)
  t.false(second)
  t.is(tracker.unsettled, 1)
  tracker.settled(c)
  await flushedLater
  t.is(tracker.unsettled, 0)
})

test('FlushTracker: the current generation is counted apart; settling it wakes no earlier flush too soon', async (t) => {
  const tracker = new FlushTracker()
  const a = tracker.add()
  tracker.settled(tracker.add()) // settled within the current generation
  t.is(tracker.unsettled, 1)
  let first = false
  const flushed = tracker.flush().then(() => (first = true))
  const b = tracker.add()
  tracker.settled(b) // the new current generation drains: the flush still waits for a
  await Promise.resolve()
  t.false(first)
  t.is(tracker.unsettled, 1)
  const c = tracker.add()
  tracker.settled(a)
  await flushed
  t.is(tracker.unsettled, 1)
  tracker.settled(c)
  t.is(tracker.unsettled, 0)
  await tracker.flush() // nothing pending in any generation: at once
})

test('FlushTracker: an aborted flush rejects with the reason and stops waiting', async (t) => {
  const tracker = new FlushTracker()
  tracker.add()
  const controller = new AbortController()
  const waiting = tracker.flush(controller.signal)
  controller.abort(new Error('stop'))
  await t.throwsAsync(waiting, { message: 'stop' })
  await t.throwsAsync(tracker.flush(controller.signal), { message: 'stop' })
})

test('freeToken wraps around u32 and skips tokens still pending', (t) => {
  const none = new Set<number>()
  t.is(freeToken(0, none), 0)
  t.is(freeToken(0x1_0000_0000, none), 0)
  const taken = new Set([0xffff_fffe, 0xffff_ffff, 0, 1])
  t.is(freeToken(0xffff_fffe, taken), 2)
  t.is(freeToken(5, taken), 5)
})

test('send options: reliable selects the Promise path; bad values are InvalidOptionError naming the option', (t) => {
  t.true(isReliable({ reliable: true }))
  t.false(isReliable({ reliable: false }))
  t.false(isReliable(undefined))
  t.is(checkSendOptions(undefined), undefined)
  t.is(checkSendOptions({ reliable: true }), undefined)
  t.is(checkSendOptions({ reliable: true, deadlineMs: undefined }), undefined)
  t.is(checkSendOptions({ reliable: true, deadlineMs: 250.5 }), 250.5)
  const bad: [unknown, string][] = [
    [{ reliable: true, deadlineMs: 0 }, 'deadlineMs'],
    [{ reliable: true, deadlineMs: -5 }, 'deadlineMs'],
    [{ reliable: true, deadlineMs: 2_147_483_648 }, 'deadlineMs'],
    [{ reliable: true, deadlineMs: Number.NaN }, 'deadlineMs'],
    [{ reliable: true, deadlineMs: '100' }, 'deadlineMs'],
    [{ reliable: 'yes' }, 'reliable'],
    [{ relaible: true }, 'relaible'],
  ]
  for (const [options, option] of bad) {
    const err = t.throws(() => checkSendOptions(options), { instanceOf: InvalidOptionError })
    t.is(err?.option, option)
    t.true(err?.message.includes(option), err?.message)
  }
  t.throws(() => checkSendOptions(42), { instanceOf: InvalidOptionError })
  t.throws(() => checkSendOptions(null), { instanceOf: InvalidOptionError })
})
