'use strict';
// bench/glue/worker.js — one side of a glue measurement, run as a child process by bench/glue/measure.js, talking
// to it over the Node IPC channel (process.send / process.on('message')). Uses only the public API of the compiled
// package (dist/index.js). Every endpoint: interface lo, a private multicast group and network ID (from measure.js),
// GLUE_* environment variables ignored.
//
// Roles (argv[2] is a JSON config: { role, group, networkId, size, seconds, warmupS, mode, busyPollUs, ... }):
//   sink    counts messages in its onMessage callback. The clock starts at the first message: after warmupS it opens
//           the measured window of `seconds` (per-second counts), then reports { type: 'window' }. Every message
//           carries a u32 sequence number (little-endian, bytes 0..3); a bitmap records which arrived, so after
//           the source stops the sink reports exactly how many arrived once, twice, out of order, or not at all.
//   source  sends 64 B / 1 MiB messages to the sink as fast as the mode allows, until told to stop:
//             reliable   one send(…, { reliable: true }) Promise per message, at most `outstanding` unsettled;
//             many       sendMany(…) batches of `batch` messages (one Promise per batch), at most `outstanding`
//                        batches unsettled;
//             besteffort send() (returns false when the native queue is full: counted as refused, not sent);
//             topic      publish() reliably on bench/t (the sink subscribes), one Promise per publication;
//             topicIter  the same, the sink reading its subscription with `for await`;
//             natural    the README's idiom: a fresh Buffer per message, send(…, { reliable: true }) Promises
//                        awaited with Promise.all in groups of `batch`, the sink reading `for await` ep.messages().
//           After 'stop' it awaits flush() and reports what it sent and what settled.
//   pong    echoes every message back reliably (best effort with cfg.reliable false) from its onMessage callback.
//   ping    sends one reliable message, waits for the echo (checking its sequence number), repeats; round trips
//           measured with process.hrtime.bigint(); after warmupS it records `seconds` worth and reports percentiles.
//   dgramPong, dgramPing  the same over two node:dgram sockets on 127.0.0.1 (the floor); dgramPing gets cfg.port.
//   replier, requester  the same round trip as request/reply: the replier answers `ep.reply('bench/rr', …)` with the
//           request's bytes (raw codec), the requester awaits `ep.request('bench/rr', …)` once it knows the replier.
// Every side reports its resident set size (peak, sampled every 100 ms) with its results.
// Both sides also report their CPU use during the measured window, per thread: the JS main thread, glue's I/O
// thread (named glue-io-<name>), and the rest (V8 helpers, libuv), from /proc/self/task/*/stat.
const fs = require('node:fs');
const { Endpoint } = require('../../dist/index.js');

const cfg = JSON.parse(process.argv[2]);
const post = (o) => process.send(o);
const hrnow = () => process.hrtime.bigint();
const secondsSince = (t0) => Number(hrnow() - t0) / 1e9;

// ---- CPU accounting per thread ---------------------------------------------------------------------------------
const CLK_TCK = 100; // USER_HZ on Linux
function threadTicks() {
  const out = { js: 0, io: 0, other: 0 };
  let tids = [];
  try { tids = fs.readdirSync('/proc/self/task'); } catch { return null; }
  for (const tid of tids) {
    let stat;
    try { stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'); } catch { continue; }
    const open = stat.indexOf('('), close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    const f = stat.slice(close + 2).split(' '); // f[0] = state (field 3); utime = field 14, stime = field 15
    const ticks = Number(f[11]) + Number(f[12]);
    const group = Number(tid) === process.pid ? 'js' : comm.startsWith('glue-io') ? 'io' : 'other';
    out[group] += ticks;
  }
  return out;
}
/** Start a CPU measurement; the returned function gives % of one core per thread group since the start. */
function cpuMeter() {
  const t0 = hrnow(), ticks0 = threadTicks(), usage0 = process.cpuUsage();
  return () => {
    const dt = secondsSince(t0), ticks1 = threadTicks(), u = process.cpuUsage(usage0);
    const pct = (k) => (ticks0 && ticks1 ? Math.round((100 * (ticks1[k] - ticks0[k])) / CLK_TCK / dt) : null);
    return { js: pct('js'), io: pct('io'), other: pct('other'), total: Math.round((u.user + u.system) / 1e4 / dt) };
  };
}

/** The counters of ep.stats() that say something about the wire (and about how much work each message took). */
function wireStats(ep) {
  const s = ep.stats();
  const keys = ['datagramsSent', 'datagramsReceived', 'bytesSent', 'bytesReceived', 'messagesSent', 'messagesReceived',
    'reliableMessagesSent', 'reliableMessagesAcked', 'reliableMessagesFailed', 'reliableMessagesReceived',
    'fragmentsSent', 'fragmentsResent', 'retransmitTimeouts', 'heartbeatsSent', 'acksSent', 'acksReceived',
    'duplicatesDropped', 'droppedBeyondWindow', 'droppedNoMemory', 'reliableMessagesDeferred', 'callbackErrors',
    'readingToIoThread', 'readingToCaller'];
  const o = {};
  for (const k of keys) if (s[k] !== undefined) o[k] = s[k];
  return o;
}

// ---- commands from measure.js ------------------------------------------------------------------------------------
const waiting = new Map();
process.on('message', (m) => {
  const w = waiting.get(m.cmd);
  if (w) { waiting.delete(m.cmd); w(m); }
});
const command = (cmd) => new Promise((resolve) => waiting.set(cmd, resolve));

async function open(name) {
  return Endpoint.open({
    name, networkId: cfg.networkId, interface: 'lo', group: cfg.group, announcePeriodMs: 100, expiryMultiplier: 30,
    busyPollUs: cfg.busyPollUs || 0, ackHoldUs: cfg.ackHoldUs || 0, env: false,
    ...(cfg.receiveOn ? { receiveOn: cfg.receiveOn } : {}), // else the library's default
    ...(cfg.networkKey ? { networkKey: cfg.networkKey } : {}),
  });
}

/** Resolves with the peer called `name` once it is in the table. */
function peerNamed(ep, name) {
  return new Promise((resolve) => {
    const found = ep.peers().find((p) => p.name === name);
    if (found) return resolve(found);
    const off = ep.onStatus((ev) => { if (ev.type === 'peer-up' && ev.peer.name === name) { off(); resolve(ev.peer); } });
  });
}

const tick = () => new Promise(setImmediate);

/** The largest resident set size (bytes) seen by a sampler every 100 ms since the process started. */
let rssMax = process.memoryUsage().rss;
setInterval(() => { rssMax = Math.max(rssMax, process.memoryUsage().rss); }, 100).unref();
const rssPeak = () => Math.max(rssMax, process.memoryUsage().rss);

// ---- sink ----------------------------------------------------------------------------------------------------------
async function sink() {
  const ep = await open('sink');
  let n = 0, bytes = 0, unique = 0, duplicates = 0, reordered = 0, maxSeq = -1, bad = 0;
  let seen = new Uint8Array(1 << 20);
  let lastArrival = hrnow();
  let first = null;
  const onFirst = () => {
    setTimeout(startWindow, cfg.warmupS * 1000);
  };
  const onData = (d) => {
    n++; bytes += d.length;
    lastArrival = hrnow();
    if (d.length < 4) { bad++; return; }
    const seq = (d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24)) >>> 0;
    if (seq >= seen.length) {
      let len = seen.length;
      while (seq >= len) len *= 2;
      const grown = new Uint8Array(len); grown.set(seen); seen = grown;
    }
    if (seen[seq]) duplicates++; else { seen[seq] = 1; unique++; }
    if (seq < maxSeq) reordered++; else maxSeq = seq;
    if (first === null) { first = lastArrival; onFirst(); }
  };
  // 'topic' mode: the messages are publications on bench/t (a subscription's callback), else plain messages.
  // 'topicIter': the same subscription read with `for await`; 'natural': plain messages read with `for await` from
  // ep.messages() (the README's idiom).
  if (cfg.mode === 'topic') ep.subscribe('bench/t', { callback: (m) => onData(m.payload) });
  else if (cfg.mode === 'topicIter') (async () => { for await (const m of ep.subscribe('bench/t')) onData(m.payload); })();
  else if (cfg.mode === 'natural') (async () => { for await (const m of ep.messages()) onData(m.data); })();
  else ep.onMessage((m) => onData(m.data));
  post({ type: 'ready' });

  function startWindow() {
    const t0 = hrnow(), n0 = n, b0 = bytes, cpu = cpuMeter(), perSecond = [];
    post({ type: 'windowStart' });
    let prevT = t0, prevN = n;
    let ticks = 0;
    const timer = setInterval(() => {
      const t = hrnow();
      perSecond.push((n - prevN) / (Number(t - prevT) / 1e9));
      prevT = t; prevN = n;
      if (++ticks < cfg.seconds) return;
      clearInterval(timer);
      const dt = Number(t - t0) / 1e9;
      post({ type: 'window', windowS: dt, msgsPerSec: (n - n0) / dt, bitsPerSec: ((bytes - b0) * 8) / dt, perSecond,
        cpu: cpu(), rssPeakBytes: rssPeak() });
    }, 1000);
  }

  // After the source stopped: wait for everything it sent (reliable) or for 300 ms of silence (best effort).
  const { sent, reliable } = await command('finish');
  const deadline = hrnow() + 10_000_000_000n;
  while (hrnow() < deadline) {
    if (reliable ? unique >= sent : hrnow() - lastArrival > 300_000_000n) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  let missing = 0;
  for (let s = 0; s < sent; s++) if (!seen[s]) missing++;
  post({ type: 'final', received: n, unique, duplicates, reordered, missing, beyondSent: maxSeq >= sent ? maxSeq - sent + 1 : 0,
    malformed: bad, stats: wireStats(ep) });
  await command('exit');
  await ep.close();
  process.exit(0);
}

// ---- source --------------------------------------------------------------------------------------------------------
async function source() {
  const ep = await open('source');
  const peer = await peerNamed(ep, 'sink');
  const to = peer.id;
  const size = Math.max(4, cfg.size);
  let stopped = false, seq = 0, refused = 0, blockedNs = 0n, delivered = 0, failed = 0, firstError = null, cpu = null, cpuWindow = null;
  command('mark').then(() => { cpu = cpuMeter(); });
  command('stop').then(() => { stopped = true; if (cpu) cpuWindow = cpu(); });
  post({ type: 'sending' });

  if (cfg.mode === 'besteffort') {
    const buf = Buffer.alloc(size);
    while (!stopped) {
      for (let i = 0; i < 1000; i++) {
        buf.writeUInt32LE(seq, 0);
        if (ep.send(to, buf)) seq++; else { refused++; break; }
      }
      await tick();
    }
  } else if (cfg.mode === 'many') {
    const batch = cfg.batch, max = cfg.outstanding;
    let outstanding = 0, wake = null;
    const ok = () => { outstanding--; delivered += batch; if (wake) { const w = wake; wake = null; w(); } };
    const err = (e) => { outstanding--; failed += batch; firstError = firstError || String(e && e.message); if (wake) { const w = wake; wake = null; w(); } };
    while (!stopped) {
      const slab = Buffer.alloc(batch * size), msgs = new Array(batch); // one zeroed allocation per batch
      for (let i = 0; i < batch; i++) {
        const b = slab.subarray(i * size, (i + 1) * size);
        b.writeUInt32LE(seq++, 0); msgs[i] = b;
      }
      outstanding++;
      ep.sendMany(to, msgs, { reliable: true }).then(ok, err);
      if (outstanding >= max) { const t0 = hrnow(); await new Promise((r) => { wake = r; }); blockedNs += hrnow() - t0; } else await tick();
    }
  } else if (cfg.mode === 'natural') { // the README's idiom: a fresh Buffer per message, Promise.all per group
    const group = cfg.batch;
    while (!stopped) {
      const pending = [];
      for (let i = 0; i < group; i++) {
        const b = Buffer.alloc(size);
        b.writeUInt32LE(seq++, 0);
        pending.push(ep.send(to, b, { reliable: true }));
      }
      try {
        await Promise.all(pending);
        delivered += group;
      } catch (e) {
        for (const r of await Promise.allSettled(pending)) if (r.status === 'fulfilled') delivered++; else { failed++; firstError = firstError || String(r.reason && r.reason.message); }
      }
    }
  } else if (cfg.mode === 'topic' || cfg.mode === 'topicIter') { // publish() reliably on bench/t, one Promise per publication
    const buf = Buffer.alloc(size), max = cfg.outstanding, low = Math.floor(max / 2), chunk = Math.min(1000, max);
    let outstanding = 0, wake = null;
    const settle = () => { if (--outstanding <= low && wake) { const w = wake; wake = null; w(); } };
    const ok = () => { delivered++; settle(); };
    const err = (e) => { failed++; firstError = firstError || String(e && e.message); settle(); };
    const opts = { reliable: true, depth: 0 };
    while (!ep.peers().some((p) => p.name === 'sink' && p.extensions.size > 0)) await tick(); // its interest is known
    while (!stopped) {
      for (let i = 0; i < chunk && outstanding < max; i++) {
        buf.writeUInt32LE(seq++, 0);
        outstanding++;
        ep.publish('bench/t', buf, opts).then(ok, err);
      }
      if (outstanding >= max) { const t0 = hrnow(); await new Promise((r) => { wake = r; }); blockedNs += hrnow() - t0; } else await tick();
    }
  } else { // 'reliable': one Promise per message
    const buf = Buffer.alloc(size), max = cfg.outstanding, low = Math.floor(max / 2), chunk = Math.min(1000, max);
    let outstanding = 0, wake = null;
    const settle = () => { if (--outstanding <= low && wake) { const w = wake; wake = null; w(); } };
    const ok = () => { delivered++; settle(); };
    const err = (e) => { failed++; firstError = firstError || String(e && e.message); settle(); };
    const opts = { reliable: true };
    while (!stopped) {
      for (let i = 0; i < chunk && outstanding < max; i++) {
        buf.writeUInt32LE(seq++, 0);
        outstanding++;
        ep.send(to, buf, opts).then(ok, err);
      }
      if (outstanding >= max) { const t0 = hrnow(); await new Promise((r) => { wake = r; }); blockedNs += hrnow() - t0; } else await tick();
    }
  }
  const tFlush = hrnow();
  await ep.flush();
  post({ type: 'stopped', sent: seq, refused, blockedS: Number(blockedNs) / 1e9, delivered, failed, firstError, flushS: secondsSince(tFlush), cpu: cpuWindow,
    rssPeakBytes: rssPeak(), stats: wireStats(ep) });
  await command('exit');
  await ep.close();
  process.exit(0);
}

// ---- ping-pong -----------------------------------------------------------------------------------------------------
// cfg.reliable === false: best-effort sends both ways (an echo not back within 200 ms is sent again, counted `resent`).
// Roles dgramPing/dgramPong: the same over node:dgram (one UDP socket each, 127.0.0.1), the floor for anything that
// ends in a JavaScript callback.
const dgram = require('node:dgram');

async function pong() {
  const ep = await open('pong');
  let errors = 0;
  const fail = () => { errors++; };
  const opts = { reliable: true };
  if (cfg.reliable === false) ep.onMessage((m) => { if (!ep.send(m.from, m.data)) errors++; });
  else ep.onMessage((m) => { ep.send(m.from, m.data, opts).catch(fail); });
  await pongLifecycle(() => errors, {});
  await ep.close();
  process.exit(0);
}

async function dgramPong() {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  await pongLifecycle(() => 0, { port: sock.address().port });
  sock.close();
  process.exit(0);
}

/** The pong side's part of the protocol with measure.js: ready, the CPU window between mark and stop, exit. */
async function pongLifecycle(errors, ready) {
  command('mark').then(() => { const cpu = cpuMeter(); command('stop').then(() => post({ type: 'cpu', cpu: cpu(), errors: errors(), rssBytes: process.memoryUsage().rss })); });
  post({ type: 'ready', ...ready });
  await command('exit');
}

async function ping() {
  const ep = await open('ping');
  const peer = await peerNamed(ep, 'pong');
  const to = peer.id, opts = { reliable: true };
  let errors = 0;
  const fail = () => { errors++; };
  const send = cfg.reliable === false ? (buf) => { if (!ep.send(to, buf)) errors++; } : (buf) => { ep.send(to, buf, opts).catch(fail); };
  const r = await pingLoop(send, (onEcho) => ep.onMessage((m) => onEcho(m.data)));
  post({ ...r, errors: r.errors + errors, stats: wireStats(ep) });
  await command('exit');
  await ep.close();
  process.exit(0);
}

async function dgramPing() {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const r = await pingLoop((buf) => sock.send(buf, cfg.port, '127.0.0.1'), (onEcho) => sock.on('message', onEcho));
  post(r);
  await command('exit');
  sock.close();
  process.exit(0);
}

/**
 * Sends one message (a u32 sequence number in bytes 0..3), waits for its echo, repeats; round trips in µs from
 * process.hrtime.bigint(), recorded for `seconds` after `warmupS`. An echo not back within 200 ms is sent again
 * (best effort may lose one) and counted in `resent`. Returns the 'result' message.
 */
async function pingLoop(send, listen) {
  const buf = Buffer.alloc(Math.max(4, cfg.size));
  const cap = 2_000_000, samples = new Float64Array(cap);
  let count = 0, seq = 0, mismatched = 0, resent = 0, t = 0n, cpu = null, timer = null;
  const warmEnd = hrnow() + BigInt(Math.round(cfg.warmupS * 1e9));
  let windowStart = 0n, windowEnd = 0n;
  const resend = () => { resent++; t = hrnow(); send(buf); timer = setTimeout(resend, 200); };
  const result = await new Promise((resolve) => {
    const sendNext = () => {
      buf.writeUInt32LE(++seq >>> 0, 0);
      t = hrnow();
      send(buf);
    };
    timer = setTimeout(resend, 200);
    listen((data) => {
      const now = hrnow();
      if (data.readUInt32LE(0) !== (seq >>> 0)) { mismatched++; return; } // not the echo we wait for
      timer.refresh();
      if (windowStart === 0n) {
        if (now >= warmEnd) {
          windowStart = now; windowEnd = now + BigInt(Math.round(cfg.seconds * 1e9)); cpu = cpuMeter();
          post({ type: 'windowStart' });
        }
      } else {
        if (count < cap) samples[count++] = Number(now - t) / 1000;
        if (now >= windowEnd) { clearTimeout(timer); return resolve({ windowS: Number(now - windowStart) / 1e9, cpu: cpu() }); }
      }
      sendNext();
    });
    sendNext();
  });
  const sorted = samples.slice(0, count).sort();
  const pct = (p) => sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))];
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i];
  return { type: 'result', count, roundTripsPerSec: count / result.windowS, p50Us: pct(50), p90Us: pct(90), p99Us: pct(99),
    p999Us: pct(99.9), minUs: sorted[0], maxUs: sorted[count - 1], meanUs: sum / count, mismatched, resent, errors: 0,
    cpu: result.cpu, rssBytes: process.memoryUsage().rss };
}

// ---- request/reply: the same ping-pong as `ep.request()` against `ep.reply()` -------------------------------------
const RR_TOPIC = 'bench/rr';

async function replier() {
  const ep = await open('pong');
  ep.reply(RR_TOPIC, (req) => req.payload, { codec: 'raw' });
  await pongLifecycle(() => ep.stats().requestErrors, {});
  await ep.close();
  process.exit(0);
}

async function requester() {
  const ep = await open('ping');
  await ep.waitForRepliers(RR_TOPIC, { timeoutMs: 30_000 });
  let errors = 0;
  let onEcho = () => {};
  const opts = { codec: 'raw', timeoutMs: 5000 };
  const send = (buf) => { ep.request(RR_TOPIC, buf, opts).then((reply) => onEcho(reply.payload), () => { errors++; }); };
  const r = await pingLoop(send, (listener) => { onEcho = listener; });
  post({ ...r, errors: r.errors + errors, stats: wireStats(ep) });
  await command('exit');
  await ep.close();
  process.exit(0);
}

const roles = { sink, source, pong, ping, dgramPong, dgramPing, replier, requester };
if (!roles[cfg.role]) { console.error(`unknown role ${cfg.role}`); process.exit(2); }
roles[cfg.role]().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
