'use strict';
// bench/peers/mqtt.js — the broker-based baseline: a private Mosquitto driven by the npm `mqtt` client (mqtt.js).
//
// startBroker() runs `mosquitto -c <tmp>/mosquitto.conf` listening on 127.0.0.1 only, on a free port picked at
// random (no persistence, anonymous, big enough queues that QoS 1 never drops); stop() kills it and removes the dir.
//
//   throughput(qos, seconds)  The subscriber (a client in this process) counts messages received per second; the
//                             publisher is a separate Node process (this file run as a child) publishing 64 B
//                             messages as fast as the connection takes them:
//                               QoS 0: batches of 256 publishes, the next batch once the last one was written;
//                               QoS 1: at most `window` (64) publishes awaiting PUBACK at a time.
//                             After `warmup` seconds it counts for `seconds`; then the publisher is stopped, and after
//                             a short drain lost = published - received (QoS 0 may lose under overload; QoS 1 not).
//   pingPong(seconds)         Round trip at QoS 0: this process publishes 64 B on .../ping, a child process echoes it
//                             on .../pong, the next ping goes out when the pong arrives. p50/p99 from all round trips
//                             after a 0.5 s warm-up (process.hrtime, µs).
//   runAll({ seconds })       Broker + the three measurements above, then stops the broker.
//
// Every run has a hard timeout, and the broker and children are killed on completion or error (see lib/proc.js).

const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { which, spawnTracked, stop, tail, sleep, withTimeout, startRoleChild, childReply, ratesPerSecond } = require('../lib/proc');
const { summarize } = require('../lib/stats');

const HOST = '127.0.0.1';

function loadMqtt() {
  try { return require('mqtt'); } catch (e) {
    throw new Error('npm package `mqtt` missing: run `npm install` (it is a devDependency)');
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Start a private mosquitto on 127.0.0.1:<random free port>. Returns { url, port, cmdline, stop() }. `extra`: more
 * config lines (the bridge row raises max_inflight_messages, which is also MQTT 5's Receive Maximum).
 */
async function startBroker({ extra = [] } = {}) {
  const bin = which('mosquitto');
  if (!bin) throw new Error('mosquitto not found: run `bash bench/peers/install.sh` (Debian package mosquitto)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glue-mosquitto-'));
  fs.chmodSync(dir, 0o755); // mosquitto drops root privileges to user `mosquitto` and must still read its config
  const removeDir = () => { process.removeListener('exit', removeDir); fs.rmSync(dir, { recursive: true, force: true }); };
  process.once('exit', removeDir);
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(conf, [
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      'persistence false',
      'max_queued_messages 1000000',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...extra,
      '',
    ].join('\n'), { mode: 0o644 });
    const proc = spawnTracked(bin, ['-c', conf]);
    const deadline = Date.now() + 5000;
    let up = false;
    while (Date.now() < deadline && proc.exitCode === null && !proc.spawnError) {
      if (await canConnect(port)) { up = true; break; }
      await sleep(50);
    }
    if (up) {
      return {
        url: `mqtt://${HOST}:${port}`, port, cmdline: proc.cmdline,
        stop: async () => { await stop(proc); removeDir(); },
      };
    }
    lastErr = new Error(`mosquitto did not start on port ${port}\n${tail(proc)}`);
    await stop(proc);
  }
  removeDir();
  throw lastErr;
}

/** Fork this file as a child role ('pub' | 'pong'); resolves when it reports ready. */
const startChild = (role, params) => startRoleChild(__filename, 'mqtt', role, params, 10000);

const nextMessage = (child, key, ms) => childReply(child, key, ms, 'mqtt');

/** Throughput at the subscriber for one QoS level. */
async function throughput(qos, seconds = 3, { size = 64, warmup = 1, window = 64, broker } = {}) {
  const mqtt = loadMqtt();
  const own = !broker;
  if (own) broker = await startBroker();
  const topic = `glue-bench/${process.pid}/tp${qos}`;
  let sub = null;
  let pub = null;
  try {
    return await withTimeout((async () => {
      sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
      let received = 0;
      sub.on('message', () => { received++; });
      await sub.subscribeAsync(topic, { qos });
      pub = await startChild('pub', { url: broker.url, topic, qos, size, window, maxSeconds: seconds + warmup + 15 });
      pub.send({ start: true });
      await sleep(warmup * 1000);
      const { perSecond, mean: inWindow, elapsedS: elapsed } = await ratesPerSecond(() => received, seconds);
      pub.send({ stop: true });
      const { sent } = await nextMessage(pub, 'sent', 5000);
      const drainUntil = Date.now() + 1000;
      while (received < sent && Date.now() < drainUntil) await sleep(20);
      return {
        peer: 'mosquitto', qos, size, seconds: elapsed, msgsPerSec: inWindow, perSecond,
        published: sent, received, lost: sent - received, commands: [broker.cmdline, `node ${path.relative(process.cwd(), __filename)} (mqtt.js ${require('mqtt/package.json').version})`],
      };
    })(), (seconds + warmup + 20) * 1000, `mqtt throughput qos ${qos}`);
  } finally {
    if (pub) await stop(pub);
    if (sub) sub.end(true);
    if (own) await broker.stop();
  }
}

/** Ping-pong round trip at QoS 0. */
async function pingPong(seconds = 3, { size = 64, warmup = 0.5, broker } = {}) {
  const mqtt = loadMqtt();
  const own = !broker;
  if (own) broker = await startBroker();
  const base = `glue-bench/${process.pid}/pp`;
  let client = null;
  let pong = null;
  try {
    return await withTimeout((async () => {
      client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
      await client.subscribeAsync(`${base}/pong`, { qos: 0 });
      pong = await startChild('pong', { url: broker.url, base, maxSeconds: seconds + warmup + 15 });
      const payload = Buffer.alloc(size, 0xee);
      const samples = [];
      const tStart = process.hrtime.bigint();
      const tRecord = tStart + BigInt(Math.round(warmup * 1e9));
      const tEnd = tRecord + BigInt(Math.round(seconds * 1e9));
      await new Promise((resolve) => {
        let sentAt = 0n;
        const ping = () => { sentAt = process.hrtime.bigint(); client.publish(`${base}/ping`, payload, { qos: 0 }); };
        client.on('message', () => {
          const now = process.hrtime.bigint();
          if (now >= tRecord) samples.push(Number(now - sentAt) / 1e3);
          if (now >= tEnd) resolve(); else ping();
        });
        ping();
      });
      const s = summarize(samples);
      return {
        peer: 'mosquitto', qos: 0, size, seconds, roundTrips: s.n, roundTripsPerSec: s.n / seconds,
        p50Us: s.p50, p90Us: s.p90, p99Us: s.p99, meanUs: s.mean, maxUs: s.max, commands: [broker.cmdline],
      };
    })(), (seconds + warmup + 20) * 1000, 'mqtt ping-pong');
  } finally {
    if (pong) await stop(pong);
    if (client) client.end(true);
    if (own) await broker.stop();
  }
}

/** One broker, QoS 0 and QoS 1 throughput, and QoS 0 ping-pong. */
async function runAll({ seconds = 3 } = {}) {
  const broker = await startBroker();
  try {
    const qos0 = await throughput(0, seconds, { broker });
    const qos1 = await throughput(1, seconds, { broker });
    const rtt = await pingPong(seconds, { broker });
    return { broker: broker.cmdline, qos0, qos1, pingPong: rtt };
  } finally {
    await broker.stop();
  }
}

// ---- child roles (run as `node mqtt.js --child '{"role":...}'`) ----

async function childMain(params) {
  const mqtt = loadMqtt();
  // Hard deadline and orphan protection: never outlive the parent or the run.
  setTimeout(() => process.exit(2), params.maxSeconds * 1000);
  process.on('disconnect', () => process.exit(0));
  const client = await mqtt.connectAsync(params.url, { reconnectPeriod: 0, clean: true });
  if (params.role === 'pong') {
    client.on('message', (_topic, payload) => client.publish(`${params.base}/pong`, payload, { qos: 0 }));
    await client.subscribeAsync(`${params.base}/ping`, { qos: 0 });
    process.send({ ready: true });
    return;
  }
  // role 'pub'
  const payload = Buffer.alloc(params.size, 0xee);
  let running = false;
  let sent = 0;
  let inflight = 0;
  const pump0 = () => {
    if (!running) return;
    for (let i = 0; i < 255; i++) { client.publish(params.topic, payload, { qos: 0 }); sent++; }
    sent++;
    client.publish(params.topic, payload, { qos: 0 }, () => setImmediate(pump0));
  };
  const onAck = (err) => { if (!err) { inflight--; pump1(); } };
  const pump1 = () => {
    while (running && inflight < params.window) { inflight++; sent++; client.publish(params.topic, payload, { qos: 1 }, onAck); }
  };
  process.on('message', (m) => {
    if (m && m.start) { running = true; if (params.qos === 0) pump0(); else pump1(); }
    if (m && m.stop) {
      running = false;
      // Let queued QoS 0 writes / outstanding QoS 1 acks finish before reporting the count.
      const wait = () => (params.qos === 1 && inflight > 0 ? setTimeout(wait, 10) : process.send({ sent }));
      setTimeout(wait, 10);
    }
  });
  process.send({ ready: true });
}

if (require.main === module && process.argv[2] === '--child') {
  childMain(JSON.parse(process.argv[3])).catch((e) => { console.error(e); process.exit(1); });
}

module.exports = { startBroker, throughput, pingPong, runAll };
