'use strict';
// bench/glue/model.js — the model layer's measurements (issue 9), each in child processes (bench/glue/model-worker.js)
// on loopback in a private group and network ID, as bench/glue/measure.js does for messages:
//
//   fanout(kind, opts)   one writer, `members` replicas in processes of their own. kind 'map': map.set() of 64 B values
//                        (codec raw) on keys cycling over `keys`, `chunk` per macrotask. pace 'credit' (default):
//                        at most `window` writes ahead of the slowest replica's count, which the driver relays out of
//                        band (the replicas report it every 10 ms), so that the writer neither outruns the replicas
//                        (its wasted CPU would be theirs on a 2-CPU machine) nor adds traffic to the map's own
//                        protocol; 'quorum': the last write of each chunk a quorum write of all, at most `window` of
//                        them unsettled (acknowledgements on the wire; much slower here); 'free': no pacing (overwrites
//                        merge while the network lags). The replicas count remote changes in onChange. Also the CPU time of all the processes per change applied at one
//                        replica (cpuPerChangeUs), which the rest of a shared machine does not change as it does rates. kind 'topic': reliable publish() of 64 B (at most `outstanding`
//                        unsettled) to `members` subscribers. Rate = changes (publications) per second per replica,
//                        over `seconds` after `warmupS`, the replicas' windows opened and closed together. For the
//                        map, the replicas' stateHash must then equal the writer's (convergence).
//   catchUp(opts)        `keys` keys of 64 B written by one member (another holds them too); a third endpoint, up and
//                        seeing both, opens the map: time until synced() and until all keys are present, and the
//                        bytes all three sent meanwhile (ep.stats().bytesSent) less their idle traffic (measured over
//                        a second just before), against the missing data (UTF-8 keys + values).
//   memory(opts)         one endpoint: heap + array buffers after `keys` keys of 64 B minus before, per key; then
//                        `overwrites` writes cycling over `hotKeys` keys and the encoded state (canonical(), and the
//                        snapshot `persist` would write) against the live data.
//   heal(opts)           4 endpoints with `persist` maps. Two leave (close), reopen in a network of their own (the
//                        partition) and write there while the other two write in the first one; then the two close and
//                        reopen in the first network: time from their maps' reopening until all four stateHashes are
//                        equal. A partition cut by closing and reopening, since loopback has no other way to cut one
//                        without network namespaces.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { withWorkers, common } = require('./measure');
const { sleep } = require('../lib/proc');

const WORKER = path.join(__dirname, 'model-worker.js');

/** Polls the workers' 'state' until every hash is equal; seconds it took, or null on timeout. */
async function converge(workers, timeoutMs = 20000) {
  const t0 = Date.now();
  for (;;) {
    const states = await Promise.all(workers.map((w) => { w.send('state'); return w.next('state'); }));
    if (states.every((s) => s.hash === states[0].hash)) return { s: (Date.now() - t0) / 1000, states };
    if (Date.now() - t0 > timeoutMs) return { s: null, states };
    await sleep(20);
  }
}

/** See the header. */
async function fanout(kind, { seconds = 3, warmupS = 1, members = 3, size = 64, keys = 100_000, chunk = 1000, pace = 'credit', window = pace === 'credit' ? 30_000 : 8, outstanding = 4096 } = {}) {
  const base = { ...common(size, seconds, warmupS), kind, size, map: 'bench', pace };
  return withWorkers((seconds + warmupS + 60) * 1000, async (start) => {
    const replicas = [];
    for (let i = 0; i < members; i++) replicas.push(start({ ...base, role: 'replica', name: `replica${i}` }, null, WORKER));
    await Promise.all(replicas.map((r) => r.next('ready')));
    const writer = start({ ...base, role: 'writer', name: 'writer', members, keys, chunk, pace, window, outstanding }, null, WORKER);
    if (kind === 'map' && pace === 'credit') { // relay the slowest replica's count to the writer
      const counts = replicas.map(() => 0);
      replicas.forEach((r, i) => r.child.on('message', (m) => {
        if (m.type !== 'progress') return;
        counts[i] = m.count;
        writer.send('credit', { applied: Math.min(...counts) });
      }));
    }
    await writer.next('writing');
    await Promise.all(replicas.map((r) => r.next('first')));
    const now = process.hrtime.bigint();
    const from = now + BigInt(Math.round(warmupS * 1e9)), to = from + BigInt(Math.round(seconds * 1e9));
    for (const w of [...replicas, writer]) w.send('window', { start: String(from), end: String(to) });
    const reports = await Promise.all(replicas.map((r) => r.next('report')));
    writer.send('stop');
    const stopped = await writer.next('stopped');
    const rates = reports.map((r) => r.count / r.windowS);
    // CPU of all the processes per change applied at one replica (µs): robust to the rest of a shared machine, which
    // slows the rates down but not the work per change.
    const perChange = (x) => x.cpuUs / (x.windowS * (rates.reduce((a, b) => a + b, 0) / rates.length));
    const cpuPerChangeUs = (stopped.window ? perChange(stopped.window) : NaN) + reports.reduce((sum, r) => sum + r.cpuUs / r.count, 0);
    const out = {
      kind, size, members, keys: kind === 'map' ? keys : undefined, chunk: kind === 'map' ? chunk : undefined,
      pace: kind === 'map' ? pace : undefined, window: kind === 'map' && pace !== 'free' ? window : undefined,
      outstanding: kind === 'topic' ? outstanding : undefined,
      perReplica: rates.reduce((a, b) => a + b, 0) / rates.length, minReplica: Math.min(...rates), rates, reports, cpuPerChangeUs,
      writerWindow: stopped.window,
      written: stopped.written, failed: stopped.failed, firstError: stopped.firstError, writerStats: stopped.stats,
      commands: [writer.describe, ...replicas.map((r) => r.describe)],
    };
    if (kind === 'map') {
      const c = await converge([writer, ...replicas]);
      out.convergedS = c.s;
      out.finalSize = c.states[0].size;
      out.replicaStats = c.states.slice(1).map((s) => s.stats);
      out.writerStats = c.states[0].stats;
    }
    return out;
  });
}

const keyBytes = (n) => { let s = 0; for (let i = 0; i < n; i++) s += `key-${String(i).padStart(6, '0')}`.length; return s; };

/** See the header. */
async function catchUp({ keys = 10_000, size = 64, idleMs = 1000, settleMs = 300 } = {}) {
  const base = { ...common(size, 0, 0), size, map: 'catchup' };
  return withWorkers(90_000, async (start) => {
    const a = start({ ...base, role: 'filler', name: 'writer', keys, members: 1 }, null, WORKER);
    const b = start({ ...base, role: 'filler', name: 'member', keys: 0 }, null, WORKER);
    await Promise.all([a.next('ready'), b.next('ready')]);
    await a.next('written');
    const c = await converge([a, b]);
    if (c.s === null || c.states[0].size !== keys) throw new Error(`the two members did not converge on ${keys} keys`);
    const late = start({ ...base, role: 'late', name: 'late', peers: 2, expect: keys }, null, WORKER);
    await late.next('ready');
    await sleep(300); // the peers' first exchanges are over
    const bytes = async () => Promise.all([a, b, late].map((w) => { w.send('bytes'); return w.next('bytes'); }));
    const idle0 = await bytes();
    await sleep(idleMs);
    const idle1 = await bytes();
    const sent = (x0, x1) => x1.reduce((s, x, i) => s + x.stats.bytesSent - x0[i].stats.bytesSent, 0);
    const idleS = idle1[0].t - idle0[0].t;
    const idlePerS = sent(idle0, idle1) / idleS;
    const b0 = await bytes();
    late.send('open');
    const opened = await late.next('opened');
    await sleep(settleMs);
    const b1 = await bytes();
    const windowS = b1[0].t - b0[0].t;
    const raw = sent(b0, b1);
    const wireBytes = raw - idlePerS * windowS;
    const missing = keyBytes(keys) + keys * size;
    const hashes = await converge([a, late]);
    return {
      keys, size, syncedS: opened.syncedS, allS: opened.allS, syncError: opened.syncError, size_: opened.size,
      equal: hashes.s !== null, wireBytes, rawBytes: raw, idlePerS, windowS, missingBytes: missing, bytesRatio: wireBytes / missing,
      lateStats: { before: opened.before, after: opened.after }, writerStats: b1[0].stats,
      // What each endpoint (writer, member, late) sent in the window: which repeats make the bytes.
      perEndpoint: b1.map((x, i) => Object.fromEntries(Object.keys(x.stats).map((k) => [k, x.stats[k] - b0[i].stats[k]]))),
      commands: [a.describe, b.describe, late.describe],
    };
  });
}

/** See the header. */
async function memory({ keys = 100_000, size = 64, hotKeys = 100, overwrites = 1_000_000 } = {}) {
  const base = { ...common(size, 0, 0), size };
  return withWorkers(120_000, async (start) => {
    const w = start({ ...base, role: 'memory', name: 'memory', keys, hotKeys, overwrites }, null, WORKER, ['--expose-gc']);
    const r = await w.next('result');
    const m = r.mem;
    const delta = (k) => m.after[k] - m.before[k];
    const perKey = (delta('heap') + delta('arrayBuffers')) / m.keys;
    const o = r.overwrite;
    return {
      keys, size, perKeyBytes: perKey, heapPerKey: delta('heap') / m.keys, arrayBuffersPerKey: delta('arrayBuffers') / m.keys,
      liveBytesPerKey: m.liveBytes / m.keys, mapSize: m.size,
      overwrites: o.overwrites, hotKeys: o.hotKeys, canonicalBytes: o.canonical, snapshotBytes: o.snapshot, hotLiveBytes: o.liveBytes,
      canonicalRatio: o.canonical / o.liveBytes, snapshotRatio: o.snapshot / o.liveBytes, overwritesPerSec: o.overwrites / o.writeS,
      commands: [w.describe],
    };
  });
}

/** Polls 'state' every `everyMs` until all hashes are equal; the replies' times (CLOCK_MONOTONIC, s) of that round. */
async function pollEqual(workers, timeoutMs, everyMs = 10) {
  const t0 = Date.now();
  for (;;) {
    const states = await Promise.all(workers.map((w) => { w.send('state'); return w.next('state'); }));
    if (states.every((s) => s.hash === states[0].hash)) return states;
    if (Date.now() - t0 > timeoutMs) return null;
    await sleep(everyMs);
  }
}

/** See the header. */
async function heal({ keys = 1000, size = 64 } = {}) {
  const main = common(size, 0, 0);
  const split = common(size, 0, 0);
  const dirs = [0, 1, 2, 3].map((i) => fs.mkdtempSync(path.join(os.tmpdir(), `glue-bench-heal${i}-`)));
  try {
    return await withWorkers(120_000, async (start) => {
      const ws = dirs.map((dir, i) => start({ ...main, role: 'healer', name: `side${i < 2 ? 'A' : 'B'}${i}`, map: 'heal', dir, size,
        keys, index: i, split: { group: split.group, networkId: split.networkId } }, null, WORKER));
      await Promise.all(ws.map((w) => w.next('ready')));
      const sideA = ws.slice(0, 2), sideB = ws.slice(2);
      for (const w of sideB) w.send('split');
      await Promise.all(sideB.map((w) => w.next('split')));
      for (const w of ws) w.send('write');
      await Promise.all(ws.map((w) => w.next('wrote')));
      // Each side agrees within itself before the partition heals.
      const [a, b] = await Promise.all([pollEqual(sideA, 30000, 20), pollEqual(sideB, 30000, 20)]);
      if (!a || !b) throw new Error('a side did not converge during the partition');
      if (a[0].hash === b[0].hash) throw new Error('the two sides hold the same state before healing');
      for (const w of sideB) w.send('heal');
      const back = await Promise.all(sideB.map((w) => w.next('healed')));
      const t0 = Math.min(...back.map((x) => x.t));
      const equal = await pollEqual(ws, 30000);
      if (!equal) throw new Error('no equal stateHash within 30 s of healing');
      return {
        keys, size, healS: Math.max(...equal.map((s) => s.t)) - t0, finalSize: equal[0].size, sides: [a[0].size, b[0].size],
        commands: ws.map((w) => w.describe),
      };
    });
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

module.exports = { fanout, catchUp, memory, heal };
