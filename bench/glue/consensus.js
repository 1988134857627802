'use strict';
// bench/glue/consensus.js — consensus groups (issue 10): three members in processes of their own on loopback
// (bench/glue/consensus-worker.js):
//   throughput   committed kv.put() of 64 B per second, issued on the leader with up to 4096 unsettled (proposals of
//                one event-loop turn go into one entry); target at least 50 000/s.
//   latency      sequential kv.put() on the leader: p50 / p99 (µs); target p50 within 3x glue's reliable round trip,
//                measured between the same processes (leader and a follower, ep.send ping-pong) in rounds that
//                alternate with the puts (10 × 200 each), because this machine's speed drifts from minute to minute.
//   failover     SIGKILL of the leader's process until a survivor reports a new leader (ms); target under 2x the
//                election timeout (10 ticks of 50 ms: 500 ms, randomised by Raft up to 950 ms).
const { withWorkers, common } = require('./measure');
const path = require('node:path');

const WORKER = path.join(__dirname, 'consensus-worker.js');
const MEMBERS = ['c0', 'c1', 'c2'];

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function statusOf(w) { w.send('status'); return w.next('status'); }

/** Starts the three members and waits for a leader; `body(workers, leaderIndex)`. */
function group(timeoutMs, body, receiveOn = undefined) {
  const base = { ...common(64, 1, 0), receiveOn };
  return withWorkers(timeoutMs, async (start) => {
    const workers = MEMBERS.map((name) => start({ ...base, role: 'member', name, members: MEMBERS }, null, WORKER));
    await Promise.all(workers.map((w) => w.next('ready')));
    for (let tries = 0; tries < 200; tries++) {
      const states = await Promise.all(workers.map(statusOf));
      const leader = states.findIndex((s) => s.role === 'leader');
      if (leader >= 0 && states.every((s) => s.leader === MEMBERS[leader])) return body(workers, leader);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no leader elected');
  });
}

/** See the header. */
async function run({ seconds = 3, size = 64, receiveOn = undefined } = {}) {
  return group((seconds + 120) * 1000, async (workers, leader) => {
    const out = {};
    const w = workers[leader];
    w.send('latency', { n: 50, size }); await w.next('latency'); // warm-up
    w.send('load', { seconds, outstanding: 4096, size });
    const load = await w.next('load');
    out.throughput = { perS: load.count / load.seconds, count: load.count, failed: load.failed, seconds: load.seconds };
    const follower = MEMBERS.find((_, i) => i !== leader);
    w.send('paired', { rounds: 10, n: 200, size, to: follower });
    const lat = await w.next('paired');
    out.latency = { p50: pct(lat.puts, 0.5), p99: pct(lat.puts, 0.99), n: lat.puts.length };
    out.rtt = { p50: pct(lat.pings, 0.5), p99: pct(lat.pings, 0.99), n: lat.pings.length };
    // Failover: kill the leader, time until a survivor names a new one.
    const survivors = workers.filter((_, i) => i !== leader);
    const t0 = process.hrtime.bigint();
    w.child.kill('SIGKILL');
    const next = await Promise.race(survivors.map(async (s) => {
      for (;;) { const ev = await s.next('leader'); if (ev.leader && ev.leader !== MEMBERS[leader]) return ev; }
    }));
    out.failover = { ms: Number(process.hrtime.bigint() - t0) / 1e6, newLeader: next.leader, term: next.term };
    return out;
  }, receiveOn);
}

module.exports = { run };

if (require.main === module) run().then((r) => console.log(JSON.stringify(r, null, 2)), (e) => { console.error(e); process.exit(1); });
