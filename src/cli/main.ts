/**
 * The `glue` command line: `glue demo`, `glue transport`, `glue peers`, `glue pub`, `glue sub`, `glue topics`,
 * `glue map`, `glue consensus`, `glue kv`, `glue bridge`.
 * bin/glue.js calls {@link run}.
 */
import { debuglog } from 'node:util'

import { Command, CommanderError } from 'commander'

import { ENV_VARS } from '../env'
import { GlueError } from '../errors'
import { registerBridge } from './bridge'
import { type JobRunner, shutdownSignal } from './common'
import { registerConsensus } from './consensus'
import { registerDemo } from './demo'
import { registerKv } from './kv'
import { translateLegacyArgs } from './legacy-flags'
import { registerMap } from './map'
import { registerPeers } from './peers'
import { registerPubSub } from './pubsub'
import { registerStats } from './stats'
import { registerRequest } from './request'
import { registerTopics } from './topics'
import { registerTransport } from './transport'

const debug = debuglog('glue')

/** Builds the program; each command's job runs with a Ctrl-C signal and reports its exit code to `onExit`. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('glue')
    .description('glue: brokerless pub/sub over UDP, peers found by multicast announcements')
    .addHelpText(
      'after',
      `\nEnvironment variables fill in what flags leave unset:\n  ${Object.values(ENV_VARS).join('\n  ')}`,
    )
    .showHelpAfterError()
    .exitOverride()
  const run: JobRunner = async (job) => {
    const shutdown = shutdownSignal()
    try {
      onExit(await job(shutdown.signal))
    } finally {
      shutdown.dispose()
    }
  }
  registerDemo(program, run)
  registerTransport(program, run)
  registerPeers(program, run)
  registerPubSub(program, run)
  registerRequest(program, run)
  registerTopics(program, run)
  registerMap(program, run)
  registerConsensus(program, run)
  registerKv(program, run)
  registerBridge(program, run)
  registerStats(program, run)
  return program
}

/**
 * Parses `argv` (as in `process.argv`, seed-style single-dash flags allowed) and runs the command.
 * @returns the exit code: 0 on success, 1 on a glue error or failed command, commander's code on a usage error
 */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  let code = 0
  const program = buildProgram((exit) => (code = exit))
  try {
    await program.parseAsync(translateLegacyArgs(argv.slice(2)), { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    const message = err instanceof Error ? err.message : String(err)
    console.error(message.startsWith('glue: ') ? message : `glue: ${message}`)
    if (!(err instanceof GlueError)) debug('%O', err) // the stack, with NODE_DEBUG=glue
    return 1
  }
}

/** Entry point of bin/glue.js: runs `main` and lets the process exit by itself with its code. */
export function run(): void {
  void main().then((code) => {
    process.exitCode = code
    // Everything is closed by now; should anything still hold the event loop, do not hang the shell.
    setTimeout(() => process.exit(code), 2000).unref()
  })
}

if (require.main === module) run()
