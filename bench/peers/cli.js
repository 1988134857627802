#!/usr/bin/env node
'use strict';
// bench/peers/cli.js — run every peer benchmark once, on loopback only, and print a table.
//
//   node bench/peers/cli.js [--seconds N] [--json]
//
// Measures (each a few seconds; about 45 s in all with the default 3 s windows):
//   ddsperf  64 B reliable and best-effort throughput, 64 B ping-pong round trip (unpinned, both processes on one
//            CPU, on two CPUs), 1 MiB reliable throughput                            -> see ddsperf.js
//   mosquitto + mqtt.js: 64 B throughput at QoS 0 and QoS 1, QoS 0 ping-pong        -> see mqtt.js
// runPeers() returns the raw results; peerRows() turns them into rows for stats.comparisonTable(), each with a
// stable `key`, so glue's benchmark can add `values.glue` and print ratios "glue / ddsperf" in the same run.
// Prerequisites: `bash bench/peers/install.sh` (ddsperf, mosquitto) and `npm install` (mqtt).

const ddsperf = require('./ddsperf');
const mqtt = require('./mqtt');
const { comparisonTable } = require('../lib/stats');

/** Run all peer measurements in sequence. log(msg) reports progress. Failures are recorded, not thrown. */
async function runPeers({ seconds = 3, log = () => {} } = {}) {
  const results = { errors: {} };
  const step = async (name, fn) => {
    log(`peers: ${name} ...`);
    try { results[name] = await fn(); } catch (e) { results.errors[name] = e.message; log(`peers: ${name} FAILED: ${e.message}`); }
  };
  await step('ddsTput64', () => ddsperf.throughput(64, seconds));
  await step('ddsTput64be', () => ddsperf.throughput(64, seconds, { reliable: false }));
  await step('ddsLat64', () => ddsperf.latency(64, seconds));
  await step('ddsLat64same', () => ddsperf.latency(64, seconds, { pin: 'same' }));
  await step('ddsLat64split', () => ddsperf.latency(64, seconds, { pin: 'split' }));
  await step('ddsLarge', () => ddsperf.large(1 << 20, seconds));
  await step('mqtt', () => mqtt.runAll({ seconds }));
  return results;
}

/** Comparison rows ({ key, name, kind, values: { ddsperf, mosquitto } }) from runPeers() results. */
function peerRows(r) {
  const g = (o, k) => (o ? o[k] : undefined);
  const m = r.mqtt || {};
  return [
    { key: 'tput64_reliable', name: '64 B msg/s, reliable (DDS) / QoS 1', kind: 'rate',
      values: { ddsperf: g(r.ddsTput64, 'msgsPerSec'), mosquitto: g(m.qos1, 'msgsPerSec') } },
    { key: 'tput64_besteffort', name: '64 B msg/s, best-effort / QoS 0', kind: 'rate',
      values: { ddsperf: g(r.ddsTput64be, 'msgsPerSec'), mosquitto: g(m.qos0, 'msgsPerSec') } },
    { key: 'rtt64_p50', name: '64 B round trip p50 (unpinned)', kind: 'us',
      values: { ddsperf: g(r.ddsLat64, 'p50Us'), mosquitto: g(m.pingPong, 'p50Us') } },
    { key: 'rtt64_p99', name: '64 B round trip p99 (unpinned)', kind: 'us',
      values: { ddsperf: g(r.ddsLat64, 'p99Us'), mosquitto: g(m.pingPong, 'p99Us') } },
    { key: 'rtt64_same_p50', name: '  same CPU (taskset 0/0) p50', kind: 'us', values: { ddsperf: g(r.ddsLat64same, 'p50Us') } },
    { key: 'rtt64_same_p99', name: '  same CPU (taskset 0/0) p99', kind: 'us', values: { ddsperf: g(r.ddsLat64same, 'p99Us') } },
    { key: 'rtt64_split_p50', name: '  two CPUs (taskset 0/1) p50', kind: 'us', values: { ddsperf: g(r.ddsLat64split, 'p50Us') } },
    { key: 'rtt64_split_p99', name: '  two CPUs (taskset 0/1) p99', kind: 'us', values: { ddsperf: g(r.ddsLat64split, 'p99Us') } },
    { key: 'large_msgs', name: '1 MiB msg/s, reliable', kind: 'rate', values: { ddsperf: g(r.ddsLarge, 'msgsPerSec') } },
    { key: 'large_bits', name: '1 MiB throughput', kind: 'bits',
      values: { ddsperf: r.ddsLarge ? r.ddsLarge.gbps * 1e9 : undefined } },
  ];
}

/** Lines listing losses, the exact command lines used, and failures. */
function peerNotes(r) {
  const notes = [];
  const lost = (name, o) => {
    if (!o) return;
    const win = o.lostInWindow !== undefined ? ` in the measured window, ${o.lost} since start` : ' (published - received)';
    notes.push(`${name}: lost ${o.lostInWindow !== undefined ? o.lostInWindow : o.lost}${win}`);
  };
  lost('ddsperf 64 B reliable', r.ddsTput64);
  lost('ddsperf 64 B best-effort', r.ddsTput64be);
  lost('ddsperf 1 MiB', r.ddsLarge);
  if (r.mqtt) { lost('mqtt QoS 0', r.mqtt.qos0); lost('mqtt QoS 1', r.mqtt.qos1); }
  notes.push('commands (-i: private domain id; CYCLONEDDS_URI restricts Cyclone to lo):');
  for (const k of ['ddsTput64', 'ddsTput64be', 'ddsLat64', 'ddsLat64same', 'ddsLat64split', 'ddsLarge']) {
    if (r[k]) for (const c of r[k].commands) notes.push(`  ${c}`);
  }
  if (r.mqtt) notes.push(`  ${r.mqtt.broker}  + mqtt.js clients (publisher/ponger in a child node process)`);
  for (const [k, v] of Object.entries(r.errors || {})) notes.push(`FAILED ${k}: ${v.split('\n')[0]}`);
  return notes;
}

async function main() {
  const args = process.argv.slice(2);
  const i = args.indexOf('--seconds');
  const seconds = i >= 0 ? Math.max(1, parseInt(args[i + 1], 10) || 3) : 3;
  const json = args.includes('--json');
  const t0 = Date.now();
  const r = await runPeers({ seconds, log: (s) => process.stderr.write(`${s}\n`) });
  if (json) {
    console.log(JSON.stringify(r, null, 2));
  } else {
    console.log(comparisonTable(peerRows(r), { systems: ['ddsperf', 'mosquitto'], ratiosAgainst: [] }));
    console.log('');
    for (const n of peerNotes(r)) console.log(n);
    console.log(`(${((Date.now() - t0) / 1000).toFixed(1)} s; round trips are full round trips: ddsperf prints half)`);
  }
  if (Object.keys(r.errors).length) process.exitCode = 1;
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });

module.exports = { runPeers, peerRows, peerNotes };
