'use strict';
// bench/glue/model-worker.js — one endpoint of a model-layer measurement, run as a child process by
// bench/glue/model.js and driven over the Node IPC channel. Public API of dist/ only; interface lo, a private group and
// network ID per measurement, GLUE_* environment variables ignored.
//
// Roles (argv[2] is a JSON config { role, name, group, networkId, ... }):
//   replica  opens map `cfg.map` (cfg.kind 'map') or subscribes reliably to `bench/m` (cfg.kind 'topic'), counts
//            remote changes (onChange with local false) or publications; 'window' { start, end } reports the count
//            and CPU time over that window. 'state' reports the map's size and stateHash.
//   writer   map.set() of `cfg.size`-byte values (codec raw) on keys cycling over `cfg.keys`, `cfg.chunk` per
//            macrotask, once `cfg.members` other members are up; pace 'credit': at most `cfg.window` writes ahead of
//            the slowest replica's count (relayed by the driver, out of band), 'quorum': the last write of each
//            chunk with a quorum of all, at most `cfg.window` of those unsettled, 'free': no waiting at all; or (kind 'topic') publish() reliably on bench/m with
//            at most `cfg.outstanding` unsettled, once `cfg.members` subscribers' interest is known. Until 'stop'; its CPU
//            time over the 'window' comes with 'stopped'.
//   filler   opens the map, writes `cfg.keys` keys of `cfg.size` B (none when cfg.keys is 0) and reports when every
//            one of `cfg.members` other members holds them (stateHash equal); then answers 'bytes' with its stats.
//   late     opens the endpoint only; once `cfg.peers` peers are up, 'open' opens the map and reports how long until
//            synced() resolved and until `cfg.expect` keys were present, with its stats.
//   healer   opens map `cfg.map` with persist in `cfg.dir`; 'split' closes it and the endpoint and reopens both in the
//            network `cfg.split`; 'write' writes `cfg.keys` keys (half of its own, half that every healer writes);
//            'heal' closes and reopens in the first network, and reports when its map reopened.
//   memory   no peers: heap after `cfg.keys` keys of `cfg.size` B minus before; the encoded state after
//            `cfg.overwrites` writes cycling over `cfg.hotKeys` keys (needs --expose-gc).
const { Endpoint } = require('../../dist/index.js');
const { encodeSnapshot } = require('../../dist/src/model/snapshot.js');

const cfg = JSON.parse(process.argv[2]);
const post = (o) => process.send(o);
const hrnow = () => process.hrtime.bigint();
const secondsSince = (t0) => Number(hrnow() - t0) / 1e9;
const tick = () => new Promise(setImmediate);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Commands from the driver, in order: `command(...names)` takes the first one of those names, waiting if need be
// (others stay queued for later calls).
const queued = [];
const waiters = [];
process.on('message', (m) => {
  const i = waiters.findIndex((w) => w.names.includes(m.cmd));
  if (i >= 0) waiters.splice(i, 1)[0].resolve(m); else queued.push(m);
});
const command = (...names) => {
  const i = queued.findIndex((m) => names.includes(m.cmd));
  if (i >= 0) return Promise.resolve(queued.splice(i, 1)[0]);
  return new Promise((resolve) => { waiters.push({ names, resolve }); });
};

async function open() {
  return Endpoint.open({
    name: cfg.name, networkId: cfg.networkId, interface: 'lo', group: cfg.group, announcePeriodMs: 100, expiryMultiplier: 30,
    env: false,
  });
}

function wire(ep) {
  const s = ep.stats();
  return { bytesSent: s.bytesSent, bytesReceived: s.bytesReceived, datagramsSent: s.datagramsSent, datagramsReceived: s.datagramsReceived,
    modelDeltasSent: s.modelDeltasSent, modelDeltasReceived: s.modelDeltasReceived, modelDigestsSent: s.modelDigestsSent,
    modelWantsSent: s.modelWantsSent, modelPushesSent: s.modelPushesSent, modelEntriesPulled: s.modelEntriesPulled,
    modelSendFailures: s.modelSendFailures, modelMalformed: s.modelMalformed, fragmentsResent: s.fragmentsResent,
    retransmitTimeouts: s.retransmitTimeouts, reliableMessagesSent: s.reliableMessagesSent };
}

/**
 * The window spans the instants the driver chose (CLOCK_MONOTONIC, shared by the processes), from the last turn of
 * the event loop before its start to the first one after its end: a turn that blocks the loop for long (a large
 * batch) widens the window instead of hiding its changes. Returns the change of `counter()` and of this process's
 * CPU time (µs) over it.
 */
function sampleWindow(m, counter) {
  const start = BigInt(m.start);
  let end = BigInt(m.end);
  let t0 = 0n, c0 = 0, u0 = null;
  const ms = (t) => Math.max(0, Number(t - hrnow()) / 1e6);
  return new Promise((resolve) => {
    const poll = (until, done) => { // every millisecond from 20 ms before `until` (the polling costs CPU too)
      setTimeout(() => {
        const timer = setInterval(() => { if (done(hrnow())) clearInterval(timer); }, 1);
      }, ms(until) - 20);
    };
    poll(start, (now) => {
      if (now < start) { t0 = now; c0 = counter(); u0 = process.cpuUsage(); return false; }
      if (u0 === null) { // the loop was blocked since before the start: the window starts now, as long as asked
        t0 = now; c0 = counter(); u0 = process.cpuUsage();
        end = now + (end - start);
      }
      poll(end, (later) => {
        if (later < end) return false;
        const u = process.cpuUsage(u0);
        resolve({ count: counter() - c0, windowS: secondsSince(t0), cpuUs: u.user + u.system, early: Number(start - t0) / 1e6 });
        return true;
      });
      return true;
    });
  });
}

const keyName = (i) => `key-${String(i).padStart(6, '0')}`;

/** Waits until `pred()` holds, checking every `ms`. */
async function until(pred, ms = 5) {
  while (!pred()) await sleep(ms);
}

// ---- replica -------------------------------------------------------------------------------------------------------
async function replica() {
  const ep = await open();
  let count = 0, map = null;
  if (cfg.kind === 'map') {
    map = await ep.map(cfg.map, { codec: 'raw' });
    map.onChange((c) => { if (!c.local) count++; });
  } else {
    ep.subscribe('bench/m', { reliable: true, callback: () => { count++; } });
  }
  post({ type: 'ready' });
  let first = false;
  (async () => { await until(() => count > 0, 2); first = true; post({ type: 'first' }); })();
  // pace 'credit': the writer keeps at most `window` writes ahead of the slowest replica's count (sent every 10 ms).
  if (cfg.pace === 'credit') setInterval(() => post({ type: 'progress', count }), 10).unref();
  for (;;) {
    const m = await command('window', 'state', 'exit');
    if (m.cmd === 'exit') break;
    if (m.cmd === 'state') {
      post({ type: 'state', size: map ? map.size : count, hash: map ? map.stateHash() : '', stats: wire(ep), t: Number(hrnow()) / 1e9 });
      continue;
    }
    const w = await sampleWindow(m, () => count);
    post({ type: 'report', ...w, total: count, first, stats: wire(ep) });
  }
  await ep.close();
  process.exit(0);
}

// ---- writer --------------------------------------------------------------------------------------------------------
async function writer() {
  const ep = await open();
  const size = cfg.size;
  const keys = Array.from({ length: cfg.keys }, (_, i) => keyName(i));
  let stopped = false, written = 0, failed = 0, firstError = null, window = null;
  command('stop').then(() => { stopped = true; });
  command('window').then((m) => sampleWindow(m, () => written)).then((w) => { window = w; });
  if (cfg.kind === 'map') {
    const map = await ep.map(cfg.map, { codec: 'raw' });
    await until(() => map.members().length >= cfg.members);
    post({ type: 'writing' });
    const value = Buffer.alloc(size);
    let j = 0, outstanding = 0, wake = null;
    const settle = () => { outstanding--; if (wake) { const w = wake; wake = null; w(); } };
    const fail = (e) => { failed++; firstError = firstError || String(e && e.message); settle(); };
    const quorum = { quorum: cfg.members + 1, deadlineMs: 30000 };
    let applied = 0;
    if (cfg.pace === 'credit') {
      process.on('message', (m) => {
        if (m.cmd !== 'credit') return;
        applied = m.applied;
        if (wake && written - applied <= cfg.window) { const w = wake; wake = null; w(); }
      });
    }
    while (!stopped) {
      for (let i = 0; i < cfg.chunk; i++) {
        value.writeUInt32LE(written++, 0);
        // 'quorum': the last write of each chunk waits for every replica, at most `window` chunks unconfirmed
        // (as publish() waits for its acknowledgements); 'free': no wait (overwrites merge while the network lags).
        if (cfg.pace === 'quorum' && i === cfg.chunk - 1) { outstanding++; map.set(keys[j], value, quorum).then(settle, fail); } else map.set(keys[j], value);
        if (++j === keys.length) j = 0;
      }
      const ahead = cfg.pace === 'credit' ? written - applied > cfg.window : outstanding >= cfg.window;
      if (ahead) await new Promise((r) => { wake = r; }); else await tick();
    }
    await sleep(100);
    post({ type: 'stopped', written, failed, firstError, window, stats: wire(ep) });
    // Convergence check: the driver compares this hash with the replicas'.
    await command('state');
    post({ type: 'state', size: map.size, hash: map.stateHash(), stats: wire(ep) });
  } else {
    await until(() => ep.peers().filter((p) => p.extensions.size > 0).length >= cfg.members);
    post({ type: 'writing' });
    const buf = Buffer.alloc(size), max = cfg.outstanding, low = Math.floor(max / 2), chunk = Math.min(1000, max);
    let outstanding = 0, wake = null;
    const settle = () => { if (--outstanding <= low && wake) { const w = wake; wake = null; w(); } };
    const ok = () => { settle(); };
    const err = (e) => { failed++; firstError = firstError || String(e && e.message); settle(); };
    const opts = { reliable: true, depth: 0 };
    while (!stopped) {
      for (let i = 0; i < chunk && outstanding < max; i++) {
        buf.writeUInt32LE(written++, 0);
        outstanding++;
        ep.publish('bench/m', buf, opts).then(ok, err);
      }
      if (outstanding >= max) await new Promise((r) => { wake = r; }); else await tick();
    }
    await ep.flush();
    post({ type: 'stopped', written, failed, firstError, window, stats: wire(ep) });
  }
  await command('exit');
  await ep.close();
  process.exit(0);
}

// ---- catch-up: filler and late ---------------------------------------------------------------------------------------
async function filler() {
  const ep = await open();
  const map = await ep.map(cfg.map, { codec: 'raw' });
  post({ type: 'ready' });
  if (cfg.keys > 0) {
    await until(() => map.members().length >= cfg.members);
    const value = Buffer.alloc(cfg.size);
    for (let i = 0; i < cfg.keys; i++) {
      value.writeUInt32LE(i, 0);
      map.set(keyName(i), value);
    }
    post({ type: 'written', size: map.size, hash: map.stateHash() });
  }
  for (;;) {
    const m = await command('bytes', 'state', 'exit');
    if (m.cmd === 'exit') break;
    if (m.cmd === 'bytes') post({ type: 'bytes', stats: wire(ep), t: Number(hrnow()) / 1e9 });
    else post({ type: 'state', size: map.size, hash: map.stateHash() });
  }
  await ep.close();
  process.exit(0);
}

async function late() {
  const ep = await open();
  await until(() => ep.peers().filter((p) => p.extensions.size > 0).length >= cfg.peers);
  post({ type: 'ready' });
  let map = null;
  for (;;) {
    const m = await command('bytes', 'open', 'state', 'exit');
    if (m.cmd === 'exit') break;
    if (m.cmd === 'bytes') { post({ type: 'bytes', stats: wire(ep), t: Number(hrnow()) / 1e9 }); continue; }
    if (m.cmd === 'state') { post({ type: 'state', size: map ? map.size : 0, hash: map ? map.stateHash() : '' }); continue; }
    const before = wire(ep);
    const t0 = hrnow();
    map = await ep.map(cfg.map, { codec: 'raw' });
    let syncedS = null, syncError = null;
    const synced = map.synced({ timeoutMs: 30000 }).then(() => { syncedS = secondsSince(t0); }, (e) => { syncError = e.message; });
    await until(() => map.size >= cfg.expect || syncError !== null, 1);
    const allS = secondsSince(t0);
    await synced;
    post({ type: 'opened', syncedS, allS, syncError, size: map.size, hash: map.stateHash(), before, after: wire(ep), t: Number(hrnow()) / 1e9 });
  }
  await ep.close();
  process.exit(0);
}

// ---- memory and state size (no peers) --------------------------------------------------------------------------------
async function memory() {
  const gc = global.gc;
  if (!gc) throw new Error('run with --expose-gc');
  const ep = await open();
  const heap = () => { gc(); gc(); const m = process.memoryUsage(); return { heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }; };
  const keys = Array.from({ length: cfg.keys }, (_, i) => keyName(i));
  const value = Buffer.alloc(cfg.size);
  const map = await ep.map('bench-memory', { codec: 'raw' });
  await tick();
  const m0 = heap();
  for (let i = 0; i < keys.length; i++) {
    value.writeUInt32LE(i, 0);
    map.set(keys[i], value);
    if (i % 10000 === 9999) await tick(); // let the deltas go (to nobody)
  }
  await sleep(50);
  const m1 = heap();
  const liveBytes = keys.reduce((s, k) => s + Buffer.byteLength(k) + cfg.size, 0);
  const mem = { keys: keys.length, size: map.size, before: m0, after: m1, liveBytes };
  await map.close();

  // State size after many overwrites of a few keys.
  const hot = Array.from({ length: cfg.hotKeys }, (_, i) => keyName(i));
  const map2 = await ep.map('bench-overwrite', { codec: 'raw' });
  const t0 = hrnow();
  for (let i = 0; i < cfg.overwrites; i++) {
    value.writeUInt32LE(i, 0);
    map2.set(hot[i % hot.length], value);
    if (i % 10000 === 9999) await tick();
  }
  await sleep(50);
  const writeS = secondsSince(t0);
  const canonical = map2.canonical().length;
  // The snapshot `persist` would write (every entry and the context): internal, read through the compiled module.
  const snapshot = encodeSnapshot(map2.replica).length;
  const hotLive = hot.reduce((s, k) => s + Buffer.byteLength(k) + cfg.size, 0);
  await map2.close();
  post({ type: 'result', mem, overwrite: { overwrites: cfg.overwrites, hotKeys: hot.length, size: map2.size, canonical, snapshot, liveBytes: hotLive, writeS } });
  await command('exit');
  await ep.close();
  process.exit(0);
}


// ---- partition and heal --------------------------------------------------------------------------------------------
async function healer() {
  const at = (net) => Endpoint.open({
    name: cfg.name, networkId: net.networkId, interface: 'lo', group: net.group, announcePeriodMs: 100, expiryMultiplier: 30, env: false,
  });
  const peersUp = (ep, n) => until(() => ep.peers().filter((p) => p.extensions.size > 0).length >= n, 2);
  let ep = await at(cfg);
  let map = await ep.map(cfg.map, { codec: 'raw', persist: { dir: cfg.dir, fsync: 'never' } });
  await peersUp(ep, 3);
  post({ type: 'ready' });
  const value = Buffer.alloc(cfg.size);
  for (;;) {
    const m = await command('split', 'write', 'heal', 'state', 'exit');
    if (m.cmd === 'exit') break;
    if (m.cmd === 'state') {
      post({ type: 'state', size: map.size, hash: map.stateHash(), t: Number(hrnow()) / 1e9 });
    } else if (m.cmd === 'split') { // leave for a network of our own (with the other one of this side)
      await map.close(); await ep.close();
      ep = await at(cfg.split);
      map = await ep.map(cfg.map, { codec: 'raw', persist: { dir: cfg.dir, fsync: 'never' } });
      await peersUp(ep, 1);
      post({ type: 'split' });
    } else if (m.cmd === 'write') { // keys of our own, and keys every endpoint writes (concurrent writes)
      for (let i = 0; i < cfg.keys; i++) {
        value.writeUInt32LE(cfg.index * 1e6 + i, 0);
        map.set(i % 2 === 0 ? `own-${cfg.index}-${i}` : `shared-${i}`, value);
      }
      post({ type: 'wrote' });
    } else if (m.cmd === 'heal') { // back to the first network
      await map.close(); await ep.close();
      ep = await at(cfg);
      await until(() => ep.peers().length >= 3, 2); // the other one of this side has no map open yet

      const t = Number(hrnow()) / 1e9;
      map = await ep.map(cfg.map, { codec: 'raw', persist: { dir: cfg.dir, fsync: 'never' } });
      post({ type: 'healed', t, size: map.size });
    }
  }
  await map.close();
  await ep.close();
  process.exit(0);
}

const roles = { replica, writer, filler, late, memory, healer };
if (!roles[cfg.role]) { console.error(`unknown role ${cfg.role}`); process.exit(2); }
roles[cfg.role]().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
