// Smoke test of the built addon from plain Node (no TypeScript): two endpoints on loopback discover each
// other, exchange a unicast and a broadcast, report errors with codes, close, and the process exits by
// itself. Run from the repo root after `napi build`: node crates/glue-node/scripts/smoke.cjs
'use strict'
const assert = require('node:assert/strict')
const path = require('node:path')
const { NativeEndpoint } = require(path.join(__dirname, '..', '..', '..', 'binding.js'))

const port = 20000 + Math.floor(Math.random() * 40000)
const group = `239.192.137.250:${port}`
const config = (name, extra = {}) => ({
  networkId: 0, name, listenAddress: '127.0.0.1:0', interfaceAddress: '127.0.0.1',
  discoveryTarget: group, discoveryListen: group, announcePeriodMs: 100, expiryMultiplier: 3,
  nameClash: 'report', multicastTtl: 1, maxDatagramSize: 1472, maxPeers: 1024, socketBufferSize: 4 << 20,
  ...extra,
})

function recorder(log) {
  return (batch) => {
    assert.ok(Buffer.isBuffer(batch.data) && batch.entries instanceof Uint32Array)
    for (let i = 0; i < batch.entries.length; i += 4) {
      const [kind, a, b, c] = batch.entries.subarray(i, i + 4)
      if (kind === 3) log.push(batch.events[a])
      else log.push({ from: batch.peerIds[a], broadcast: kind === 2, text: batch.data.toString('utf8', b, b + c) })
    }
  }
}

async function until(what, check, ms = 5000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function codeOf(fn) {
  try { fn() } catch (e) { return `${e.code}: ${e.message}` }
  return 'no error'
}

async function main() {
  const logA = [], logB = []
  const a = NativeEndpoint.open(config('smoke-a'), recorder(logA))
  const b = NativeEndpoint.open(config('smoke-b'), recorder(logB))
  console.log('opened', a.id, a.address, b.id, b.address)
  await until('peer-up', () => logA.some((e) => e.type === 'peer-up' && e.id === b.id) &&
    logB.some((e) => e.type === 'peer-up' && e.id === a.id))
  console.log('peer-up seen by a:', JSON.stringify(logA.find((e) => e.type === 'peer-up')))

  assert.equal(a.send(b.id, Buffer.from('hello b')), true)
  assert.equal(b.broadcast(new TextEncoder().encode('hello all')), true)
  await until('messages', () => logB.some((m) => m.text === 'hello b' && m.from === a.id && !m.broadcast) &&
    logA.some((m) => m.text === 'hello all' && m.from === b.id && m.broadcast))
  console.log('unicast and broadcast arrived')

  console.log(codeOf(() => a.send('not-an-id', Buffer.from('x'))))
  console.log(codeOf(() => a.broadcast(Buffer.alloc(1449))))
  console.log(codeOf(() => NativeEndpoint.open(config('x', { interfaceAddress: '192.0.2.1' }), () => {})))
  console.log(codeOf(() => NativeEndpoint.open(config('x', { announcePeriodMs: 0 }), () => {})))
  console.log(codeOf(() => NativeEndpoint.open(config('x', { listenAddress: a.address }), () => {})))
  console.log(codeOf(() => NativeEndpoint.open(config('', {}), () => {})))

  await a.close()
  await until('peer-down left', () => logB.some((e) => e.type === 'peer-down' && e.id === a.id && e.reason === 'left'))
  console.log('b saw a leave:', JSON.stringify(logB.find((e) => e.type === 'peer-down')))
  console.log(codeOf(() => a.send(b.id, Buffer.from('late'))))
  await Promise.all([a.close(), b.close(), b.close()])
  const s = b.stats()
  console.log('b stats:', JSON.stringify(s))
  assert.ok(s.messagesReceived >= 1 && s.announcementsReceived >= 1)
  console.log('closed; the process should exit now')
}

const started = Date.now()
process.on('exit', (code) => console.log(`exit ${code} after ${Date.now() - started} ms`))
// Something must keep the loop alive while waiting: the endpoints do not (weak callback); timers do.
main().catch((e) => { console.error(e); process.exitCode = 1 })
