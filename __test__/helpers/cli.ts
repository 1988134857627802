/**
 * Running the `glue` CLI in tests (from source, via tsx): to its end (`glue`), or kept running (`start`), on a private
 * group on loopback (`isolatedFlags`). Shared by the CLI specs.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

import type { ExecutionContext } from 'ava'

import { isolatedOptions, until } from './loopback'

const execFileAsync = promisify(execFile)
const cli = join(__dirname, '..', '..', 'src', 'cli', 'main.ts')

/** Flags that keep a CLI run to a private group on loopback. */
export function isolatedFlags(): string[] {
  const { group, networkId } = isolatedOptions()
  return ['--group', String(group), '--network-id', String(networkId), '--announce-period', '100']
}

/** How long a CLI process may take to print what a test waits for (tsx start-up on a busy machine included). */
export const DEADLINE_MS = 30_000

/** Runs the CLI to its end (from source, via tsx); its exit code and output. */
export async function glue(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import=tsx', cli, ...args], {
      env: { ...process.env, ...env },
      timeout: DEADLINE_MS,
      killSignal: 'SIGKILL',
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}

/** A CLI process kept running: its stdout lines so far, its stderr, and its exit. */
export interface Running {
  proc: ChildProcessWithoutNullStreams
  lines: string[]
  stderr: () => string
  exited: Promise<number | string>
  /** Waits until `count` lines match (from the start); throws after the deadline. */
  waitForLines: (match: (line: string) => boolean, count?: number) => Promise<string[]>
  /** Waits until stderr matches; throws after the deadline. */
  waitForStderr: (pattern: RegExp) => Promise<void>
}

/** Starts the CLI; the process is killed in the test's teardown if it still runs. */
export function start(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const proc = spawn(process.execPath, ['--import=tsx', cli, ...args], { env: { ...process.env, ...env } })
  const lines: string[] = []
  let errText = ''
  proc.stderr.on('data', (chunk: Buffer) => (errText += chunk.toString()))
  createInterface({ input: proc.stdout }).on('line', (line) => lines.push(line))
  let done = false
  const exited = new Promise<number | string>((resolve) =>
    proc.on('exit', (code, signal) => {
      done = true
      resolve(code ?? signal ?? -1)
    }),
  )
  t.teardown(() => {
    if (!done) proc.kill('SIGKILL')
  })
  const fail = (what: string): never => {
    throw new Error(`expected ${what}; stdout ${JSON.stringify(lines)}; stderr ${errText}`)
  }
  return {
    proc,
    lines,
    stderr: () => errText,
    exited,
    waitForLines: async (match, count = 1) => {
      const matching = (): string[] => lines.filter(match)
      const ok = await until(() => matching().length >= count || done, DEADLINE_MS)
      if (!ok || matching().length < count) fail(`${count} matching line(s)`)
      return matching().slice(0, count)
    },
    waitForStderr: async (pattern) => {
      const ok = await until(() => pattern.test(errText) || done, DEADLINE_MS)
      if (!ok || !pattern.test(errText)) fail(`stderr matching ${pattern}`)
    },
  }
}

export const json = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>
