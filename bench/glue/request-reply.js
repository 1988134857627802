#!/usr/bin/env node
'use strict';
// bench/glue/request-reply.js — request/reply: the round trip of `ep.request()` (one request at a time: p50 and p99)
// and the rate with 64 requests in flight, between two endpoints in one process on loopback (each endpoint has its
// own native I/O thread), JSON values of ~30 bytes, a replier that answers at once. Also the same round trip to a
// local replier (same endpoint: no network), the floor of the layer's own cost.
//
//   node bench/glue/request-reply.js [--seconds N]      (alone; needs dist/: `npx tsc -p tsconfig.build.json`)
const { randomInt } = require('node:crypto');
const path = require('node:path');
const { percentile } = require('../lib/stats');

const argv = process.argv.slice(2);
const seconds = (() => { const i = argv.indexOf('--seconds'); return i >= 0 ? Math.max(1, Number(argv[i + 1]) || 3) : 3; })();

function glue() {
  // eslint-disable-next-line global-require
  return require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
}

/** Sequential requests for `ms`: round-trip samples in µs. */
async function sequential(requester, topic, ms) {
  const samples = [];
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end; i++) {
    const t0 = performance.now();
    await requester.request(topic, { i, note: 'bench' }, { codec: 'json' });
    samples.push((performance.now() - t0) * 1000);
  }
  return samples;
}

/** `inFlight` requests kept pending for `ms`: replies per second. */
async function pipelined(requester, topic, ms, inFlight) {
  let done = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  const lane = async () => {
    while (performance.now() < end) {
      await requester.request(topic, { n: done }, { codec: 'json' });
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return done / ((performance.now() - t0) / 1000);
}

async function main() {
  const { Endpoint } = glue();
  const base = { interface: '127.0.0.1', group: `239.255.${randomInt(0, 256)}.${randomInt(1, 255)}:${randomInt(20000, 60000)}`, networkId: randomInt(1, 0xffff_ffff), announcePeriodMs: 100, env: false };
  const a = await Endpoint.open({ ...base, name: 'replier' });
  const b = await Endpoint.open({ ...base, name: 'requester' });
  try {
    a.reply('bench/+', (req) => req.value);
    b.reply('local/+', (req) => req.value);
    await b.waitForRepliers('bench/x', { timeoutMs: 10_000 }); // TimeoutError when the replier is not discovered
    await sequential(b, 'bench/x', 300); // warm-up
    const remote = await sequential(b, 'bench/x', seconds * 1000);
    const local = await sequential(b, 'local/x', seconds * 1000);
    const rate = await pipelined(b, 'bench/x', seconds * 1000, 64);
    const row = (name, s) => `| ${name} | ${s.length} | ${percentile(s, 50).toFixed(0)} | ${percentile(s, 99).toFixed(0)} |`;
    console.log('| request/reply (loopback, JSON ~30 B) | requests | p50 µs | p99 µs |');
    console.log('|---|---|---|---|');
    console.log(row('request() to a peer, one at a time', remote));
    console.log(row('request() to a local replier, one at a time', local));
    console.log(`\n64 requests in flight to the peer: ${Math.round(rate)} replies/s`);
    console.log(JSON.stringify({ remote: { n: remote.length, p50: percentile(remote, 50), p99: percentile(remote, 99) }, local: { n: local.length, p50: percentile(local, 50), p99: percentile(local, 99) }, pipelinedPerSecond: rate }));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
