#!/usr/bin/env node
'use strict';
// bench/glue/unicast-discovery.js — unicast-only discovery (issue 12): time until 8 endpoints with `multicast: false`
// all see each other (every one has the 7 others in peers()), each given one peer address only, on loopback in one
// process (each endpoint has its own native I/O thread). Two shapes: a ring (endpoint i is given i + 1's address) and
// a star (every endpoint is given endpoint 0's, endpoint 0 endpoint 1's). The clock starts before the first open and
// stops when the last endpoint sees all the others; fixed ports so that all can be opened at once. Rounds at the
// default announce period (1 s) and at 100 ms; the median and the worst of `rounds` rounds each.
//
//   node bench/glue/unicast-discovery.js [--rounds N]      (alone; needs dist/: `npx tsc -p tsconfig.build.json`)
const { randomInt } = require('node:crypto');
const path = require('node:path');

const N = 8;

function glue() {
  // eslint-disable-next-line global-require
  return require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
}

/** One round: ms until all `N` see each other. */
async function round(shape, announcePeriodMs) {
  const { Endpoint } = glue();
  const base = 20_000 + randomInt(0, 40_000 - N);
  const networkId = randomInt(1, 0xffff_ffff);
  const addr = (i) => `127.0.0.1:${base + i}`;
  const peerOf = (i) => (shape === 'ring' ? addr((i + 1) % N) : addr(i === 0 ? 1 : 0));
  const t0 = process.hrtime.bigint();
  const eps = await Promise.all(Array.from({ length: N }, (_, i) => Endpoint.open({
    name: `d${i}`, networkId, interface: '127.0.0.1', listenAddress: addr(i), multicast: false, peers: [peerOf(i)],
    announcePeriodMs, env: false,
  })));
  try {
    const done = () => eps.every((e) => e.peers().length === N - 1);
    await new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`${shape}: not discovered within 60 s`)), 60_000);
      const check = () => { if (done()) { clearTimeout(deadline); resolve(); } };
      for (const e of eps) e.onStatus(check);
      check();
    });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    await Promise.all(eps.map((e) => e.close()));
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

/** Every shape at both periods: { ring_1000: { medianMs, maxMs, runs }, ... }. */
async function run({ rounds = 5, log = () => {} } = {}) {
  const out = {};
  for (const announcePeriodMs of [1000, 100]) {
    for (const shape of ['ring', 'star']) {
      const runs = [];
      for (let r = 0; r < rounds; r++) runs.push(await round(shape, announcePeriodMs));
      out[`${shape}_${announcePeriodMs}`] = { medianMs: median(runs), maxMs: Math.max(...runs), runs };
      log(`unicast discovery ${shape}, period ${announcePeriodMs} ms: median ${median(runs).toFixed(0)} ms`);
    }
  }
  return out;
}

/** The bench table's rows: [name, figure, detail]. */
function rows(r) {
  const fmt = (x) => `${Math.round(x)} ms`;
  return Object.entries(r).map(([key, v]) => {
    const [shape, period] = key.split('_');
    return [`8 endpoints, multicast off, one peer address each (${shape}), announce period ${period} ms`, fmt(v.medianMs),
      `worst ${fmt(v.maxMs)}; rounds ${v.runs.map(fmt).join(', ')}`];
  });
}

module.exports = { run, rows };

if (require.main === module) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i >= 0 ? Math.max(1, Number(process.argv[i + 1]) || 5) : 5;
  run({ rounds, log: (m) => process.stderr.write(`${m}\n`) }).then((r) => {
    console.log('unicast-only discovery: time until 8 endpoints all see each other (median of rounds)');
    for (const [name, figure, detail] of rows(r)) console.log(`  ${name}: ${figure}  (${detail})`);
  }, (err) => { console.error(err); process.exitCode = 1; });
}
