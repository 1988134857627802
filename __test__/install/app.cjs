// The downstream app of the install tests (prebuilt-install.sh, from-source-install.sh): run from a fresh app
// that installed glue-pubsub from its tarball. Two endpoints on loopback (interface lo, their own group, port and
// network id) find each other; A publishes a reliable topic message with history (so that B gets it whether its
// subscription is known to A before or after the publication) and sends a unicast; B receives both; both close and
// the process exits by itself. Prints which native binary was loaded and one JSON line `{"ok":true,...}`.
'use strict'

const assert = require('node:assert/strict')
const { randomInt } = require('node:crypto')
const { Endpoint } = require('glue-pubsub')
const { until: waitUntil } = require('./until.cjs')

const DEADLINE_MS = Number(process.env.GLUE_APP_DEADLINE_MS || 30000)

function options(name) {
  return {
    name,
    interface: 'lo',
    group: `239.255.${randomInt(0, 256)}.${randomInt(1, 255)}:${randomInt(20000, 60000)}`,
    networkId: randomInt(1, 0xffff_ffff),
    announcePeriodMs: 100,
    env: false,
  }
}

const until = (what, check) => waitUntil(what, check, DEADLINE_MS)

async function main() {
  const started = Date.now()
  const base = options('install-a')
  const a = await Endpoint.open(base)
  const b = await Endpoint.open({ ...base, name: 'install-b' })
  try {
    const received = []
    const direct = []
    b.subscribe('install/check', { callback: (m) => received.push(m.value) })
    b.onMessage((m) => direct.push(String(m.data)))
    await until('peer-up both ways', () => a.peers().some((p) => p.name === 'install-b') && b.peers().some((p) => p.name === 'install-a'))
    await a.publish('install/check', { hello: 'from a' }, { codec: 'json', reliable: true, depth: 10 })
    await a.send('install-b', 'unicast from a', { reliable: true })
    await until('the publication and the unicast at b', () => received.length > 0 && direct.length > 0)
    assert.deepEqual(received[0], { hello: 'from a' })
    assert.equal(direct[0], 'unicast from a')
    const native = Object.keys(require.cache).filter((file) => /glue\.[^/]*\.node$/.test(file))
    console.log(JSON.stringify({ ok: true, ms: Date.now() - started, arch: process.arch, native }))
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
