/**
 * Helpers for integration tests on loopback: a private multicast group per test, child processes running
 * fixtures (fixtures/child-endpoint.ts by default), and waiting for conditions.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import type { EndpointOptions } from '../../index'

/**
 * Options that keep a test to itself: interface 127.0.0.1 (nothing leaves the machine), a multicast group with a
 * random port in 20000..60000 and a random network ID (so parallel tests never hear each other), fast announces,
 * and no GLUE_* variables.
 */
export function isolatedOptions(overrides: EndpointOptions = {}): EndpointOptions {
  return {
    interface: '127.0.0.1',
    group: `239.255.${randomInt(0, 256)}.${randomInt(1, 255)}:${randomInt(20000, 60000)}`,
    networkId: randomInt(1, 0xffff_ffff),
    announcePeriodMs: 100,
    expiryMultiplier: 3,
    env: false,
    // `GLUE_TEST_RECEIVE_ON=io` runs the loopback suites with the I/O thread reading the sockets (`npm run test:io`);
    // by default they run in the library's default mode ('js').
    ...(process.env.GLUE_TEST_RECEIVE_ON === 'io' || process.env.GLUE_TEST_RECEIVE_ON === 'js' ? { receiveOn: process.env.GLUE_TEST_RECEIVE_ON } : {}),
    ...overrides,
  }
}

/** Polls `condition` every `intervalMs` until it is true; false after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return true
}

/** A JSON line printed by the child fixture. */
export type ChildRecord = Record<string, unknown> & { event: string }

/** A running child fixture: its JSON records so far, commands, and its exit. */
export interface Child {
  proc: ChildProcessWithoutNullStreams
  records: ChildRecord[]
  stderr: () => string
  command: (command: object) => void
  /** Resolves with the exit code (or signal name) once the child has exited. */
  exited: Promise<number | string>
  /** Waits until a record matches; throws after `timeoutMs`. */
  waitFor: (match: (record: ChildRecord) => boolean, timeoutMs?: number) => Promise<ChildRecord>
}

/**
 * Starts a fixture (fixtures/child-endpoint.ts unless `fixture` names another file of fixtures/) with
 * `{ mode, options }`; `env` is added to (or, as undefined, removed from) ours.
 */
export function spawnChild(
  mode: string,
  options: EndpointOptions,
  env: NodeJS.ProcessEnv = {},
  fixture = 'child-endpoint.ts',
): Child {
  return spawnFixture(fixture, { mode, options }, env)
}

/** Starts the fixture `fixture` (a file of fixtures/) with `args` as its JSON argument. */
export function spawnFixture(fixture: string, args: object, env: NodeJS.ProcessEnv = {}): Child {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete fullEnv[key]
  const file = join(__dirname, '..', 'fixtures', fixture)
  const proc = spawn(process.execPath, ['--import=tsx', file, JSON.stringify(args)], { env: fullEnv })
  const records: ChildRecord[] = []
  let errText = ''
  proc.stderr.on('data', (chunk: Buffer) => (errText += chunk.toString()))
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      records.push(JSON.parse(line) as ChildRecord)
    } catch {
      errText += `(non-JSON stdout) ${line}\n`
    }
  })
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  )
  return {
    proc,
    records,
    stderr: () => errText,
    command: (command) => proc.stdin.write(`${JSON.stringify(command)}\n`),
    exited,
    waitFor: async (match, timeoutMs = 10_000) => {
      let found: ChildRecord | undefined
      const ok = await until(() => (found = records.find(match)) !== undefined, timeoutMs)
      if (!ok || found === undefined) {
        throw new Error(
          `child did not report the expected record in ${timeoutMs} ms; records ${JSON.stringify(records)}; stderr ${errText}`,
        )
      }
      return found
    },
  }
}

/** Resolves with the exit code, or 'timeout' if the child is still running after `timeoutMs` (then kills it). */
export async function exitWithin(child: Child, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
  const result = await Promise.race([child.exited, timeout])
  clearTimeout(timer)
  if (result === 'timeout') child.proc.kill('SIGKILL')
  return result
}
