'use strict';
// bench/glue/round-trips.js — issue 11's measurements and targets: glue's round trips against node:dgram's (the floor
// for anything that ends in a JavaScript callback) and Mosquitto's, both receive modes, reliable and best effort,
// unpinned and on two CPUs; publish(), the `for await` read and the README's natural idiom against ddsperf's reliable
// rate; and the memory of each side above a bare `node`.
//
//   measure({ seconds, warmupS, rounds, log })  -> results (raw runs and the picked ones)
//   table(results, peers)                        -> the text table "issue 11", with ratio, target and met columns
//
// Round trips are measured in alternating rounds (dgram, then each glue variant, `rounds` times) because this shared
// machine drifts from minute to minute; each variant's row is its round with the median p50.
const glue = require('./measure');
const { fmtRate, table: textTable } = require('../lib/stats');

const MiB = 1 << 20;

/** The round-trip variants: key, label, latency() options. */
const RTT = [
  ['dgram', 'node:dgram ping-pong', { transport: 'dgram' }],
  ['io', 'glue reliable, receiveOn io', { receiveOn: 'io' }],
  ['js', 'glue reliable, receiveOn js', { receiveOn: 'js' }],
  ['ioBe', 'glue best effort, receiveOn io', { reliable: false, receiveOn: 'io' }],
  ['jsBe', 'glue best effort, receiveOn js', { reliable: false, receiveOn: 'js' }],
  // Not an issue 11 target: request/reply's round trip (issue 13), measured in the same rounds for its ratios.
  ['req', 'glue request() → reply() round trip', { transport: 'request' }],
];
const REFERENCE_ONLY = new Set(['req']);

/** The throughput variants: key, throughput() mode, options. */
const TPUT = [
  ['send', 'reliable', { outstanding: 4096, receiveOn: 'io' }],
  ['sendJs', 'reliable', { outstanding: 4096, receiveOn: 'js' }],
  ['many', 'many', { batch: 1000, outstanding: 16, receiveOn: 'io' }],
  ['manyJs', 'many', { batch: 1000, outstanding: 16, receiveOn: 'js' }],
  ['be', 'besteffort', { receiveOn: 'io' }],
  ['beJs', 'besteffort', { receiveOn: 'js' }],
  ['topic', 'topic', { outstanding: 4096, receiveOn: 'io' }],
  ['topicJs', 'topic', { outstanding: 4096, receiveOn: 'js' }],
  ['topicIter', 'topicIter', { outstanding: 4096, receiveOn: 'io' }],
  ['topicIterJs', 'topicIter', { outstanding: 4096, receiveOn: 'js' }],
  ['natural', 'natural', { batch: 2000, receiveOn: 'io' }],
  ['naturalJs', 'natural', { batch: 2000, receiveOn: 'js' }],
  ['large', 'reliable', { outstanding: 8, size: MiB, receiveOn: 'io' }],
  ['largeJs', 'reliable', { outstanding: 8, size: MiB, receiveOn: 'js' }],
];

const medianBy = (runs, f) => {
  const sorted = runs.slice().sort((a, b) => a[f] - b[f]);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

async function measure({ seconds = 3, warmupS = 1, rounds = 3, log = () => {} } = {}) {
  const r = { errors: {}, rtt: {}, tput: {}, bareRssBytes: glue.bareNodeRss() };
  const o = { seconds, warmupS };
  const step = async (name, fn) => {
    log(`issue 11: ${name} ...`);
    try { return await fn(); } catch (e) { r.errors[name] = e.message; log(`issue 11: ${name} FAILED: ${e.message}`); return undefined; }
  };
  for (const pin of ['none', 'split']) {
    const runs = Object.fromEntries(RTT.map(([k]) => [k, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [key, , opts] of RTT) {
        const x = await step(`rtt ${key} ${pin} ${round}`, () => glue.latency(64, { ...o, ...opts, pin }));
        if (x) runs[key].push(x);
      }
    }
    for (const [key] of RTT) if (runs[key].length) r.rtt[`${key}_${pin}`] = { ...medianBy(runs[key], 'p50Us'), rounds: runs[key].map((x) => [x.p50Us, x.p99Us]) };
  }
  for (const [key, mode, opts] of TPUT) {
    const { size = 64, ...rest } = opts;
    const x = await step(`tput ${key}`, () => glue.throughput(mode, size, { ...o, ...rest }));
    if (x) r.tput[key] = x;
  }
  return r;
}

/** Problems that make the run invalid: losses, duplicates, reordering, failed sends, unanswered pings. */
function errors(r) {
  const errs = { ...r.errors };
  for (const [k, x] of Object.entries(r.tput)) {
    const bad = glue.deliveryProblems(x);
    if (bad.length) errs[`issue11_${k}`] = `${k}: ${bad.join(', ')} of ${x.sent}`;
  }
  for (const [k, x] of Object.entries(r.rtt)) {
    const bad = glue.pingProblems(x);
    if (bad.length) errs[`issue11_rtt_${k}`] = `${k}: ${bad[0]}`;
  }
  return errs;
}

function table(r, peers = {}) {
  const rows = [];
  const us = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} µs` : '—');
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b ? a / b : undefined);
  const fx = (x) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
  const met = (x, ok) => (x === undefined ? '' : ok(x) ? 'yes' : 'NO');
  const mq = (peers.mqtt && peers.mqtt.pingPong) || {};
  for (const pin of ['none', 'split']) {
    const floor = r.rtt[`dgram_${pin}`];
    const where = pin === 'none' ? 'unpinned' : 'two CPUs (taskset 0/1)';
    if (floor) rows.push([`node:dgram round trip, ${where}`, `${us(floor.p50Us)} p50, ${us(floor.p99Us)} p99`, '(the floor)', '', '', '', `rounds ${floor.rounds.map(([a, b]) => `${a.toFixed(0)}/${b.toFixed(0)}`).join(', ')} µs`]);
    for (const [key, label] of RTT.slice(1)) {
      const x = r.rtt[`${key}_${pin}`];
      if (!x || !floor) continue;
      if (REFERENCE_ONLY.has(key)) {
        const vsMq = pin === 'none' && mq.p50Us ? `Mosquitto ping-pong (MQTT's request/response) ${us(mq.p50Us)} p50 → ${fx(ratio(x.p50Us, mq.p50Us))}; ` : '';
        rows.push([`  ${label}`, `${us(x.p50Us)} p50, ${us(x.p99Us)} p99`, 'node:dgram, same rounds', `${fx(ratio(x.p50Us, floor.p50Us))} p50, ${fx(ratio(x.p99Us, floor.p99Us))} p99`,
          '(reference)', '', `${vsMq}rounds ${x.rounds.map(([a, b]) => `${a.toFixed(0)}/${b.toFixed(0)}`).join(', ')} µs`]);
        continue;
      }
      const p50 = ratio(x.p50Us, floor.p50Us), p99 = ratio(x.p99Us, floor.p99Us);
      const vsMq = pin === 'none' && mq.p50Us ? `; Mosquitto ${us(mq.p50Us)} p50 → ${fx(ratio(x.p50Us, mq.p50Us))} ${x.p50Us < mq.p50Us ? 'below' : 'NOT below'}` : '';
      rows.push([`  ${label}`, `${us(x.p50Us)} p50, ${us(x.p99Us)} p99`, 'node:dgram, same rounds', `${fx(p50)} p50, ${fx(p99)} p99`, '≤ 1.0× p50, ≤ 1.5× p99',
        p50 === undefined ? '' : p50 <= 1 && p99 <= 1.5 ? 'yes' : 'NO', `rounds ${x.rounds.map(([a, b]) => `${a.toFixed(0)}/${b.toFixed(0)}`).join(', ')} µs${vsMq}`]);
    }
  }
  const dds = peers.ddsTput64 && peers.ddsTput64.msgsPerSec;
  const t = r.tput;
  const rate = (x) => (x ? fmtRate(x.msgsPerSec) : '—');
  const vsDds = (key, label, target = 1) => {
    const x = t[key];
    if (!x) return;
    const q = ratio(x.msgsPerSec, dds);
    rows.push([label, rate(x), dds ? `${fmtRate(dds)} ddsperf reliable` : 'ddsperf not measured', fx(q), `≥ ${target.toFixed(1)}×`, met(q, (v) => v >= target), cpuNote(x)]);
  };
  vsDds('topic', '64 B publish(), reliable, a Promise each (io)');
  vsDds('topicJs', '  the same, receiveOn js');
  for (const [iter, cb, label] of [['topicIter', 'topic', 'io'], ['topicIterJs', 'topicJs', 'js']]) {
    if (!t[iter] || !t[cb]) continue;
    const q = ratio(t[iter].msgsPerSec, t[cb].msgsPerSec);
    rows.push([`  subscription read with for await (${label})`, rate(t[iter]), `${rate(t[cb])} with a callback`, fx(q), '≥ 0.8×', met(q, (v) => v >= 0.8), cpuNote(t[iter])]);
  }
  vsDds('natural', '64 B natural idiom: fresh Buffer, Promise.all ×2000, for await (io)');
  vsDds('naturalJs', '  the same, receiveOn js');
  for (const [js, io, label] of [['sendJs', 'send', 'reliable send()'], ['manyJs', 'many', 'sendMany ×1000'], ['beJs', 'be', 'best effort'], ['largeJs', 'large', '1 MiB reliable']]) {
    if (!t[js] || !t[io]) continue;
    const q = ratio(t[js].msgsPerSec, t[io].msgsPerSec);
    rows.push([`${label}, receiveOn js vs io`, rate(t[js]), `${rate(t[io])} with io`, fx(q), '≥ 0.95× (no row falls)', met(q, (v) => v >= 0.95),
      `${cpuNote(t[js])}${t[js].stats.receiver.readingToIoThread ? `; reading moved to the I/O thread ${t[js].stats.receiver.readingToIoThread}×` : ''}`]);
  }
  const bare = r.bareRssBytes;
  for (const key of ['send', 'sendJs', 'natural', 'naturalJs', 'topic', 'topicJs']) {
    const x = t[key];
    if (!x || !bare) continue;
    const above = Math.max(x.rssPeakBytes.sender, x.rssPeakBytes.receiver) - bare;
    rows.push([`  peak RSS above a bare node, 64 B ${key}`, `${(above / MiB).toFixed(0)} MiB`, `bare node ${(bare / MiB).toFixed(0)} MiB`, '', '≤ 64 MiB each side', met(above, (v) => v <= 64 * MiB),
      `sender ${(x.rssPeakBytes.sender / MiB).toFixed(0)} MiB, receiver ${(x.rssPeakBytes.receiver / MiB).toFixed(0)} MiB`]);
  }
  if (!rows.length) return '(no issue 11 measurements)';
  return textTable(['issue 11 (round trips, natural code)', 'glue', 'compared with', 'ratio', 'target', 'met', 'detail'], rows.map((row) => [...row, ...Array(7 - row.length).fill('')]));
}

/** "CPU sender js/io, receiver js/io" of a throughput run. */
function cpuNote(x) {
  const c = (y) => (y ? `js ${y.js}% io ${y.io}%` : '—');
  return `CPU sender ${c(x.cpu.sender)}, receiver ${c(x.cpu.receiver)}`;
}

module.exports = { measure, table, errors, RTT, TPUT };
