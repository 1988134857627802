'use strict';
// bench/glue/worker.js — one side of a glue measurement, run as a child process by bench/glue/measure.js.
// Uses the public API (dist/index.js). Roles:
//   sink     counts messages in the onMessage callback; prints {"rate": msgs/s, "bytes": B/s, "lost": n} per window
//   source   sends as fast as flow control allows: reliable (sendMany batches) or best effort (send)
//   pong     echoes every message back reliably
//   ping     sends one reliable message, waits for the echo, repeats; prints round-trip samples (µs)
// argv: role group networkId size seconds [reliable|besteffort] [busyPollUs]
const { Endpoint } = require('../../dist/index.js');

const [role, group, networkId, size, seconds, mode = 'reliable', busy = '0'] = process.argv.slice(2);
const opts = { networkId: +networkId, group, announcePeriodMs: 100, busyPollUs: +busy };
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function peerUp(ep) {
  await new Promise((resolve) => {
    if (ep.peers().length) return resolve();
    ep.onStatus((ev) => ev.type === 'peer-up' && resolve());
  });
}

async function sink() {
  const ep = await Endpoint.open({ ...opts, name: 'sink' });
  let n = 0, bytes = 0, next = 0, lost = 0;
  ep.onMessage((m) => {
    n++; bytes += m.data.length;
    if (m.data.length >= 4) {
      const seq = m.data.readUInt32LE(0);
      if (seq > next) lost += seq - next;
      next = seq + 1;
    }
  });
  out({ ready: true });
  let t0 = process.hrtime.bigint();
  setInterval(() => {
    const t = process.hrtime.bigint(), dt = Number(t - t0) / 1e9;
    out({ rate: n / dt, bytes: bytes / dt, lost });
    n = 0; bytes = 0; t0 = t;
  }, 1000);
}

async function source() {
  const ep = await Endpoint.open({ ...opts, name: 'source' });
  await peerUp(ep);
  const len = Math.max(4, +size), end = Date.now() + +seconds * 1000;
  let seq = 0;
  if (mode === 'besteffort') {
    const buf = Buffer.alloc(len);
    while (Date.now() < end) {
      for (let i = 0; i < 2000; i++) { buf.writeUInt32LE(seq, 0); if (ep.send('sink', buf)) seq++; }
      await new Promise(setImmediate);
    }
  } else {
    const batch = len >= 65536 ? 4 : 1000, outstanding = len >= 65536 ? 2 : 16, pending = [];
    while (Date.now() < end) {
      const msgs = [];
      for (let i = 0; i < batch; i++) { const b = Buffer.allocUnsafe(len); b.writeUInt32LE(seq++, 0); msgs.push(b); }
      pending.push(ep.sendMany('sink', msgs, { reliable: true }));
      if (pending.length >= outstanding) await pending.shift();
    }
    await Promise.all(pending);
  }
  out({ sent: seq });
  await ep.close();
}

async function pong() {
  const ep = await Endpoint.open({ ...opts, name: 'pong' });
  ep.onMessage((m) => { ep.send(m.from, m.data, { reliable: true }).catch(() => {}); });
  out({ ready: true });
}

async function ping() {
  const ep = await Endpoint.open({ ...opts, name: 'ping' });
  await peerUp(ep);
  const buf = Buffer.alloc(+size), samples = [], warm = Date.now() + 1000, end = warm + +seconds * 1000;
  let t = 0n;
  await new Promise((resolve) => {
    ep.onMessage(() => {
      const now = Date.now();
      if (now > warm) samples.push(Number(process.hrtime.bigint() - t) / 1000);
      if (now > end) return resolve();
      t = process.hrtime.bigint();
      ep.send('pong', buf, { reliable: true }).catch(() => {});
    });
    t = process.hrtime.bigint();
    ep.send('pong', buf, { reliable: true }).catch(() => {});
  });
  out({ samples });
  await ep.close();
}

({ sink, source, pong, ping })[role]().catch((e) => { console.error(e); process.exit(1); });
