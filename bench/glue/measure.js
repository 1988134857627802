'use strict';
// bench/glue/measure.js — runs glue measurements as pairs of child processes on loopback (bench/glue/worker.js)
// and returns figures comparable with bench/peers: messages/s counted in the receiver's JS callback, and
// round-trip percentiles measured in JS.
const path = require('node:path');
const { spawnTracked, stop, sleep } = require('../lib/proc');
const { summarize, median } = require('../lib/stats');

const WORKER = path.join(__dirname, 'worker.js');
const rand = (n) => Math.floor(Math.random() * n);
const groupAddr = () => `239.192.138.${1 + rand(250)}:${20000 + rand(40000)}`;

function start(args, onJson) {
  return spawnTracked(process.execPath, [WORKER, ...args.map(String)], {
    onLine: (line) => { if (line.startsWith('{')) { try { onJson(JSON.parse(line)); } catch { /* not ours */ } } },
  });
}

/** Sink + source for `seconds` (+1 s warm-up); median of the per-second rates after the warm-up. */
async function throughput(size, seconds, mode = 'reliable') {
  const group = groupAddr(), net = 1 + rand(1e6), rates = [], bytes = [];
  let lost = 0, sent = 0, ready;
  const readyP = new Promise((r) => { ready = r; });
  const sink = start(['sink', group, net, size, seconds, mode], (o) => {
    if (o.ready) ready();
    if (o.rate !== undefined) { rates.push(o.rate); bytes.push(o.bytes); lost = o.lost; }
  });
  await readyP;
  const source = start(['source', group, net, size, seconds + 1, mode], (o) => { if (o.sent) sent = o.sent; });
  await source.exited;
  await sleep(1500);
  await stop(sink);
  const window = rates.slice(2, 2 + seconds).filter((r) => r > 0);
  return { size, mode, msgsPerSec: median(window), bitsPerSec: median(bytes.slice(2, 2 + seconds)) * 8, sent, lost };
}

/** Ping-pong with reliable messages; round-trip percentiles in µs. */
async function latency(size, seconds, busyPollUs = 0) {
  const group = groupAddr(), net = 1 + rand(1e6);
  let ready, samples = [];
  const readyP = new Promise((r) => { ready = r; });
  const pong = start(['pong', group, net, size, seconds, 'reliable', busyPollUs], (o) => o.ready && ready());
  await readyP;
  const ping = start(['ping', group, net, size, seconds, 'reliable', busyPollUs], (o) => { if (o.samples) samples = o.samples; });
  await ping.exited;
  await stop(pong);
  const s = summarize(samples);
  return { size, busyPollUs, p50Us: s.p50, p90Us: s.p90, p99Us: s.p99, count: samples.length };
}

module.exports = { throughput, latency };
