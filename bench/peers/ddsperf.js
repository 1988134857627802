'use strict';
// bench/peers/ddsperf.js — Cyclone DDS's `ddsperf` (Debian cyclonedds-tools) as a peer benchmark, loopback only.
//
// Each run uses a private CYCLONEDDS_URI file that limits Cyclone to the `lo` interface (multicast on), and a DDS
// domain id that no other run on this machine holds (lock files in $TMPDIR/glue-bench-dds-domains), so two runs never
// discover each other. Two ddsperf processes are started (the reader first); their output is parsed line by line and
// both are stopped (SIGTERM, then SIGKILL) as soon as enough intervals were collected, on error, or at a hard timeout.
//
//   throughput(size, seconds)   `ddsperf -1 -i D sub` + `ddsperf -i D pub size <size>` (reliable, keep-all, as fast
//                               as possible). From the subscriber's per-second lines
//                                 "[pid] 3.000  size 64 total 3316322 lost 0 delta 1298985 lost 0 rate 1299.73 kS/s
//                                  665.46 Mb/s (331.82 kS/s 169.89 Mb/s)"
//                               it skips the first (partial) interval and `warmup` more, then sums `delta` over
//                               `seconds` intervals: msgs/s, Mb/s (payload bytes as ddsperf counts them: the size
//                               includes the topic's 12-byte seq/key header) and samples lost.
//                               { reliable: false } adds -u (best-effort) to both processes.
//   latency(size, seconds)      `ddsperf -i D pong` + `ddsperf -i D ping size <size>` (ping-pong, one outstanding ping).
//                               ping prints per-second lines
//                                 "[pid] 3.000  host:pid size 64 mean 4.9us min 3.7us 50% 4.1us 90% 7.1us 99% 11.0us
//                                  max 1639.9us cnt 100968"
//                               NOTE: ddsperf prints HALF the round trip ((t_recv_pong - t_send_ping) / 2, see
//                               process_pong in ddsperf.c); we return round-trip figures (×2) and the one-way ones.
//                               Per-second percentiles are combined by taking their median. ddsperf computes each
//                               second's percentiles over at most the first 20000 round trips of that second.
//   large(size, seconds)        throughput() with 1 MiB samples; adds Gb/s.
//
// Latency on this 2-vCPU VM is bimodal: with ping and pong on the same CPU a round trip takes ~8 µs, across CPUs
// ~25-80 µs (cross-CPU wake-ups are slow here), and the unpinned scheduler flips between the two. Pass
// { pin: 'same' } or { pin: 'split' } to pin with taskset for stable figures; the default 'none' does not pin.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { which, spawnTracked, stop, tail, sleep } = require('../lib/proc');
const { median } = require('../lib/stats');

const CONFIG_XML =
  '<CycloneDDS><Domain id="any"><General><Interfaces><NetworkInterface name="lo" multicast="true"/>' +
  '</Interfaces></General></Domain></CycloneDDS>\n';

const SUB_RE = /^\[(\d+)\]\s+([\d.]+)\s+size\s+(\d+)\s+total\s+(\d+)\s+lost\s+(\d+)\s+delta\s+(\d+)\s+lost\s+(\d+)\s+rate\s+([\d.]+)\s+kS\/s\s+([\d.]+)\s+Mb\/s/;
const PING_RE = /^\[(\d+)\]\s+([\d.]+)\s+(\S+)\s+size\s+(\d+)\s+mean\s+([\d.]+)us\s+min\s+([\d.]+)us\s+50%\s+([\d.]+)us\s+90%\s+([\d.]+)us\s+99%\s+([\d.]+)us\s+max\s+([\d.]+)us\s+cnt\s+(\d+)/;

/** Parse one subscriber statistics line, or null. */
function parseSubLine(line) {
  const m = SUB_RE.exec(line);
  if (!m) return null;
  return {
    pid: +m[1], t: +m[2], size: +m[3], total: +m[4], lostTotal: +m[5], delta: +m[6], lostDelta: +m[7],
    kSps: +m[8], mbps: +m[9],
  };
}

/** Parse one ping statistics line (values as printed: one-way, µs), or null. */
function parsePingLine(line) {
  const m = PING_RE.exec(line);
  if (!m) return null;
  return {
    pid: +m[1], t: +m[2], peer: m[3], size: +m[4], mean: +m[5], min: +m[6], p50: +m[7], p90: +m[8], p99: +m[9],
    max: +m[10], cnt: +m[11],
  };
}

function requireDdsperf() {
  const bin = which('ddsperf');
  if (!bin) throw new Error('ddsperf not found: run `bash bench/peers/install.sh` (Debian package cyclonedds-tools)');
  return bin;
}

const LOCK_DIR = path.join(os.tmpdir(), 'glue-bench-dds-domains');

function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

/** Reserve a DDS domain id (1..230: valid with Cyclone's default port mapping) held by no other live run. */
function reserveDomain() {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  for (let attempt = 0; attempt < 500; attempt++) {
    const id = 1 + Math.floor(Math.random() * 230);
    const file = path.join(LOCK_DIR, `${id}.lock`);
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      const release = () => { process.removeListener('exit', release); fs.rmSync(file, { force: true }); };
      process.once('exit', release);
      return { id, release };
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const owner = parseInt(fs.readFileSync(file, 'utf8'), 10);
      if (!owner || !pidAlive(owner)) fs.rmSync(file, { force: true }); // stale: retry later in the loop
    }
  }
  throw new Error('could not reserve a free DDS domain id');
}

/** Temp dir holding the loopback-only Cyclone config; returns { env, cleanup }. */
function makeEnv() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glue-ddsperf-'));
  const file = path.join(dir, 'cyclonedds.xml');
  fs.writeFileSync(file, CONFIG_XML);
  const env = { ...process.env, CYCLONEDDS_URI: `file://${file}` };
  const cleanup = () => { process.removeListener('exit', cleanup); fs.rmSync(dir, { recursive: true, force: true }); };
  process.once('exit', cleanup);
  return { env, cleanup };
}

/** CPU pinning for the two processes: 'none' | 'same' (both on CPU 0) | 'split' (CPU 0 and CPU 1). */
function pinning(pin) {
  if (!pin || pin === 'none') return [null, null];
  if (pin === 'same') return ['0', '0'];
  if (pin === 'split') return ['0', os.cpus().length > 1 ? '1' : '0'];
  throw new Error(`unknown pin mode ${pin}`);
}

/**
 * Run two ddsperf processes in a private domain: `first` (the side whose output we parse, started first) and
 * `second`. onLine(line) is fed `first`'s lines and returns true once it has enough. Rejects if a process exits
 * early or `timeoutMs` passes. Always stops both processes and cleans up the config and the domain lock.
 */
async function runPair({ first, second, onLine, timeoutMs, pin, durationS }) {
  const bin = requireDdsperf();
  const [cpuA, cpuB] = pinning(pin);
  const tasksetBin = cpuA !== null ? which('taskset') : null;
  if (cpuA !== null && !tasksetBin) throw new Error('taskset not found (util-linux) but pinning was requested');
  const { env, cleanup } = makeEnv();
  const domain = reserveDomain();
  const cmd = (cpu, args) => {
    const full = ['-i', String(domain.id), '-D', String(durationS), ...args];
    return cpu === null ? [bin, full] : [tasksetBin, ['-c', cpu, bin, ...full]];
  };
  let a = null;
  let b = null;
  let timer = null;
  try {
    return await new Promise((resolve, reject) => {
      let finished = false;
      const finish = (err, value) => {
        if (finished) return;
        finished = true;
        if (err) reject(err); else resolve(value);
      };
      timer = setTimeout(() => finish(new Error(`ddsperf timed out after ${timeoutMs} ms\n${tail(a)}\n${tail(b)}`)),
        timeoutMs);
      let selfSeen = false;
      const startSecond = () => {
        if (b || finished) return;
        b = spawnTracked(...cmd(cpuB, second), { env });
        b.exited.then(({ code, signal, err }) => {
          if (!finished) finish(new Error(`ddsperf ${second.join(' ')} exited early (code ${code}, signal ${signal}${err ? `, ${err.message}` : ''})\n${tail(b)}`));
        });
      };
      a = spawnTracked(...cmd(cpuA, first), {
        env,
        onLine: (line) => {
          if (finished) return;
          if (!selfSeen && /participant .*: new \(self\)/.test(line)) { selfSeen = true; startSecond(); }
          try {
            const done = onLine(line);
            if (done) finish(null, { commands: [a.cmdline, b && b.cmdline], domain: domain.id, output: a.output });
          } catch (e) { finish(e); }
        },
      });
      a.exited.then(({ code, signal, err }) => {
        if (!finished) finish(new Error(`ddsperf ${first.join(' ')} exited early (code ${code}, signal ${signal}${err ? `, ${err.message}` : ''})\n${tail(a)}`));
      });
      // If the "(self)" line never comes (format change), start the second process anyway.
      sleep(500).then(startSecond);
    });
  } finally {
    clearTimeout(timer);
    await Promise.all([stop(b), stop(a)]);
    domain.release();
    cleanup();
  }
}

/**
 * Reliable throughput, measured by the subscriber.
 * Returns { size, seconds, msgsPerSec, mbps, gbps, lost, lostInWindow, perSecond: [msgs/s...], commands }.
 */
async function throughput(size = 64, seconds = 3, { warmup = 1, pin = 'none', reliable = true, timeoutMs } = {}) {
  const qos = reliable ? [] : ['-u'];
  const intervals = [];
  let prevT = null;
  let seenData = false;
  let skip = 1 + warmup; // the first interval with data is partial
  let lastLine = null;
  const durationS = Math.ceil(seconds + warmup + 15);
  const run = await runPair({
    first: [...qos, '-1', 'sub'],
    second: [...qos, 'pub', 'size', String(size)],
    pin,
    durationS,
    timeoutMs: timeoutMs || (seconds + warmup + 20) * 1000,
    onLine: (line) => {
      const s = parseSubLine(line);
      if (!s) return false;
      const dt = prevT === null ? s.t : s.t - prevT;
      prevT = s.t;
      lastLine = s;
      if (!seenData && s.delta === 0) return false;
      seenData = true;
      if (skip > 0) { skip--; return false; }
      intervals.push({ ...s, dt });
      return intervals.length >= seconds;
    },
  });
  const time = intervals.reduce((x, i) => x + i.dt, 0);
  const msgs = intervals.reduce((x, i) => x + i.delta, 0);
  const bytes = intervals.reduce((x, i) => x + i.delta * i.size, 0);
  const bps = (bytes * 8) / time;
  return {
    peer: 'ddsperf',
    reliable,
    size: intervals.length ? intervals[0].size : size,
    seconds: time,
    msgsPerSec: msgs / time,
    mbps: bps / 1e6,
    gbps: bps / 1e9,
    lost: lastLine ? lastLine.lostTotal : NaN,
    lostInWindow: intervals.reduce((x, i) => x + i.lostDelta, 0),
    perSecond: intervals.map((i) => i.delta / i.dt),
    commands: run.commands,
    domain: run.domain,
  };
}

/**
 * Ping-pong latency. Returns round-trip { p50Us, p90Us, p99Us, meanUs } (2× what ddsperf prints), the printed
 * one-way figures in `oneWay`, round trips per second, and the per-second lines.
 */
async function latency(size = 64, seconds = 3, { warmup = 0, pin = 'none', timeoutMs } = {}) {
  const intervals = [];
  let skip = 1 + warmup; // the first interval with round trips is partial
  const durationS = Math.ceil(seconds + warmup + 15);
  const run = await runPair({
    first: ['ping', 'size', String(size)],
    second: ['pong'],
    pin,
    durationS,
    timeoutMs: timeoutMs || (seconds + warmup + 20) * 1000,
    onLine: (line) => {
      const s = parsePingLine(line);
      if (!s || s.cnt === 0) return false;
      if (skip > 0) { skip--; return false; }
      intervals.push(s);
      return intervals.length >= seconds;
    },
  });
  const med = (k) => median(intervals.map((i) => i[k]));
  const oneWay = { p50Us: med('p50'), p90Us: med('p90'), p99Us: med('p99'), meanUs: med('mean'), maxUs: Math.max(...intervals.map((i) => i.max)) };
  return {
    peer: 'ddsperf',
    size: intervals.length ? intervals[0].size : size,
    pin,
    p50Us: 2 * oneWay.p50Us,
    p90Us: 2 * oneWay.p90Us,
    p99Us: 2 * oneWay.p99Us,
    meanUs: 2 * oneWay.meanUs,
    oneWay,
    roundTripsPerSec: intervals.reduce((x, i) => x + i.cnt, 0) / intervals.length,
    perSecond: intervals.map(({ p50, p99, cnt }) => ({ p50Us: 2 * p50, p99Us: 2 * p99, cnt })),
    commands: run.commands,
    domain: run.domain,
  };
}

/** Large-sample throughput (default 1 MiB): same as throughput(), reported in messages/s and Gb/s. */
async function large(size = 1 << 20, seconds = 3, opts = {}) {
  return throughput(size, seconds, opts);
}

module.exports = { throughput, latency, large, parseSubLine, parsePingLine, CONFIG_XML };
