'use strict';
// bench/glue/mqtt-bridge.js — the MQTT bridge's row: 64 B messages per second glue → bridge → Mosquitto → mqtt.js
// subscriber, against mqtt.js publishing directly to the same broker in the same run (target: bridge ≥ 0.8× direct).
//
//   node bench/glue/mqtt-bridge.js [--seconds N] [--rounds N]   (alone; `npm run bench` runs it too, --no-bridge
//                                                                skips it, --bridge-only runs just it)
//
// One private Mosquitto (bench/peers/mqtt.js startBroker, max_inflight_messages 1000) serves both measurements, one
// after the other:
//   direct   bench/peers/mqtt.js throughput(): an mqtt.js publisher process → broker → an mqtt.js subscriber here.
//   bridge   a glue publisher process → (glue, loopback) → a bridge process (an endpoint + bridgeMqtt, to-mqtt) →
//            broker → the same kind of mqtt.js subscriber here.
// The glue publisher offers the rate the direct run reached (paced every millisecond; glue best effort has no
// backpressure, and a publisher flooding at full speed would only take CPU from the bridge and the broker on this
// 2-core machine): the row says whether the bridge carries what mqtt.js carries. BRIDGE_BENCH_OFFER=1.5 offers more
// (an overload: what the broker does not take is dropped by the bridge and counted as backpressure, and the CPU the
// excess takes on the glue side is the broker's loss, so fewer arrive than at 1.0; 0.68–0.82× measured here).
// QoS 0: best-effort publications (the bridge drops,
// counted, what the broker connection cannot take); QoS 1: reliable ones, at most 1024 unsettled (the bridge sends
// QoS 1 within the broker's receive maximum, queueing the rest). The subscriber counts per second after a warm-up;
// lost = what the bridge received from glue minus what the subscriber got (QoS 1 must lose nothing).
// Uses dist/ (build it first: `npx tsc -p tsconfig.build.json`).
const { stop, sleep, startRoleChild, childReply, ratesPerSecond } = require('../lib/proc');
const mqttPeer = require('../peers/mqtt');

const HOST_OPTIONS = () => ({
  interface: '127.0.0.1',
  group: `239.255.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}:${20000 + Math.floor(Math.random() * 40000)}`,
  networkId: 1 + Math.floor(Math.random() * 0xfffffffe),
  announcePeriodMs: 100,
  env: false,
});

const startChild = (role, params) => startRoleChild(__filename, 'bridge bench', role, params, 20000);

/** Sends `request` to a child and waits for its reply carrying `key`. */
function ask(child, request, key, ms = 10000) {
  const since = child.messages.length;
  child.send(request);
  return childReply(child, key, ms, 'bridge bench', since);
}

/** Messages per second at an mqtt.js subscriber for glue → bridge → broker, at one QoS. */
async function bridgeThroughput(broker, qos, seconds, { warmup = 1, rate }) {
  const mqtt = require('mqtt');
  const topic = `glue-bench-bridge/${process.pid}/q${qos}`;
  const options = HOST_OPTIONS();
  let sub = null;
  let bridge = null;
  let pub = null;
  try {
    sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
    let received = 0;
    sub.on('message', () => { received++; });
    await sub.subscribeAsync(topic, { qos });
    bridge = await startChild('bridge', { options, url: broker.url, topic, maxSeconds: seconds + warmup + 40 });
    pub = await startChild('pub', { options, topic, qos, rate, maxSeconds: seconds + warmup + 40 });
    // Wait until the route is there: publications get through to the subscriber.
    pub.send({ probe: true });
    const routeBy = Date.now() + 15000;
    while (received === 0 && Date.now() < routeBy) await sleep(20);
    if (received === 0) throw new Error('no publication reached the subscriber through the bridge in 15 s');
    pub.send({ start: true });
    await sleep(warmup * 1000);
    const { perSecond, mean } = await ratesPerSecond(() => received, seconds);
    const { sent } = await ask(pub, { stop: true }, 'sent', 20000);
    // Drain: until the bridge has nothing queued or in flight and the subscriber stopped growing.
    let stats = (await ask(bridge, { stats: true }, 'stats')).stats;
    const drainBy = Date.now() + 10000;
    for (let last = -1; Date.now() < drainBy && (stats.queued > 0 || stats.inFlight > 0 || last !== received);) {
      last = received;
      await sleep(200);
      stats = (await ask(bridge, { stats: true }, 'stats')).stats;
    }
    const intoBridge = stats.toMqtt + Object.values(stats.dropped).reduce((a, b) => a + b, 0) + stats.queued + stats.inFlight;
    return {
      qos, size: 64, seconds, msgsPerSec: mean, perSecond,
      published: sent, bridged: stats.toMqtt, received, dropped: stats.dropped,
      lost: qos === 1 ? stats.toMqtt - Math.min(received, stats.toMqtt) : undefined, intoBridge,
    };
  } finally {
    if (pub) await stop(pub);
    if (bridge) await stop(bridge);
    if (sub) sub.end(true);
  }
}

/** The glue publisher offers this multiple of the rate the direct run just reached. */
const OFFER = Number(process.env.BRIDGE_BENCH_OFFER) || 1.0;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/**
 * The rows: direct and bridged at QoS 0 and QoS 1, `rounds` times each, alternating (direct, bridge, direct, ...),
 * so that a load change on the shared machine hits both; the row shows the medians and the median of the rounds'
 * ratios.
 */
async function measure({ seconds = 3, rounds = 3, log = () => {} } = {}) {
  // Receive Maximum 1000 (mosquitto's default, 20, would hold the bridge's QoS 1 window below the direct publisher's
  // 64, which at 3.1.1 has no such limit).
  const broker = await mqttPeer.startBroker({ extra: ['max_inflight_messages 1000'] });
  try {
    const rows = {};
    for (const qos of [0, 1]) {
      const runs = [];
      for (let r = 0; r < rounds; r++) {
        log(`bridge bench: QoS ${qos}, round ${r + 1}/${rounds}: mqtt.js direct`);
        const direct = await mqttPeer.throughput(qos, seconds, { broker });
        log(`bridge bench: QoS ${qos}, round ${r + 1}/${rounds}: glue → bridge → Mosquitto`);
        const bridged = await bridgeThroughput(broker, qos, seconds, { rate: Math.ceil(direct.msgsPerSec * OFFER) });
        runs.push({ direct: direct.msgsPerSec, bridge: bridged.msgsPerSec, ratio: bridged.msgsPerSec / direct.msgsPerSec, bridged });
      }
      const dropped = {};
      for (const run of runs) for (const [k, n] of Object.entries(run.bridged.dropped)) dropped[k] = (dropped[k] || 0) + n;
      rows[`qos${qos}`] = {
        direct: median(runs.map((x) => x.direct)),
        bridge: median(runs.map((x) => x.bridge)),
        ratio: median(runs.map((x) => x.ratio)),
        ratios: runs.map((x) => Number(x.ratio.toFixed(2))),
        dropped,
        lost: qos === 1 ? runs.reduce((a, x) => a + (x.bridged.lost || 0), 0) : undefined,
      };
    }
    return { broker: broker.cmdline, rows };
  } finally {
    await broker.stop();
  }
}

/** The printed table. */
function format(result) {
  const lines = [`MQTT bridge, 64 B, msgs/s at an mqtt.js subscriber (same broker, same run, medians; glue offers ${OFFER}x the direct rate; target bridge/direct >= 0.8)`];
  lines.push('  QoS  mqtt.js direct   glue -> bridge   bridge/direct   rounds            notes');
  for (const [name, r] of Object.entries(result.rows)) {
    const notes = [];
    const d = Object.entries(r.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    if (d.length) notes.push(`bridge dropped: ${d.join(', ')}`);
    if (r.lost !== undefined) notes.push(`lost after PUBACK ${r.lost}`);
    lines.push(`  ${name.slice(3).padStart(3)}  ${Math.round(r.direct).toString().padStart(14)}   ${Math.round(r.bridge).toString().padStart(14)}   ${r.ratio.toFixed(2).padStart(13)}   ${r.ratios.join(' ').padEnd(16)}  ${notes.join('; ')}`);
  }
  return lines.join('\n');
}

// ---- child roles ----

async function childMain(params) {
  setTimeout(() => process.exit(2), params.maxSeconds * 1000);
  process.on('disconnect', () => process.exit(0));
  const { Endpoint } = require('../../dist/index.js');
  if (params.role === 'bridge') {
    const { bridgeMqtt } = require('../../dist/mqtt.js');
    const ep = await Endpoint.open({ ...params.options, name: 'bench-bridge' });
    const bridge = await bridgeMqtt(ep, { url: params.url, topics: [params.topic], direction: 'to-mqtt', queueLimit: 1_000_000 });
    process.on('message', (m) => { if (m && m.stats) process.send({ stats: bridge.stats() }); });
    process.send({ ready: true });
    return;
  }
  // role 'pub': publishes at the offered rate `rate` msgs/s (the direct run's), in small batches every millisecond
  const ep = await Endpoint.open({ ...params.options, name: 'bench-pub' });
  const payload = Buffer.alloc(64, 0xee);
  let running = false;
  let sent = 0;
  let unsettled = 0;
  const WINDOW = 1024; // QoS 1: reliable publications unsettled at most
  const settled = () => { unsettled--; };
  let t0 = 0n;
  const pump = () => {
    if (!running) return;
    const due = Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * params.rate);
    for (let i = 0; sent < due && i < 2000; i++) {
      if (params.qos === 0) { ep.publish(params.topic, payload); sent++; continue; }
      if (unsettled >= WINDOW) break;
      unsettled++;
      sent++;
      ep.publish(params.topic, payload, { reliable: true }).then(settled, settled);
    }
    setTimeout(pump, 1);
  };
  let probing;
  process.on('message', (m) => {
    if (m && m.probe) probing = setInterval(() => ep.publish(params.topic, payload, { reliable: params.qos === 1 }), 20);
    if (m && m.start) { clearInterval(probing); running = true; t0 = process.hrtime.bigint(); pump(); }
    if (m && m.stop) {
      running = false;
      const wait = () => (unsettled > 0 ? setTimeout(wait, 10) : process.send({ sent }));
      setTimeout(wait, 10);
    }
  });
  process.send({ ready: true });
}

if (require.main === module && process.argv[2] === '--child') {
  childMain(JSON.parse(process.argv[3])).catch((e) => { console.error(e); process.exit(1); });
} else if (require.main === module) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--seconds');
  const seconds = i >= 0 ? Math.max(1, Number(argv[i + 1]) || 3) : 3;
  const j = argv.indexOf('--rounds');
  const rounds = j >= 0 ? Math.max(1, Number(argv[j + 1]) || 3) : 3;
  measure({ seconds, rounds, log: (m) => process.stderr.write(`${m}\n`) })
    .then((r) => { console.log(format(r)); console.log(JSON.stringify(r.rows)); })
    .catch((e) => { console.error(e); process.exitCode = 1; });
}

module.exports = { measure, format, bridgeThroughput };
