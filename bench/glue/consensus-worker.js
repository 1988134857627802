'use strict';
// bench/glue/consensus-worker.js — one member of a consensus group (issue 10) for bench/glue/consensus.js, run as a
// child process and driven over the Node IPC channel. Public API of dist/ only; interface lo, a private group and
// network ID per measurement, GLUE_* environment variables ignored. argv[2]: { name, members, group, networkId }.
//
// Commands: 'status' -> { type: 'status', role, term, leader }; 'load' { seconds, outstanding, size } -> committed
// kv.put()s of `size` B with at most `outstanding` unsettled, for `seconds` -> { type: 'load', count, seconds };
// 'latency' { n, size } -> n sequential puts -> { type: 'latency', us: [...] }; 'paired' { rounds, n, size, to } ->
// rounds of n sequential puts, then n reliable ping-pongs (ep.send) with member `to`, which echoes them ->
// { type: 'paired', puts: [...], pings: [...] } (µs; the round trip of these very processes at the same moment);
// 'exit'. Events: { type: 'leader',
// leader, term, at } on every leader change (at: hrtime, ns, of this process: the driver compares receipt times).
const { Endpoint } = require('../../dist/index.js');

const cfg = JSON.parse(process.argv[2]);
const post = (o) => process.send(o);

(async () => {
  const ep = await Endpoint.open({ name: cfg.name, networkId: cfg.networkId, interface: 'lo', group: cfg.group, announcePeriodMs: 100, env: false, ...(cfg.receiveOn ? { receiveOn: cfg.receiveOn } : {}) });
  const g = await ep.consensus('bench', { members: cfg.members, codec: 'raw', deadlineMs: 30_000 });
  let echoed; // resolves the ping in flight
  ep.onMessage((m) => {
    if (echoed !== undefined) echoed();
    else ep.send(m.from, m.data, { reliable: true }).catch(() => {});
  });
  g.onEvent((ev) => {
    if (ev.type === 'leader-changed') post({ type: 'leader', leader: ev.leader ? ev.leader.name : '', term: ev.term });
  });
  process.on('message', async (m) => {
    if (m.cmd === 'exit') {
      await ep.close();
      process.exit(0);
    }
    if (m.cmd === 'status') post({ type: 'status', role: g.role, term: g.term, leader: g.leader ? g.leader.name : '' });
    if (m.cmd === 'load') {
      const value = Buffer.alloc(m.size, 7);
      let inFlight = 0, count = 0, failed = 0, i = 0;
      const t0 = process.hrtime.bigint();
      const end = t0 + BigInt(Math.round(m.seconds * 1e9));
      await new Promise((resolve) => {
        const fill = () => {
          if (process.hrtime.bigint() >= end) { if (inFlight === 0) resolve(); return; }
          while (inFlight < m.outstanding) {
            inFlight++;
            g.kv.put(`k${i++ % 10000}`, value).then(() => count++, () => failed++).finally(() => { inFlight--; fill(); });
          }
        };
        fill();
      });
      post({ type: 'load', count, failed, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
    }
    if (m.cmd === 'paired') {
      const value = Buffer.alloc(m.size, 7);
      const ping = Buffer.alloc(m.size, 0x50);
      const to = ep.peers().find((p) => p.name === m.to);
      const puts = [], pings = [];
      for (let r = 0; r < m.rounds; r++) {
        for (let k = 0; k < m.n; k++) {
          const t = process.hrtime.bigint();
          await g.kv.put(`lat${k % 100}`, value);
          puts.push(Number(process.hrtime.bigint() - t) / 1000);
        }
        for (let k = 0; k < m.n; k++) {
          const t = process.hrtime.bigint();
          await new Promise((resolve) => { echoed = resolve; ep.send(to.id, ping, { reliable: true }).catch(() => {}); });
          echoed = undefined;
          pings.push(Number(process.hrtime.bigint() - t) / 1000);
        }
      }
      post({ type: 'paired', puts, pings });
    }
    if (m.cmd === 'latency') {
      const value = Buffer.alloc(m.size, 7);
      const us = [];
      for (let k = 0; k < m.n; k++) {
        const t = process.hrtime.bigint();
        await g.kv.put(`lat${k % 100}`, value);
        us.push(Number(process.hrtime.bigint() - t) / 1000);
      }
      post({ type: 'latency', us });
    }
  });
  post({ type: 'ready' });
})().catch((e) => { console.error(e); process.exit(1); });
