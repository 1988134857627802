// Lifecycle checks of the built addon from plain Node: a process that exits with an endpoint open still
// says goodbye; a slow consumer gets backpressure (bounded memory) and close() does not deadlock while the
// I/O thread waits for JavaScript; an endpoint dropped without close() is closed by the finalizer.
// Run from the repo root after `napi build`: node --expose-gc crates/glue-node/scripts/lifecycle.cjs
'use strict'
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const bindingPath = path.join(__dirname, '..', '..', '..', 'binding.js')
const { NativeEndpoint } = require(bindingPath)

const group = `239.192.137.251:${20000 + Math.floor(Math.random() * 40000)}`
const config = (name, extra = {}) => ({
  networkId: 0, name, listenAddress: '127.0.0.1:0', interfaceAddress: '127.0.0.1',
  discoveryTarget: group, discoveryListen: group, announcePeriodMs: 100, expiryMultiplier: 3,
  nameClash: 'report', multicastTtl: 1, maxDatagramSize: 1472, maxPeers: 1024, socketBufferSize: 4 << 20,
  ...extra,
})
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
async function until(what, check, ms = 10000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
const events = (log) => (batch) => { for (const e of batch.events) log.push(e) }

async function exitWithoutClose() {
  const log = []
  const watcher = NativeEndpoint.open(config('watcher'), events(log))
  // The child opens an endpoint, waits until it is seen, and ends its script without close().
  const child = spawnSync(process.execPath, ['-e', `
    const { NativeEndpoint } = require(${JSON.stringify(bindingPath)})
    const ep = NativeEndpoint.open(${JSON.stringify(config('child'))}, () => {})
    console.log(ep.id)
    setTimeout(() => {}, 300)
  `], { encoding: 'utf8', timeout: 10000 })
  assert.equal(child.status, 0, child.stderr)
  const childId = child.stdout.trim()
  await until('child left', () => log.some((e) => e.type === 'peer-down' && e.id === childId && e.reason === 'left'))
  console.log('a process exiting with an open endpoint said goodbye (peer-down "left")')
  await watcher.close()
}

async function slowConsumer() {
  let batches = 0, messages = 0
  const slow = NativeEndpoint.open(config('slow'), (batch) => {
    batches++
    for (let i = 0; i < batch.entries.length; i += 4) if (batch.entries[i] !== 3) messages++
    const end = Date.now() + 20
    while (Date.now() < end) {} // a consumer that cannot keep up
  })
  // Another process floods the group with broadcasts for 2 s.
  const flooder = require('node:child_process').spawn(process.execPath, ['-e', `
    const { NativeEndpoint } = require(${JSON.stringify(bindingPath)})
    const ep = NativeEndpoint.open(${JSON.stringify(config('flooder'))}, () => {})
    const payload = Buffer.alloc(1000, 1)
    let queued = 0, full = 0
    const end = Date.now() + 2000
    const burst = () => {
      for (let i = 0; i < 2000; i++) ep.broadcast(payload) ? queued++ : full++
      if (Date.now() < end) setImmediate(burst)
      else ep.close().then(() => console.log(queued + ' queued, ' + full + ' refused (queue full)'))
    }
    burst()
  `], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  flooder.stdout.on('data', (d) => (out += d))
  const flooderExit = new Promise((r) => flooder.on('exit', r))
  const rssBefore = process.memoryUsage().rss
  let rssMax = rssBefore
  const timer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 50)
  await sleep(1500)
  const t0 = Date.now()
  await slow.close() // while the flood goes on and the I/O thread waits for JavaScript
  const closeMs = Date.now() - t0
  clearInterval(timer)
  await flooderExit
  const s = slow.stats()
  console.log(`flooder: ${out.trim()}; slow consumer: ${batches} batches, ${messages} messages,` +
    ` ${s.datagramsReceived} datagrams read; rss grew at most ${(rssMax - rssBefore) >> 20} MiB;` +
    ` close() took ${closeMs} ms`)
}

async function finalizerCloses() {
  const log = []
  const watcher = NativeEndpoint.open(config('watcher2'), events(log))
  let id
  // A slow consumer, flooded below, so that its I/O thread waits on a full queue when it is collected.
  ;(() => {
    id = NativeEndpoint.open(config('dropped'), () => {
      const end = Date.now() + 5
      while (Date.now() < end) {}
    }).id
  })()
  await until('peer-up', () => log.some((e) => e.type === 'peer-up' && e.id === id))
  const payload = Buffer.alloc(1000)
  for (let i = 0; i < 40 && !log.some((e) => e.type === 'peer-down'); i++) {
    for (let j = 0; j < 2000; j++) watcher.broadcast(payload)
    global.gc()
    await sleep(20)
  }
  await until('dropped left', () => log.some((e) => e.type === 'peer-down' && e.id === id && e.reason === 'left'))
  console.log('an endpoint garbage-collected without close() (while its I/O thread waited on JavaScript) said goodbye')
  await watcher.close()
}

async function main() {
  await exitWithoutClose()
  await slowConsumer()
  if (typeof global.gc === 'function') await finalizerCloses()
  else console.log('(run with --expose-gc to check the finalizer)')
}
const started = Date.now()
process.on('exit', (code) => console.log(`exit ${code} after ${Date.now() - started} ms`))
main().catch((e) => { console.error(e); process.exitCode = 1 })
