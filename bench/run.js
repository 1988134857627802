#!/usr/bin/env node
'use strict';
// bench/run.js — `npm run bench`: glue and its peers (Cyclone DDS `ddsperf`, Mosquitto + mqtt.js) measured in the same
// run, loopback only, and one table with ratio columns "glue / <peer>". The machine is shared and small, so absolute
// figures drift from run to run (±20 %); only figures of one run should be compared, and nothing is asserted about
// them: the exit status is non-zero only on errors (a measurement that failed, or a reliable run that lost, duplicated
// or reordered a message), never because of a ratio. A peer that is not installed is skipped with the reason printed.
// Raw results: bench/results/latest.json.
//
//   node bench/run.js [--seconds N] [--glue-only] [--peers-only] [--model-only [--consensus]] [--no-model] [--no-consensus]
//                     [--no-issue11] [--issue11-only] [--no-unicast] [--unicast-only] [--no-bridge] [--bridge-only]
//
// The "issue 11" table (bench/glue/round-trips.js) compares glue's round trips with node:dgram's and Mosquitto's, in
// both receive modes, and publish(), `for await` and the README's natural idiom with ddsperf; --issue11-only runs just
// it and the peers it compares with (ddsperf, Mosquitto).
// The "unicast peers" table (bench/glue/unicast-discovery.js, issue 12): time until 8 endpoints with multicast off,
// given one peer address each, all see each other; --unicast-only runs just it (it also runs alone:
// `node bench/glue/unicast-discovery.js`), --no-unicast skips it.
// --model-only runs just the model layer's rows (bench/glue/model.js: replicated maps, issue 9), --no-model skips them
// (--peers-only skips them too).
//
// The MQTT bridge row (bench/glue/mqtt-bridge.js, issue 12): glue -> bridge -> Mosquitto -> mqtt.js against mqtt.js
// direct on the same broker; --bridge-only runs just it (also runnable alone: node bench/glue/mqtt-bridge.js).
//
// glue's figures come from bench/glue/measure.js (two processes, counted in the receiver's JS callback, public API of
// dist/: build it first with `npx tsc -p tsconfig.build.json`); the peers' from bench/peers/cli.js.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runPeers, peerRows, peerNotes } = require('./peers/cli');
const glue = require('./glue/measure');
const model = require('./glue/model');
const consensus = require('./glue/consensus');
const roundTrips = require('./glue/round-trips');
const unicastDiscovery = require('./glue/unicast-discovery');
const mqttBridge = require('./glue/mqtt-bridge');
const { comparisonTable, fmtRate, table } = require('./lib/stats');
const { which } = require('./lib/proc');

const ROOT = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const seconds = (() => { const i = argv.indexOf('--seconds'); return i >= 0 ? Math.max(1, Number(argv[i + 1]) || 3) : 3; })();
const log = (m) => process.stderr.write(`${m}\n`);

/** Newest mtime (ms) of the files under dir whose names match re, outside `tests/` folders (not built into the addon). */
function newest(dir, re) {
  let t = 0;
  let entries = [];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return 0; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { if (e.name !== 'tests') t = Math.max(t, newest(p, re)); }
    else if (re.test(e.name)) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** TypeScript sources (index.ts, src/**) whose compiled dist/ file is missing or older. */
function staleTs(dir = path.join(ROOT, 'src'), acc = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) staleTs(p, acc);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      const js = path.join(ROOT, 'dist', path.relative(ROOT, p)).replace(/\.ts$/, '.js');
      if (!fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(p).mtimeMs) acc.push(path.relative(ROOT, p));
    }
  }
  return acc;
}

/** Warnings when dist/ or the native addon look older than their sources (the benchmark would measure old code). */
function staleness() {
  const warnings = [];
  const dist = path.join(ROOT, 'dist', 'index.js');
  if (!fs.existsSync(dist)) throw new Error('dist/index.js missing: run `npx tsc -p tsconfig.build.json` first');
  const stale = staleTs();
  if (fs.statSync(path.join(ROOT, 'index.ts')).mtimeMs > fs.statSync(dist).mtimeMs) stale.unshift('index.ts');
  if (stale.length) {
    warnings.push(`dist/ is older than (or lacks) ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}: ` +
      'run `npx tsc -p tsconfig.build.json` to measure the current code');
  }
  const addon = fs.readdirSync(ROOT).filter((f) => f.endsWith('.node')).map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs);
  const rs = newest(path.join(ROOT, 'crates'), /\.rs$/);
  if (addon.length && rs > Math.max(...addon)) warnings.push('the native addon is older than crates/: run `npm run build:native` to measure the current code');
  return warnings;
}

/** Peers that cannot run here, with the reason. */
function missingPeers() {
  const skipped = {};
  if (!which('ddsperf')) skipped.ddsperf = 'ddsperf not installed (`bash bench/peers/install.sh` installs Debian cyclonedds-tools)';
  if (!which('mosquitto')) skipped.mosquitto = 'mosquitto not installed (`bash bench/peers/install.sh` installs Debian mosquitto)';
  else { try { require.resolve('mqtt'); } catch { skipped.mosquitto = 'npm package mqtt missing (`npm install`)'; } }
  return skipped;
}

async function runGlue() {
  const r = { errors: {} };
  const step = async (name, fn) => {
    log(`glue: ${name} ...`);
    try { r[name] = await fn(); } catch (e) { r.errors[name] = e.message; log(`glue: ${name} FAILED: ${e.message}`); }
  };
  const o = { seconds, warmupS: 1 };
  await step('tput64', () => glue.throughput('reliable', 64, { ...o, outstanding: 4096 }));
  await step('tput64many', () => glue.throughput('many', 64, { ...o, batch: 1000, outstanding: 16 }));
  await step('tput64be', () => glue.throughput('besteffort', 64, o));
  await step('tput64topic', () => glue.throughput('topic', 64, { ...o, outstanding: 4096 }));
  await step('lat64', () => glue.latency(64, o));
  await step('lat64busy', () => glue.latency(64, { ...o, busyPollUs: 200 }));
  await step('lat64same', () => glue.latency(64, { ...o, pin: 'same' }));
  await step('lat64split', () => glue.latency(64, { ...o, pin: 'split' }));
  await step('lat64busySplit', () => glue.latency(64, { ...o, pin: 'split', busyPollUs: 200 }));
  await step('large', () => glue.throughput('reliable', 1 << 20, { ...o, outstanding: 8 }));
  // With a network key (every datagram sealed, AES-256-GCM) against without: measured in alternation, five rounds,
  // the best round of each compared (the fastest rate, the lowest round trip): interference from the rest of this
  // shared machine only ever slows a round down, so the best one is the least disturbed, and the drift between runs
  // does not pass for the cost of sealing. Round trips on two CPUs (taskset 0/1): unpinned ones swing by tens of µs
  // from run to run here, far more than sealing costs.
  const networkKey = require('node:crypto').randomBytes(32).toString('hex');
  const pairs = { tput64: [[], []], lat64: [[], []], large: [[], []] };
  for (let round = 0; round < 5; round++) {
    for (const [i, key] of [[0, undefined], [1, networkKey]]) {
      const k = { ...o, networkKey: key };
      const tag = key ? 'key' : 'nokey';
      await step(`pair_tput64_${tag}_${round}`, async () => pairs.tput64[i].push(await glue.throughput('reliable', 64, { ...k, outstanding: 4096 })));
      await step(`pair_lat64_${tag}_${round}`, async () => pairs.lat64[i].push(await glue.latency(64, { ...k, pin: 'split' })));
      await step(`pair_large_${tag}_${round}`, async () => pairs.large[i].push(await glue.throughput('reliable', 1 << 20, { ...k, outstanding: 8 })));
    }
  }
  const best = (runs, field, sign) => runs.slice().sort((a, b) => sign * (b[field] - a[field]))[0];
  r.keyPairs = {
    tput64: pairs.tput64.map((runs) => best(runs, 'msgsPerSec', 1)),
    lat64: pairs.lat64.map((runs) => best(runs, 'p50Us', -1)),
    large: pairs.large.map((runs) => best(runs, 'msgsPerSec', 1)),
    runs: pairs,
  };
  [r.tput64key, r.lat64key, r.largeKey] = [r.keyPairs.tput64[1], r.keyPairs.lat64[1], r.keyPairs.large[1]];
  for (const k of Object.keys(r)) if (k.startsWith('pair_')) delete r[k];
  return r;
}

/**
 * The model layer (issue 9). map.set() and its peer, reliable publish(), both 64 B from one writer to three replicas
 * (processes of their own), measured in alternation, three rounds each, the best round of each compared (as with the
 * network key: interference only ever slows a round down). Then catch-up of a late member (best of three), memory and
 * state size, and healing a partition.
 */
async function runModel() {
  const r = { errors: {} };
  const step = async (name, fn) => {
    log(`model: ${name} ...`);
    try { return (r[name] = await fn()); } catch (e) { r.errors[name] = e.message; log(`model: ${name} FAILED: ${e.message}`); return undefined; }
  };
  const o = { seconds, warmupS: 1 };
  const runs = { map: [], topic: [], catchUp: [] };
  for (let round = 0; round < 3; round++) {
    const m = await step(`fanout_map_${round}`, () => model.fanout('map', o));
    if (m) runs.map.push(m);
    const t = await step(`fanout_topic_${round}`, () => model.fanout('topic', { ...o, outstanding: 4096 }));
    if (t) runs.topic.push(t);
  }
  for (let round = 0; round < 3; round++) {
    const c = await step(`catchUp_${round}`, () => model.catchUp({ keys: 10_000 }));
    if (c) runs.catchUp.push(c);
  }
  await step('memory', () => model.memory({ keys: 100_000, hotKeys: 100, overwrites: 1_000_000 }));
  await step('heal', () => model.heal({ keys: 1000 }));
  const best = (list, f, sign) => list.slice().sort((a, b) => sign * (b[f] - a[f]))[0];
  r.map = best(runs.map, 'perReplica', 1);
  r.topic = best(runs.topic, 'perReplica', 1);
  r.catchUp = best(runs.catchUp.filter((c) => c.equal && c.syncedS !== null), 'syncedS', -1);
  r.runs = runs;
  for (const k of Object.keys(r)) if (/^(fanout|catchUp)_/.test(k)) delete r[k];
  return r;
}

/**
 * Consensus groups (issue 10): three members in processes of their own; committed kv.put() per second, put latency
 * against glue's reliable round trip between the same processes in alternating rounds (this machine's speed drifts
 * from minute to minute), failover after SIGKILL of the leader. Three runs; throughput and failover the best of
 * them, latency the run with the median ratio.
 */
async function runConsensus() {
  const r = { errors: {}, runs: [] };
  for (let round = 0; round < 3; round++) {
    log(`consensus: round ${round} ...`);
    try {
      const run = await consensus.run({ seconds });
      r.runs.push({ ...run, ratio: run.latency.p50 / run.rtt.p50 });
    } catch (e) { r.errors[`round_${round}`] = e.message; log(`consensus: FAILED: ${e.message}`); }
  }
  const best = (f, sign) => r.runs.map((x) => f(x)).sort((a, b) => sign * (b - a))[0];
  if (r.runs.length) {
    r.putsPerS = best((x) => x.throughput.perS, 1);
    const byRatio = [...r.runs].sort((a, b) => a.ratio - b.ratio);
    const lat = byRatio[Math.floor((byRatio.length - 1) / 2)];
    r.p50Us = lat.latency.p50;
    r.p99Us = lat.latency.p99;
    r.rttP50Us = lat.rtt.p50;
    r.failoverMs = best((x) => x.failover.ms, -1);
  }
  return r;
}

function consensusTable(c) {
  const rows = [];
  const us = (x) => `${Math.round(x)} µs`;
  if (c.putsPerS !== undefined) {
    rows.push(['kv.put 64 B committed, 3 members, per s', fmtRate(c.putsPerS), '', '', '≥ 50 000/s', c.putsPerS >= 50_000 ? 'yes' : 'NO', `rounds ${c.runs.map((x) => fmtRate(x.throughput.perS)).join(', ')}`]);
    const ratio = c.rttP50Us ? c.p50Us / c.rttP50Us : undefined;
    rows.push(['kv.put latency p50 (one at a time, on the leader)', us(c.p50Us), c.rttP50Us ? `${us(c.rttP50Us)} glue round trip, same processes` : '—',
      ratio ? `${ratio.toFixed(2)}×` : '', '≤ 3×', ratio ? (ratio <= 3 ? 'yes' : 'NO') : '',
      `p99 ${us(c.p99Us)}; runs ${c.runs.map((x) => `${us(x.latency.p50)}/${us(x.rtt.p50)}`).join(', ')} (median ratio)`]);
    rows.push(['leader failover after SIGKILL', `${Math.round(c.failoverMs)} ms`, 'election timeout 500 ms (10 ticks × 50 ms)', `${(c.failoverMs / 500).toFixed(2)}×`,
      '< 2×', c.failoverMs < 1000 ? 'yes' : 'NO', `rounds ${c.runs.map((x) => `${Math.round(x.failover.ms)} ms`).join(', ')}`]);
  }
  if (!rows.length) return '(no consensus measurements)';
  return table(['consensus (issue 10)', 'glue', 'compared with', 'ratio', 'target', 'met', 'detail'], rows);
}

/** Problems with the model runs: replicas that did not converge, failed publications, a late member left short. */
function modelErrors(m) {
  const errs = {};
  for (const [i, x] of (m.runs ? m.runs.map : []).entries()) {
    if (x.convergedS === null) errs[`model_map_${i}`] = `map.set round ${i}: the replicas' stateHash never equalled the writer's`;
  }
  for (const [i, x] of (m.runs ? m.runs.topic : []).entries()) {
    if (x.failed) errs[`model_topic_${i}`] = `publish round ${i}: ${x.failed} publications failed (${x.firstError})`;
  }
  for (const [i, x] of (m.runs ? m.runs.catchUp : []).entries()) {
    if (!x.equal || x.syncError || x.size_ !== x.keys) errs[`model_catchUp_${i}`] = `catch-up round ${i}: ${x.syncError || `${x.size_} of ${x.keys} keys, stateHash ${x.equal ? 'equal' : 'different'}`}`;
  }
  return errs;
}

/** The model layer's rows: value, what it is compared with, the ratio, the target and whether it is met. */
function modelRows(m) {
  const rows = [];
  const add = (key, name, value, base, ratio, target, met, detail) => rows.push({ key, name, value, base, ratio, target, met, detail });
  const { map, topic, catchUp: c, memory: mem, heal: h } = m;
  const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
  const kb = (b) => `${(b / 1024).toFixed(0)} KiB`;
  if (map && topic) {
    const ratio = map.perReplica / topic.perReplica;
    const rounds = (list) => list.map((x) => fmtRate(x.perReplica)).join(', ');
    add('map_set_64', 'map.set 64 B → 3 replicas, changes/s each', fmtRate(map.perReplica), `${fmtRate(topic.perReplica)} reliable publish`,
      `${ratio.toFixed(2)}×`, '≥ 0.5×', ratio >= 0.5,
      `rounds ${rounds(m.runs.map)} | ${rounds(m.runs.topic)}; CPU per change ${map.cpuPerChangeUs.toFixed(1)} | ${topic.cpuPerChangeUs.toFixed(1)} µs`);
  }
  if (c) {
    add('catchup_time', 'catch-up of 10 000 keys (64 B): open → synced()', ms(c.syncedS), `all keys at ${ms(c.allS)}`, '', '< 1 s', c.syncedS < 1,
      `rounds ${m.runs.catchUp.map((x) => (x.syncedS === null ? '—' : ms(x.syncedS))).join(', ')}`);
    add('catchup_bytes', '  bytes on the wire / missing data', kb(c.wireBytes), `${kb(c.missingBytes)} keys + values`,
      `${c.bytesRatio.toFixed(2)}×`, '≤ 1.5×', c.bytesRatio <= 1.5,
      `idle traffic ${Math.round(c.idlePerS)} B/s subtracted; fragments resent by writer/member/late ` +
        `${(c.perEndpoint ?? []).map((e) => e.fragmentsResent).join('/')}`);
  }
  if (mem) {
    add('map_memory', 'map memory per live key (100 000 × 64 B)', `${Math.round(mem.perKeyBytes)} B`, `${mem.liveBytesPerKey} B key + value`,
      `${(mem.perKeyBytes / mem.liveBytesPerKey).toFixed(1)}×`, '(reported)', undefined, `heap ${Math.round(mem.heapPerKey)} B + array buffers ${Math.round(mem.arrayBuffersPerKey)} B`);
    const ratio = Math.max(mem.canonicalRatio, mem.snapshotRatio);
    add('state_overwrites', 'state after 1 M overwrites of 100 keys', `${mem.snapshotBytes} B`, `${mem.hotLiveBytes} B live`,
      `${ratio.toFixed(2)}×`, '≤ 2×', ratio <= 2, `snapshot ${mem.snapshotBytes} B, canonical ${mem.canonicalBytes} B; ${fmtRate(mem.overwritesPerSec)} local writes`);
  }
  if (h) {
    add('heal', 'partition heal, 4 endpoints (2 | 2 wrote) → equal stateHash', ms(h.healS), `${h.finalSize} keys`, '', '(reported)', undefined,
      'partition by closing and reopening side B in a network of its own (persist)');
  }
  return rows;
}

function modelTable(m) {
  const rows = modelRows(m);
  if (!rows.length) return '(no model-layer measurements)';
  return table(['model layer (issue 9)', 'glue', 'compared with', 'ratio', 'target', 'met', 'detail'],
    rows.map((r) => [r.name, r.value, r.base, r.ratio, r.target, r.met === undefined ? '' : r.met ? 'yes' : 'NO', r.detail]));
}

function modelNotes(m) {
  const notes = [];
  const { map, topic, catchUp: c } = m;
  if (map) {
    const s = map.writerStats || {};
    const pace = map.pace === 'credit' ? `at most ${map.window} ahead of the slowest replica` : map.pace === 'quorum' ? `a quorum write per chunk, ${map.window} unsettled at most` : 'unpaced';
    notes.push(`model map.set: ${map.written} written (keys cycling over ${map.keys}, ${map.chunk} per macrotask, ${pace}), per replica ${map.rates.map(fmtRate).join(', ')}; ` +
      `CPU per change applied at one replica, all four processes: ${map.cpuPerChangeUs.toFixed(1)} µs (publish: ${topic ? topic.cpuPerChangeUs.toFixed(1) : '—'} µs); ` +
      `writer ${s.modelDeltasSent} deltas, ${s.modelPushesSent} pushes, ${s.modelDigestsSent} digests, ${s.fragmentsResent || 0} fragments resent; ` +
      `replicas equal to the writer ${map.convergedS === null ? 'NEVER' : `${(map.convergedS * 1000).toFixed(0)} ms after it stopped`}`);
  }
  if (topic) notes.push(`model baseline publish(): ${topic.written} published (${topic.outstanding} unsettled at most), per subscriber ${topic.rates.map(fmtRate).join(', ')}`);
  if (c) notes.push(`model catch-up: ${Math.round(c.rawBytes)} B sent by the three endpoints in ${(c.windowS * 1000).toFixed(0)} ms, less ${Math.round(c.idlePerS * c.windowS)} B idle`);
  const seen = new Set();
  const cmds = [];
  for (const v of [map, topic, c, m.memory, m.heal]) for (const x of (v && v.commands) || []) if (!seen.has(x)) { seen.add(x); cmds.push(x); }
  if (cmds.length) notes.push(`model commands: ${cmds.join('; ')}`);
  return notes;
}

/** Reliable runs must deliver every message exactly once and in order; returns the problems found. */
function reliabilityErrors(g) {
  const errs = {};
  for (const k of ['tput64', 'tput64many', 'tput64topic', 'large', 'tput64key', 'largeKey']) {
    const x = g[k];
    if (!x) continue;
    const bad = glue.deliveryProblems(x);
    if (bad.length) errs[`${k}_reliability`] = `glue ${k}: ${bad.join(', ')} of ${x.sent} sent`;
  }
  if (g.keyPairs) {
    const all = [...g.keyPairs.runs.tput64.flat(), ...g.keyPairs.runs.large.flat()];
    all.forEach((x, i) => {
      const bad = glue.deliveryProblems(x);
      if (bad.length) errs[`keyPairs_${i}_reliability`] = `glue ${x.size} B${x.networkKey ? ' with a key' : ''}: ${bad.join(', ')} of ${x.sent} sent`;
    });
  }
  for (const k of ['lat64', 'lat64busy', 'lat64same', 'lat64split', 'lat64busySplit', 'lat64key']) {
    const bad = g[k] ? glue.pingProblems(g[k]) : [];
    if (bad.length) errs[`${k}_reliability`] = `glue ${k}: ${bad[0]}`;
  }
  return errs;
}

function buildRows(g, peers) {
  const gv = (k, f) => (g[k] ? g[k][f] : undefined);
  const pv = (k, f) => (peers[k] ? peers[k][f] : undefined);
  const base = Object.fromEntries(peerRows(peers).map((row) => [row.key, row]));
  const peerVals = (key) => ({ ...((base[key] && base[key].values) || {}) });
  const mq = (peers.mqtt && peers.mqtt.pingPong) || {};
  const row = (key, name, kind, glueValue, values) => ({ key, name, kind, values: { glue: glueValue, ...values } });
  const lat = (key, label, glueKey, peerValsByPct) => ['p50', 'p90', 'p99'].map((p) =>
    row(`${key}_${p}`, `${label} ${p}`, 'us', gv(glueKey, `${p}Us`), peerValsByPct(p)));
  return [
    row('tput64_reliable', '64 B msg/s, reliable (DDS) / QoS 1', 'rate', gv('tput64', 'msgsPerSec'), peerVals('tput64_reliable')),
    row('tput64_many', '  glue sendMany ×1000 (vs same peers)', 'rate', gv('tput64many', 'msgsPerSec'), peerVals('tput64_reliable')),
    row('tput64_topic', '  glue publish() on a topic (vs same peers)', 'rate', gv('tput64topic', 'msgsPerSec'), peerVals('tput64_reliable')),
    row('tput64_besteffort', '64 B msg/s, best-effort / QoS 0', 'rate', gv('tput64be', 'msgsPerSec'), peerVals('tput64_besteffort')),
    ...lat('rtt64', '64 B round trip (unpinned)', 'lat64',
      (p) => ({ ddsperf: pv('ddsLat64', `${p}Us`), mosquitto: mq[`${p}Us`] })),
    ...lat('rtt64_busy', '  glue busyPollUs 200 (vs unpinned)', 'lat64busy',
      (p) => ({ ddsperf: pv('ddsLat64', `${p}Us`), mosquitto: mq[`${p}Us`] })),
    ...lat('rtt64_same', '  same CPU (taskset 0/0)', 'lat64same', (p) => ({ ddsperf: pv('ddsLat64same', `${p}Us`) })),
    ...lat('rtt64_split', '  two CPUs (taskset 0/1)', 'lat64split', (p) => ({ ddsperf: pv('ddsLat64split', `${p}Us`) })),
    ...lat('rtt64_busy_split', '  glue busy 200, 0/1 (vs 0/1)', 'lat64busySplit', (p) => ({ ddsperf: pv('ddsLat64split', `${p}Us`) })),
    row('large_msgs', '1 MiB msg/s, reliable', 'rate', gv('large', 'msgsPerSec'), peerVals('large_msgs')),
    row('large_bits', '1 MiB throughput', 'bits', gv('large', 'bitsPerSec'), peerVals('large_bits')),
    row('tput64_key', '64 B msg/s, reliable, glue with a network key', 'rate', gv('tput64key', 'msgsPerSec'), peerVals('tput64_reliable')),
    ...lat('rtt64_key', '  glue with a network key, 0/1 (vs 0/1)', 'lat64key', (p) => ({ ddsperf: pv('ddsLat64split', `${p}Us`) })),
    row('large_msgs_key', '1 MiB msg/s, glue with a network key', 'rate', gv('largeKey', 'msgsPerSec'), peerVals('large_msgs')),
  ];
}

/** With a network key against without (best of five alternating rounds): the targets of the sealing (issue 8). */
function keyTable(g) {
  const p = g.keyPairs;
  if (!p) return '(no network-key measurements)';
  const out = [];
  const rate = (name, [without, withKey], target) => {
    if (!without || !withKey) return out.push([name, '—', '—', '—', target]);
    const runs = (i) => p.runs[name.startsWith('64') ? 'tput64' : 'large'][i].map((x) => fmtRate(x.msgsPerSec)).join(', ');
    out.push([name, fmtRate(without.msgsPerSec), fmtRate(withKey.msgsPerSec), `${(withKey.msgsPerSec / without.msgsPerSec).toFixed(2)}×`, target, `${runs(0)} | ${runs(1)}`]);
  };
  rate('64 B reliable msg/s', p.tput64, '≥ 0.85×');
  rate('1 MiB reliable msg/s', p.large, '≥ 0.8×');
  const [without, withKey] = p.lat64;
  if (without && withKey) {
    const d = withKey.p50Us - without.p50Us;
    const runs = (i) => p.runs.lat64[i].map((x) => x.p50Us.toFixed(0)).join(', ');
    out.push(['64 B round trip p50 (0/1)', `${without.p50Us.toFixed(1)} µs`, `${withKey.p50Us.toFixed(1)} µs`, `${d >= 0 ? '+' : ''}${d.toFixed(1)} µs`, '≤ +10 µs', `${runs(0)} | ${runs(1)} µs`]);
  }
  return table(['glue with a network key', 'no key', 'key', 'key / no key', 'target', 'rounds: no key | key'], out.map((r) => [...r, ...Array(6 - r.length).fill('')]));
}

function glueNotes(g) {
  const notes = [];
  const pct = (a, b) => (b ? `${((100 * a) / b).toFixed(2)} %` : '—');
  const tput = (label, x) => {
    if (!x) return;
    const reliable = x.mode !== 'besteffort';
    notes.push(`glue ${label}: ${x.sent} sent, ${x.unique} received once, ${x.duplicates} duplicated, ${x.reordered} out of order, ` +
      `${x.missing} missing (${pct(x.missing, x.sent)})` +
      (reliable ? `, ${x.delivered} acknowledged, ${x.failed} failed` : `, ${x.refusedAtSend} refused by send() (queue full)`) +
      `; per second ${x.perSecond.map((r) => fmtRate(r)).join(', ')}`);
  };
  tput('64 B reliable, send() per message', g.tput64);
  tput('64 B reliable, sendMany', g.tput64many);
  tput('64 B reliable, publish() on a topic', g.tput64topic);
  tput('64 B best-effort', g.tput64be);
  tput('1 MiB reliable', g.large);
  tput('64 B reliable with a network key', g.tput64key);
  tput('1 MiB reliable with a network key', g.largeKey);
  if (!['tput64', 'tput64many', 'tput64topic', 'tput64be', 'large', 'lat64'].some((k) => g[k])) return notes;
  const cpu = (c) => (c ? `js ${c.js}% io ${c.io}% other ${c.other}% (total ${c.total}%)` : '—');
  notes.push('glue CPU in the measured window, % of one core per thread (js = JS main thread, io = glue I/O thread):');
  for (const [k, label] of [['tput64', '64 B reliable'], ['tput64many', '64 B sendMany'], ['tput64topic', '64 B publish()'], ['tput64be', '64 B best-effort'], ['large', '1 MiB reliable']]) {
    const x = g[k];
    if (x) {
      const s = x.stats.sender;
      notes.push(`  ${label}: sender ${cpu(x.cpu.sender)}; receiver ${cpu(x.cpu.receiver)}; ` +
        (x.size < 1000 ? `${((x.mode === 'besteffort' ? s.messagesSent : s.reliableMessagesSent) / s.datagramsSent).toFixed(1)} msgs/datagram, ` : '') +
        `${Math.round(s.bytesSent / s.datagramsSent)} B/datagram, ` +
        `${s.fragmentsResent || 0} fragments resent, ${s.retransmitTimeouts || 0} retransmit timeouts`);
    }
  }
  for (const [k, label] of [['lat64', 'ping-pong'], ['lat64busy', 'ping-pong busy 200'], ['lat64same', 'ping-pong 0/0'], ['lat64split', 'ping-pong 0/1'], ['lat64busySplit', 'ping-pong busy 0/1']]) {
    const x = g[k];
    if (x) notes.push(`  ${label}: ping ${cpu(x.cpu.ping)}; pong ${cpu(x.cpu.pong)}; ${Math.round(x.roundTripsPerSec)} round trips/s, p99.9 ${x.p999Us.toFixed(0)} µs, max ${x.maxUs.toFixed(0)} µs`);
  }
  notes.push('glue commands (each in a private group 239.192.137.x:port and network ID, interface lo):');
  const seen = new Set();
  for (const v of Object.values(g)) for (const c of (v && v.commands) || []) if (!seen.has(c)) { seen.add(c); notes.push(`  ${c}`); }
  return notes;
}

/** The unicast-discovery table, or its error. */
async function runUnicast() {
  try {
    const r = await unicastDiscovery.run({ rounds: 5, log });
    return { results: r, table: table(['unicast peers (issue 12)', 'glue (median)', 'detail'], unicastDiscovery.rows(r)) };
  } catch (e) {
    log(`unicast discovery: FAILED: ${e.message}`);
    return { error: e.message };
  }
}

/** The bridge row, or { error } (a failed run, or a QoS 1 publication lost after its PUBACK). */
async function runBridge() {
  try {
    const r = await mqttBridge.measure({ seconds, log });
    return r.rows.qos1 && r.rows.qos1.lost ? { ...r, error: `QoS 1 through the bridge lost ${r.rows.qos1.lost}` } : r;
  } catch (e) {
    return { error: String((e && e.stack) || e) };
  }
}

async function main() {
  const t0 = Date.now();
  const warnings = staleness();
  for (const w of warnings) log(`WARNING: ${w}`);
  if (flag('--unicast-only')) {
    const u = await runUnicast();
    console.log(u.table ?? `unicast discovery FAILED: ${u.error}`);
    if (u.error) process.exitCode = 1;
    return;
  }
  if (flag('--bridge-only')) {
    const bridge = await runBridge();
    if (bridge.rows) console.log(mqttBridge.format(bridge));
    if (bridge.error) { console.log(`ERRORS:\n  bridge: ${bridge.error.split('\n')[0]}`); process.exitCode = 1; }
    return;
  }
  const modelOnly = flag('--model-only');
  const issue11Only = flag('--issue11-only');
  const skipped = flag('--glue-only') || modelOnly ? {} : missingPeers();
  for (const [peer, why] of Object.entries(skipped)) log(`skipping ${peer}: ${why}`);
  const loadBefore = os.loadavg();
  const glueResults = flag('--peers-only') || modelOnly || issue11Only ? { errors: {} } : await runGlue();
  const issue11 = flag('--peers-only') || modelOnly || flag('--no-issue11') ? null : await roundTrips.measure({ seconds, warmupS: 1, log });
  const modelResults = flag('--peers-only') || flag('--no-model') || issue11Only ? { errors: {} } : await runModel();
  const consensusResults = flag('--peers-only') || flag('--no-consensus') || issue11Only || (modelOnly && !flag('--consensus')) ? { errors: {}, runs: [] } : await runConsensus();
  const unicast = flag('--peers-only') || flag('--no-unicast') || modelOnly || issue11Only ? null : await runUnicast();
  const peers = flag('--glue-only') || modelOnly ? { errors: {} } : await runPeers({ seconds, log });
  const bridge = flag('--glue-only') || modelOnly || issue11Only || flag('--no-bridge') || skipped.mosquitto ? null : await runBridge();
  // Failures of a skipped peer are the skip itself, not errors.
  const peerErrors = {};
  for (const [k, v] of Object.entries(peers.errors || {})) {
    const owner = k.startsWith('dds') ? 'ddsperf' : k === 'mqtt' ? 'mosquitto' : k;
    if (!skipped[owner]) peerErrors[`peers_${k}`] = v;
  }
  const modelErrs = Object.fromEntries(Object.entries(modelResults.errors).map(([k, v]) => [`model_${k}`, v]));
  const consensusErrs = Object.fromEntries(Object.entries(consensusResults.errors).map(([k, v]) => [`consensus_${k}`, v]));
  const errors = { ...(bridge && bridge.error ? { bridge: bridge.error } : {}), ...(unicast?.error ? { unicast_discovery: unicast.error } : {}), ...consensusErrs, ...glueResults.errors, ...reliabilityErrors(glueResults), ...(issue11 ? roundTrips.errors(issue11) : {}), ...modelErrs, ...modelErrors(modelResults), ...peerErrors };
  const rows = modelOnly ? [] : buildRows(glueResults, peers);
  const systems = ['glue', 'ddsperf', 'mosquitto'];

  if (!modelOnly && !issue11Only) {
    console.log(comparisonTable(rows, { systems }));
    console.log('');
    console.log(keyTable(glueResults));
    console.log('');
  }
  if (issue11) {
    console.log(roundTrips.table(issue11, peers));
    console.log('');
  }
  const ran = modelOnly || !(flag('--peers-only') || flag('--no-model') || issue11Only);
  if (ran) {
    console.log(modelTable(modelResults));
    console.log('');
  }
  if (unicast?.table) {
    console.log(unicast.table);
    console.log('');
  }
  if (consensusResults.runs.length || Object.keys(consensusResults.errors).length) {
    console.log(consensusTable(consensusResults));
    console.log('');
  }
  if (bridge && bridge.rows) {
    console.log(mqttBridge.format(bridge));
    console.log('');
  }
  if (!modelOnly) {
    console.log('Rates: ratio > 1 means glue is faster. Round trips (full ones; ddsperf prints half): ratio < 1 means glue is faster.');
    console.log('Indented "glue …" rows are glue variants compared with the peers\' figures of the row above them.');
  }
  console.log(`${seconds} s measured windows after 1 s warm-up; glue counts in the receiver's JS callback, ddsperf in C.`);
  if (ran) console.log('Model rows: map.set and publish() best of three alternating rounds each, catch-up best of three; "met" compares with the issue\'s targets.');
  for (const [peer, why] of Object.entries(skipped)) console.log(`skipped ${peer}: ${why}`);
  for (const n of glueNotes(glueResults)) console.log(n);
  for (const n of modelNotes(modelResults)) console.log(n);
  if (!flag('--glue-only') && !modelOnly) {
    // peerNotes() lists every failed step; those of a skipped peer were reported above.
    const skippedStep = (n) => /^FAILED (dds\w+|mqtt):/.test(n) && skipped[n.startsWith('FAILED dds') ? 'ddsperf' : 'mosquitto'];
    for (const n of peerNotes(peers)) if (!skippedStep(n)) console.log(n);
  }
  for (const w of warnings) console.log(`WARNING: ${w}`);
  const durationS = (Date.now() - t0) / 1000;
  console.log(`(${durationS.toFixed(1)} s; load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${os.cpus().length} CPUs, node ${process.version})`);

  const out = path.join(__dirname, 'results', 'latest.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({
    when: new Date().toISOString(), seconds, durationS, node: process.version, cpus: os.cpus().length,
    loadavg: { before: loadBefore, after: os.loadavg() }, warnings, skipped, errors, rows, modelRows: modelRows(modelResults), glue: glueResults, issue11, bridge, model: modelResults, consensus: consensusResults, unicast: unicast?.results, peers,
  }, null, 2)}\n`);
  console.log(`raw results: ${path.relative(process.cwd(), out) || out}`);
  if (Object.keys(errors).length) {
    console.log('ERRORS:');
    for (const [k, v] of Object.entries(errors)) console.log(`  ${k}: ${String(v).split('\n')[0]}`);
    process.exitCode = 1;
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
