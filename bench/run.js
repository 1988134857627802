'use strict';
// bench/run.js — `npm run bench`: measures glue and its peers (Cyclone DDS ddsperf, Mosquitto + mqtt.js) in the
// same run on loopback and prints one table with ratios "glue / peer". Timing is never asserted: the machine is
// shared, so only the ratios of one run mean something. Raw results go to bench/results/latest.json.
// Flags: --seconds N (measured window per figure, default 3), --glue-only.
const fs = require('node:fs');
const path = require('node:path');
const { runPeers, peerRows, peerNotes } = require('./peers/cli');
const glue = require('./glue/measure');
const { comparisonTable, fmtRatio } = require('./lib/stats');

const argv = process.argv.slice(2);
const seconds = Number(argv[argv.indexOf('--seconds') + 1]) || 3;
const glueOnly = argv.includes('--glue-only');
const log = (m) => process.stderr.write(m + '\n');

async function runGlue() {
  const r = { errors: {} };
  const step = async (name, fn) => {
    log(`glue: ${name} ...`);
    try { r[name] = await fn(); } catch (e) { r.errors[name] = e.message; log(`glue: ${name} FAILED: ${e.message}`); }
  };
  await step('tput64', () => glue.throughput(64, seconds, 'reliable'));
  await step('tput64be', () => glue.throughput(64, seconds, 'besteffort'));
  await step('lat64', () => glue.latency(64, seconds));
  await step('lat64busy', () => glue.latency(64, seconds, 200));
  await step('large', () => glue.throughput(1 << 20, seconds, 'reliable'));
  return r;
}

async function main() {
  if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'index.js'))) throw new Error('dist/ missing: run npm install first');
  const glueResults = await runGlue();
  const peers = glueOnly ? { errors: {} } : await runPeers({ seconds, log });
  const g = (k, f) => (glueResults[k] ? glueResults[k][f] : undefined);
  const glueValues = {
    tput64_reliable: g('tput64', 'msgsPerSec'),
    tput64_besteffort: g('tput64be', 'msgsPerSec'),
    rtt64_p50: g('lat64', 'p50Us'),
    rtt64_p99: g('lat64', 'p99Us'),
    large_msgs: g('large', 'msgsPerSec'),
    large_bits: g('large', 'bitsPerSec'),
  };
  const rows = peerRows(peers).map((row) => ({ ...row, values: { glue: glueValues[row.key], ...row.values } }));
  rows.splice(4, 0,
    { key: 'rtt64_busy_p50', name: '  glue with busyPollUs 200, p50', kind: 'us', values: { glue: g('lat64busy', 'p50Us'), ddsperf: rows[2].values.ddsperf } },
    { key: 'rtt64_busy_p99', name: '  glue with busyPollUs 200, p99', kind: 'us', values: { glue: g('lat64busy', 'p99Us'), ddsperf: rows[3].values.ddsperf } });
  console.log(comparisonTable(rows, { systems: ['glue', 'ddsperf', 'mosquitto'] }));
  console.log(`\nglue lost: reliable ${g('tput64', 'lost')} of ${g('tput64', 'sent')}, best effort ${g('tput64be', 'lost')} of ${g('tput64be', 'sent')} sent`);
  for (const line of peerNotes(peers) || []) console.log(line);
  const errors = { ...glueResults.errors, ...peers.errors };
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'latest.json'),
    JSON.stringify({ when: new Date().toISOString(), seconds, glue: glueResults, peers, rows }, null, 2) + '\n');
  if (Object.keys(errors).length) { console.log('errors:', errors); process.exitCode = 1; }
}

main().catch((e) => { console.error(e); process.exit(1); });
