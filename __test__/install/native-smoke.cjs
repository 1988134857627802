// Load-and-call smoke test of a native binary through the generated loader, for a binary that may run under
// emulation (arm64-qemu.sh runs it with an arm64 node under qemu-user): `node native-smoke.cjs <binding.js>`.
// 1. Without sockets: a one-voter Raft group (tikv raft, protobuf) elects itself, commits a proposal, and a bad
//    call throws with its ERR_GLUE_ code; an endpoint with a bad option is refused with ERR_GLUE_INVALID_OPTION.
// 2. Network: two NativeEndpoints on loopback (127.0.0.1, their own group and network id) find each other,
//    exchange a unicast and a broadcast, and close. qemu-user does not emulate every socket option (7.2 answers
//    setsockopt IP_MULTICAST_ALL with ENOPROTOOPT): when opening fails that way, the network part is reported as
//    `"network":"skipped: ..."` and the rest still counts; any other failure fails the test.
// Generous deadlines (GLUE_SMOKE_DEADLINE_MS, default 120 s): under emulation on a loaded machine everything is
// many times slower. Prints one JSON line `{"ok":true,...}` and exits 0, or prints the error and exits 1.
'use strict'

const assert = require('node:assert/strict')
const path = require('node:path')
const { until: waitUntil } = require('./until.cjs')

const bindingPath = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'binding.js'))
const DEADLINE_MS = Number(process.env.GLUE_SMOKE_DEADLINE_MS || 120000)

const port = 20000 + Math.floor(Math.random() * 40000)
const group = `239.192.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}:${port}`
const networkId = 1 + Math.floor(Math.random() * 0xfffffff0)
const config = (name) => ({
  networkId, name, listenAddress: '127.0.0.1:0', interfaceAddress: '127.0.0.1',
  discoveryTarget: group, discoveryListen: group, announcePeriodMs: 100, expiryMultiplier: 10,
  nameClash: 'report', multicastTtl: 1, maxDatagramSize: 1472, maxPeers: 1024, socketBufferSize: 1 << 20,
})

/** Records the batches the native side hands over: events, and messages as text. */
function recorder(log) {
  return (batch) => {
    for (let i = 0; i < batch.entries.length; i += 4) {
      const [kind, a, b, c] = batch.entries.subarray(i, i + 4)
      if (kind === 3) log.push(batch.events[a])
      else log.push({ from: batch.peerIds[a], broadcast: kind === 2, text: batch.data.toString('utf8', b, b + c) })
    }
  }
}

const until = (what, check) => waitUntil(what, check, DEADLINE_MS)

function codeOf(fn) {
  try {
    fn()
  } catch (err) {
    return err.code
  }
  return 'no error'
}

/** Part 1: a one-voter Raft group commits an entry; bad calls throw coded errors. Returns the error codes seen. */
function raftAndErrors(binding) {
  const solo = binding.NativeRaftGroup.open({ id: 1n, voters: ['0000000000000001'] })
  const committed = []
  const drain = () => {
    for (let r = solo.ready(); r !== null; r = solo.ready()) {
      committed.push(...r.committed.filter((e) => e.kind === 'normal' && e.data.length > 0).map((e) => e.data.toString()))
    }
  }
  solo.campaign()
  drain()
  assert.equal(solo.status().role, 'leader')
  solo.propose(Buffer.from('hello raft'))
  drain()
  assert.deepEqual(committed, ['hello raft'])
  const unknownPeer = codeOf(() => solo.transferLeader('not-an-id'))
  solo.close()
  const closed = codeOf(() => solo.propose(Buffer.from('late')))
  assert.equal(closed, 'ERR_GLUE_CLOSED')
  const badOption = codeOf(() => binding.NativeEndpoint.open({ ...config('bad'), announcePeriodMs: 0 }, () => {}))
  assert.equal(badOption, 'ERR_GLUE_INVALID_OPTION')
  return { raftCommitted: committed, codes: [unknownPeer, closed, badOption] }
}

async function main() {
  const started = Date.now()
  const binding = require(bindingPath)
  const { NativeEndpoint } = binding
  const loaded = Object.keys(require.cache).filter((file) => /glue\.[^/]*\.node$/.test(file))
  const local = raftAndErrors(binding)
  const report = { ok: true, arch: process.arch, node: process.version, loaded, ...local }
  let probe
  try {
    probe = NativeEndpoint.open(config('smoke-probe'), recorder([]))
  } catch (err) {
    if (err.code === 'ERR_GLUE_SOCKET' && /Protocol not available|os error 92/.test(err.message)) {
      report.network = `skipped: ${err.message} (a socket option this emulator does not emulate)`
      console.log(JSON.stringify({ ...report, ms: Date.now() - started }))
      return
    }
    throw err
  }
  await probe.close()
  const logA = []
  const logB = []
  let code = 'no error'
  const a = NativeEndpoint.open(config('smoke-a'), recorder(logA))
  const b = NativeEndpoint.open(config('smoke-b'), recorder(logB))
  try {
    await until('peer-up both ways', () =>
      logA.some((e) => e.type === 'peer-up' && e.id === b.id) && logB.some((e) => e.type === 'peer-up' && e.id === a.id))
    assert.equal(a.send(b.id, Buffer.from('hello b')), true)
    assert.equal(b.broadcast(Buffer.from('hello all')), true)
    await until('the unicast at b and the broadcast at a', () =>
      logB.some((m) => m.text === 'hello b' && m.from === a.id && !m.broadcast) &&
      logA.some((m) => m.text === 'hello all' && m.from === b.id && m.broadcast))
    try {
      a.send('not-an-id', Buffer.from('x'))
    } catch (err) {
      code = err.code
    }
    assert.match(code, /^ERR_GLUE_/)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
  assert.ok(b.stats().messagesReceived >= 1)
  report.network = `unicast and broadcast exchanged on loopback, bad send: ${code}`
  console.log(JSON.stringify({ ...report, ms: Date.now() - started }))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
