'use strict';
// bench/lib/proc.js — child-process plumbing shared by the benchmark drivers.
//
// Every process started through spawnTracked() is remembered until it exits, and is SIGKILLed if this Node process
// exits first (normal exit, uncaught error, Ctrl-C), so a benchmark never leaves stray ddsperf/mosquitto/node
// processes behind. stop() asks politely (SIGTERM), then forces (SIGKILL) after a grace period.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const live = new Set();

function killAllSync() {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}
process.once('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { killAllSync(); process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)); });
}

/** Find an executable on PATH (plus the sbin directories, where Debian puts mosquitto). Returns null if absent. */
function which(cmd) {
  const dirs = (process.env.PATH || '').split(path.delimiter).concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

/**
 * Spawn a child (no shell), track it, and split its stdout+stderr into lines.
 * onLine(line, stream) is called for every complete line. The returned child has:
 *   .exited   Promise<{code, signal}> resolved when it has exited (never rejects)
 *   .output   array of all lines seen so far (for error messages)
 *   .cmdline  the command line as a string (for reports)
 */
function spawnTracked(cmd, args, { env, onLine, cwd, ipc = false } = {}) {
  const stdio = ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(cmd, args, { env: env || process.env, stdio, cwd });
  child.cmdline = [cmd, ...args].join(' ');
  child.output = [];
  live.add(child);
  child.exited = new Promise((resolve) => {
    child.once('error', (err) => { live.delete(child); child.spawnError = err; resolve({ code: null, signal: null, err }); });
    child.once('close', (code, signal) => { live.delete(child); resolve({ code, signal }); });
  });
  for (const name of ['stdout', 'stderr']) {
    let buf = '';
    child[name].setEncoding('utf8');
    child[name].on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (child.output.length < 5000) child.output.push(line);
        if (onLine) onLine(line, name);
      }
    });
  }
  return child;
}

/** Stop a tracked child: SIGTERM, then SIGKILL after graceMs. Resolves once it has exited. */
async function stop(child, graceMs = 1000) {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.spawnError) return child && child.exited;
  try { child.kill('SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
  await child.exited;
  clearTimeout(t);
  return child.exited;
}

/** Last n lines of a child's output, for error messages. */
function tail(child, n = 8) {
  return child && child.output ? child.output.slice(-n).join('\n') : '';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` unless the promise settles first. */
function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

/**
 * Forks `file` as a child in `role` (`--child <json>`, with IPC); resolves once it sends `{ ready: true }`, rejects
 * if it exits first or after `timeoutMs`. Its IPC messages are collected in `child.messages`.
 */
async function startRoleChild(file, label, role, params, timeoutMs) {
  const child = spawnTracked(process.execPath, [file, '--child', JSON.stringify({ role, ...params })], { ipc: true });
  child.messages = [];
  child.on('message', (m) => child.messages.push(m));
  await withTimeout(new Promise((resolve, reject) => {
    child.on('message', (m) => { if (m && m.ready) resolve(); });
    child.exited.then(({ code }) => reject(new Error(`${label} ${role} child exited (code ${code})\n${tail(child)}`)));
  }), timeoutMs, `${label} ${role} child start`);
  return child;
}

/**
 * The first IPC message of a role child (`startRoleChild`) that has field `key`, from its `since`-th message on
 * (one already received, or the next to come); rejects after `ms`.
 */
function childReply(child, key, ms, label, since = 0) {
  let listener;
  return withTimeout(new Promise((resolve) => {
    const hit = child.messages.slice(since).find((m) => m && m[key] !== undefined);
    if (hit) return resolve(hit);
    listener = (m) => { if (m && m[key] !== undefined) resolve(m); };
    child.on('message', listener);
  }), ms, `${label} child ${key}`).finally(() => { if (listener) child.off('message', listener); });
}

/** Samples `count()` once a second for `seconds` s: the rate of each second, their mean, and the time taken (s). */
async function ratesPerSecond(count, seconds) {
  const perSecond = [];
  const t0 = process.hrtime.bigint();
  let c = count();
  let t = t0;
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    const now = process.hrtime.bigint();
    const n = count();
    perSecond.push((n - c) / (Number(now - t) / 1e9));
    c = n;
    t = now;
  }
  return { perSecond, mean: perSecond.reduce((a, b) => a + b, 0) / perSecond.length, elapsedS: Number(t - t0) / 1e9 };
}

module.exports = { which, spawnTracked, stop, tail, sleep, killAllSync, withTimeout, startRoleChild, childReply, ratesPerSecond };
