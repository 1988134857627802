/**
 * Endpoints in Worker threads, in both receive modes: a Worker that ends with its endpoint open (terminated, or
 * exiting by itself), or right after close() while traffic flows, tears down cleanly — no crash, no hang — and the
 * endpoint's peers see it go. Real addon, loopback only.
 */
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'

import anyTest, { type TestFn } from 'ava'

import { Endpoint, type EndpointOptions } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
const DIST = join(__dirname, '..', 'dist', 'index.js')

/** A Worker that opens an endpoint, echoes reliable messages, reports 'open', then ends as `end` says. */
function worker(options: EndpointOptions, end: 'stay' | 'exit' | 'close-then-exit'): Worker {
  const code = `
    const { Endpoint } = require(${JSON.stringify(DIST)})
    const { parentPort, workerData } = require('node:worker_threads')
    ;(async () => {
      const ep = await Endpoint.open(workerData.options)
      ep.onMessage((m) => { ep.send(m.from, m.data, { reliable: true }).catch(() => {}) })
      parentPort.postMessage('open')
      parentPort.on('message', async () => {
        if (workerData.end === 'exit') process.exit(0)
        if (workerData.end === 'close-then-exit') { void ep.close(); process.exit(0) }
      })
    })()`
  return new Worker(code, { eval: true, workerData: { options, end } })
}

for (const receiveOn of ['js', 'io'] as const) {
  for (const end of ['terminate', 'exit', 'close-then-exit'] as const) {
    test(`receiveOn ${receiveOn}: a Worker whose endpoint is open and busy ends (${end}); its peer sees it leave`, async (t) => {
      const shared = isolatedOptions({ receiveOn })
      const main = await Endpoint.open({ ...shared, name: 'main' })
      t.teardown(() => main.close())
      for (let round = 0; round < 3; round++) {
        const w = worker({ ...shared, name: `w${round}`, env: false }, end === 'terminate' ? 'stay' : end)
        const exited = new Promise<number>((resolve) => w.once('exit', resolve))
        await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })
        t.true(await until(() => main.peers().some((p) => p.name === `w${round}`), 10_000), 'the worker is a peer')
        const peer = main.peers().find((p) => p.name === `w${round}`)!
        // Traffic in flight while the Worker ends.
        const echoes = Array.from({ length: 200 }, (_, i) => main.send(peer.id, `m${i}`, { reliable: true, deadlineMs: 2000 }).catch(() => 'failed'))
        if (end === 'terminate') await w.terminate()
        else w.postMessage('end')
        t.is(typeof (await exited), 'number', 'the Worker ended')
        t.true(await until(() => !main.peers().some((p) => p.id === peer.id), 10_000), 'its peer saw it go')
        await Promise.all(echoes)
      }
    })
  }
}
