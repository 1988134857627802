'use strict';
// bench/glue/measure.js — glue's half of the benchmark. Each measurement runs two child processes (bench/glue/worker.js,
// driven over the Node IPC channel) on loopback, in a private multicast group 239.192.137.x:<random port> and a random
// network ID, so parallel runs never hear each other. Figures are comparable with bench/peers:
//
//   throughput(mode, size, opts)  sink + source. The sink counts messages in its onMessage callback; its clock starts
//                                 at the first message, skips `warmupS`, then counts for `seconds` (msgs/s, payload
//                                 bits/s, per-second rates). Then the source stops, flushes, and the sink checks every
//                                 sequence number: received once, twice (duplicates), out of order, or missing.
//                                 mode: 'reliable' (a send() Promise per message, `outstanding` at most unsettled),
//                                 'many' (sendMany batches of `batch`), 'besteffort' (send(); refusals counted),
//                                 'topic' (publish() reliably on a topic the sink subscribes to, a Promise each),
//                                 'topicIter' (the same, read with `for await`), 'natural' (the README's idiom: a fresh
//                                 Buffer and a send() Promise per message, Promise.all per `batch`, `for await`
//                                 ep.messages() on the other side). Both sides report their peak RSS.
//   latency(size, opts)           pong + ping, reliable messages (best effort with opts.reliable false), one outstanding;
//                                 round trip percentiles in µs over `seconds` after `warmupS`. opts.busyPollUs and
//                                 opts.ackHoldUs are set on both endpoints. opts.transport 'dgram': the same over two
//                                 node:dgram sockets on 127.0.0.1 (the floor); 'request': ep.request() against
//                                 ep.reply() (request/reply's round trip).
// opts.networkKey (64 hex digits): both endpoints seal every datagram with it. opts.receiveOn: 'io' | 'js' (default: the
// library's default).
// opts.pin: 'none' | 'same' (both processes on CPU 0, via taskset) | 'split' (CPU 0 and CPU 1), as for ddsperf.
// Both sides report their CPU use in the window per thread (JS main thread, glue I/O thread, other).
const os = require('node:os');
const path = require('node:path');
const { which, spawnTracked, stop, tail, sleep } = require('../lib/proc');

const WORKER = path.join(__dirname, 'worker.js');
const rand = (n) => Math.floor(Math.random() * n);
const groupAddr = () => `239.192.137.${2 + rand(250)}:${20000 + rand(40000)}`;

function pinning(pin) {
  if (!pin || pin === 'none') return [null, null];
  if (pin === 'same') return ['0', '0'];
  if (pin === 'split') return ['0', os.cpus().length > 1 ? '1' : '0'];
  throw new Error(`unknown pin mode ${pin}`);
}

/**
 * Start a worker (bench/glue/worker.js unless `worker` names another script, with `nodeArgs` before it); returns
 * { child, next(type) -> Promise<message>, send(cmd, extra), describe }.
 */
function startWorker(cfg, cpu, worker = WORKER, nodeArgs = []) {
  // BENCH_NODE_ARGS: extra node flags for the workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (a V8 CPU
  // profile per worker, for Chrome DevTools) or "--heap-prof --heap-prof-dir=/tmp/prof" (allocation sites).
  const prof = (process.env.BENCH_NODE_ARGS || '').split(' ').filter(Boolean);
  const args = [...prof, ...nodeArgs, worker, JSON.stringify(cfg)];
  let cmd = process.execPath, argv = args;
  if (cpu !== null) {
    const taskset = which('taskset');
    if (!taskset) throw new Error('taskset not found (util-linux) but pinning was requested');
    cmd = taskset; argv = ['-c', cpu, process.execPath, ...args];
  }
  const child = spawnTracked(cmd, argv, { ipc: true });
  const inbox = [], waiters = [];
  let exitErr = null;
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m); else if (m.type !== 'progress') inbox.push(m); // progress reports are read by listeners of their own
  });
  child.exited.then(({ code, signal, err }) => {
    const why = child.output.find((l) => /Error\b/.test(l));
    exitErr = new Error(`glue ${cfg.role} exited (code ${code}, signal ${signal}${err ? `, ${err.message}` : ''})` +
      `${why ? `: ${why.trim()}` : ''}\n${tail(child)}`);
    for (const w of waiters.splice(0)) w.reject(exitErr);
  });
  return {
    child,
    describe: `${cpu !== null ? `taskset -c ${cpu} ` : ''}node ${nodeArgs.length ? `${nodeArgs.join(' ')} ` : ''}bench/glue/${path.basename(worker)} ${cfg.role}`,
    next(type) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      if (exitErr) return Promise.reject(exitErr);
      return new Promise((resolve, reject) => waiters.push({ type, resolve, reject }));
    },
    send(cmd, extra = {}) {
      try { if (child.connected) child.send({ cmd, ...extra }); } catch { /* gone */ }
    },
  };
}

/** Ask a worker to exit; force it after graceMs. */
async function finish(w, graceMs = 3000) {
  if (!w) return;
  w.send('exit');
  const t = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([w.child.exited, t])) === 'timeout') await stop(w.child);
}

/** Run body(workers) with a hard timeout; always reaps the workers it started. */
async function withWorkers(timeoutMs, body) {
  const started = [];
  const start = (cfg, cpu = null, worker = WORKER, nodeArgs = []) => { const w = startWorker(cfg, cpu, worker, nodeArgs); started.push(w); return w; };
  let timer;
  try {
    return await Promise.race([
      body(start),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms\n${started.map((w) => tail(w.child)).join('\n')}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await Promise.all(started.map((w) => finish(w)));
  }
}

const common = (size, seconds, warmupS, busyPollUs = 0, ackHoldUs = 0, networkKey = undefined, receiveOn = undefined) =>
  ({ group: groupAddr(), networkId: 1 + rand(0xfffffff0), size, seconds, warmupS, busyPollUs, ackHoldUs, networkKey, receiveOn });

/** Throughput of `size`-byte messages from one process to another; see the header. */
async function throughput(mode, size, { seconds = 3, warmupS = 1, outstanding = 16384, batch = 1000, pin = 'none', networkKey, receiveOn } = {}) {
  const [cpuA, cpuB] = pinning(pin);
  const base = common(size, seconds, warmupS, 0, 0, networkKey, receiveOn);
  return withWorkers((seconds + warmupS + 30) * 1000, async (start) => {
    const sink = start({ ...base, role: 'sink', mode }, cpuA);
    await sink.next('ready');
    const source = start({ ...base, role: 'source', mode, outstanding, batch }, cpuB);
    await sink.next('windowStart');
    source.send('mark');
    const win = await sink.next('window');
    source.send('stop');
    const st = await source.next('stopped');
    sink.send('finish', { sent: st.sent, reliable: mode !== 'besteffort' });
    const fin = await sink.next('final');
    return {
      system: 'glue', mode, size, pin, outstanding: mode === 'besteffort' ? undefined : outstanding,
      batch: mode === 'many' ? batch : undefined,
      msgsPerSec: win.msgsPerSec, bitsPerSec: win.bitsPerSec, gbps: win.bitsPerSec / 1e9, windowS: win.windowS,
      perSecond: win.perSecond,
      sent: st.sent, refusedAtSend: st.refused, delivered: st.delivered, failed: st.failed, firstError: st.firstError,
      flushS: st.flushS, blockedS: st.blockedS,
      received: fin.received, unique: fin.unique, duplicates: fin.duplicates, reordered: fin.reordered,
      missing: fin.missing, beyondSent: fin.beyondSent, malformed: fin.malformed,
      cpu: { receiver: win.cpu, sender: st.cpu },
      rssPeakBytes: { receiver: win.rssPeakBytes, sender: st.rssPeakBytes },
      stats: { receiver: fin.stats, sender: st.stats },
      commands: [sink.describe, source.describe],
    };
  });
}

/** Ping-pong round trip of `size`-byte messages (reliable unless `reliable: false`; over node:dgram with `transport: 'dgram'`); see the header. */
async function latency(size, { seconds = 3, warmupS = 1, busyPollUs = 0, ackHoldUs = 0, pin = 'none', networkKey, receiveOn, reliable = true, transport = 'glue' } = {}) {
  const [cpuA, cpuB] = pinning(pin);
  const base = { ...common(size, seconds, warmupS, busyPollUs, ackHoldUs, networkKey, receiveOn), reliable };
  const roles = { dgram: ['dgramPong', 'dgramPing'], request: ['replier', 'requester'], glue: ['pong', 'ping'] };
  const [pongRole, pingRole] = roles[transport];
  return withWorkers((seconds + warmupS + 30) * 1000, async (start) => {
    const pong = start({ ...base, role: pongRole }, cpuB);
    const { port } = await pong.next('ready');
    const ping = start({ ...base, role: pingRole, port }, cpuA);
    await ping.next('windowStart');
    pong.send('mark');
    const r = await ping.next('result');
    pong.send('stop');
    const pc = await pong.next('cpu');
    return {
      system: transport, size, busyPollUs, ackHoldUs, pin, reliable, receiveOn,
      p50Us: r.p50Us, p90Us: r.p90Us, p99Us: r.p99Us, p999Us: r.p999Us, minUs: r.minUs, maxUs: r.maxUs, meanUs: r.meanUs,
      count: r.count, roundTripsPerSec: r.roundTripsPerSec, mismatched: r.mismatched, resent: r.resent, errors: r.errors + pc.errors,
      rssBytes: { ping: r.rssBytes, pong: pc.rssBytes },
      cpu: { ping: r.cpu, pong: pc.cpu }, stats: { ping: r.stats },
      commands: [ping.describe, pong.describe],
    };
  });
}

/**
 * What went wrong in a throughput() run, as phrases ("3 missing", …): reliable modes must deliver and settle every
 * message; any mode must deliver none twice or out of order. Empty when nothing did.
 */
function deliveryProblems(x) {
  const bad = [];
  if (x.mode !== 'besteffort') {
    if (x.missing) bad.push(`${x.missing} missing`);
    if (x.failed) bad.push(`${x.failed} sends rejected (${x.firstError})`);
    if (x.delivered !== undefined && x.delivered !== x.sent - x.failed) bad.push(`${x.sent - x.failed - x.delivered} sends never settled`);
  }
  if (x.duplicates) bad.push(`${x.duplicates} duplicated`);
  if (x.reordered) bad.push(`${x.reordered} out of order`);
  return bad;
}

/** What went wrong in a latency() run: send errors and echoes of another ping. Empty when nothing did. */
function pingProblems(x) {
  return x.errors || x.mismatched ? [`${x.errors} send errors, ${x.mismatched} unexpected echoes`] : [];
}

/** Resident set size (bytes) of a bare `node` process that has just started: the base of the memory figures. */
function bareNodeRss() {
  const out = require('node:child_process').execFileSync(process.execPath, ['-e', 'setTimeout(() => console.log(process.memoryUsage().rss), 200)']);
  return Number(String(out).trim());
}

module.exports = { throughput, latency, groupAddr, withWorkers, common, bareNodeRss, deliveryProblems, pingProblems };
