/**
 * A private Mosquitto per test: `listener PORT 127.0.0.1`, anonymous, on a free loopback port, in its own temporary
 * directory (persistence there when asked, so that `restart()` keeps sessions and QoS 1 queues). Killed and removed
 * in the test's teardown. Tests skip (with the reason) when mosquitto is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { ExecutionContext } from 'ava'

/** Where Debian installs the broker. */
export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p))

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** A running broker. */
export interface Broker {
  readonly port: number
  readonly url: string
  /** Stops the broker (SIGTERM: with persistence it saves its state), waits for it to exit. */
  stop(): Promise<void>
  /** Starts it again on the same port (after `stop()`), waits until it accepts. */
  start(): Promise<void>
  /** The broker's stderr so far (for failure messages). */
  log(): string
  /** The broker's directory (config, files, store). */
  readonly dir: string
}

/** Options of {@link startMosquitto}. */
export interface MosquittoOptions {
  /** Keep sessions and queued messages across `stop()` / `start()`. Default false. */
  persistence?: boolean
  /** Config lines for the listener (after `listener PORT 127.0.0.1`); `{dir}` is replaced by the broker's directory. */
  listener?: string[]
  /** The URL scheme the listener speaks. Default 'mqtt'. */
  scheme?: 'mqtt' | 'mqtts'
}

/** Starts a private broker for `t` (stopped in its teardown). */
export async function startMosquitto(t: ExecutionContext, options: MosquittoOptions = {}): Promise<Broker> {
  if (MOSQUITTO === undefined) throw new Error('mosquitto is not installed (Debian package mosquitto)')
  const dir = mkdtempSync(join(tmpdir(), 'glue-test-mosquitto-'))
  chmodSync(dir, 0o777) // mosquitto drops root privileges and must still read its config and write its store
  const port = await freePort()
  const config = join(dir, 'mosquitto.conf')
  const at = (line: string): string => line.replaceAll('{dir}', dir)
  writeFileSync(
    config,
    [
      'per_listener_settings false',
      `listener ${port} 127.0.0.1`,
      ...(options.listener ?? []).map(at),
      'allow_anonymous true',
      `persistence ${options.persistence === true ? 'true' : 'false'}`,
      `persistence_location ${dir}/`,
      'max_queued_messages 1000000',
      'max_inflight_messages 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
    { mode: 0o644 },
  )
  let proc: ChildProcess | undefined
  let stderr = ''
  const stop = async (): Promise<void> => {
    const p = proc
    proc = undefined
    if (p === undefined || p.exitCode !== null) return
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()))
    p.kill('SIGTERM')
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  const start = async (): Promise<void> => {
    const p = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] })
    proc = p
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const deadline = Date.now() + 10_000
    while (!(await accepts(port))) {
      if (p.exitCode !== null) throw new Error(`mosquitto exited (${p.exitCode}): ${stderr}`)
      if (Date.now() > deadline) throw new Error(`mosquitto did not accept on ${port} within 10 s: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  t.teardown(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  await start()
  return { port, url: `${options.scheme ?? 'mqtt'}://127.0.0.1:${port}`, stop, start, log: () => stderr, dir }
}
