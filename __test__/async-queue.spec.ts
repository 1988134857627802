import test from 'ava'

import { AsyncQueue } from '../src/util/async-queue'

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

test('yields pushed items in order, then ends after end()', async (t) => {
  const queue = new AsyncQueue<number>({ limit: 10 })
  queue.push(1)
  queue.push(2)
  queue.end()
  queue.push(3) // ignored after end
  t.deepEqual(await drain(queue), [1, 2])
})

test('a waiting consumer gets the item pushed later', async (t) => {
  const queue = new AsyncQueue<string>({ limit: 10 })
  const next = queue.next()
  queue.push('a')
  t.deepEqual(await next, { done: false, value: 'a' })
  t.is(queue.size, 0)
})

test('when full, the oldest item is dropped and counted', async (t) => {
  let dropped = 0
  const queue = new AsyncQueue<number>({ limit: 3, onDrop: () => dropped++ })
  for (let i = 0; i < 10; i++) queue.push(i)
  t.is(queue.size, 3)
  t.is(dropped, 7)
  queue.end()
  t.deepEqual(await drain(queue), [7, 8, 9])
})

test('stays bounded and in order over many pushes (compaction)', async (t) => {
  let dropped = 0
  const queue = new AsyncQueue<number>({ limit: 100, onDrop: () => dropped++ })
  for (let i = 0; i < 10_000; i++) queue.push(i)
  t.is(queue.size, 100)
  t.is(dropped, 9_900)
  for (let i = 0; i < 50; i++) t.is((await queue.next()).value, 9_900 + i)
  for (let i = 0; i < 3_000; i++) queue.push(10_000 + i)
  queue.end()
  const rest = await drain(queue)
  t.is(rest.length, 100)
  t.is(rest[0], 12_900)
  t.is(rest[99], 12_999)
})

test('abort rejects the pending next() with the signal reason and finishes', async (t) => {
  let finished = 0
  const controller = new AbortController()
  const queue = new AsyncQueue<number>({ limit: 10, signal: controller.signal, onFinish: () => finished++ })
  const next = queue.next()
  controller.abort()
  await t.throwsAsync(next, { any: true, name: 'AbortError' })
  t.is(finished, 1)
  t.deepEqual(await queue.next(), { done: true, value: undefined })
})

test('abort with buffered items: the next next() rejects, items are discarded', async (t) => {
  const controller = new AbortController()
  const queue = new AsyncQueue<number>({ limit: 10, signal: controller.signal })
  queue.push(1)
  controller.abort(new Error('stop'))
  await t.throwsAsync(queue.next(), { message: 'stop' })
  t.deepEqual(await queue.next(), { done: true, value: undefined })
})

test('an already aborted signal makes for-await throw at once', async (t) => {
  let finished = 0
  const queue = new AsyncQueue<number>({ limit: 10, signal: AbortSignal.abort(), onFinish: () => finished++ })
  await t.throwsAsync(drain(queue), { any: true, name: 'AbortError' })
  t.is(finished, 1)
})

test('break in for-await calls return(): buffer cleared, onFinish once, later pushes ignored', async (t) => {
  let finished = 0
  const queue = new AsyncQueue<number>({ limit: 10, onFinish: () => finished++ })
  queue.push(1)
  queue.push(2)
  for await (const item of queue) {
    t.is(item, 1)
    break
  }
  t.is(finished, 1)
  t.true(queue.finished)
  queue.push(3)
  t.is(queue.size, 0)
  t.deepEqual(await queue.next(), { done: true, value: undefined })
  await queue.return()
  t.is(finished, 1)
})

test('end() resolves a waiting consumer with done', async (t) => {
  const queue = new AsyncQueue<number>({ limit: 10 })
  const next = queue.next()
  queue.end()
  t.deepEqual(await next, { done: true, value: undefined })
})

test('the abort listener is removed when the queue finishes', (t) => {
  const controller = new AbortController()
  const queue = new AsyncQueue<number>({ limit: 1, signal: controller.signal })
  queue.end()
  t.true(queue.finished)
  controller.abort() // must not throw or change anything
  t.true(queue.finished)
})
