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
import { handleClosedOutput, type JobRunner, outputClosed, packageVersion, shutdownSignal } from './common'
import { registerConsensus } from './consensus'
import { registerDemo } from './demo'
import { registerKv } from './kv'
import { translateLegacyArgs, writtenAs } from './legacy-flags'
import { registerMap } from './map'
import { registerPeers } from './peers'
import { registerPubSub } from './pubsub'
import { registerStats } from './stats'
import { registerRequest } from './request'
import { registerTopics } from './topics'
import { registerTransport } from './transport'

const debug = debuglog('glue')

/**
 * Builds the program; each command's job runs with a signal that aborts on Ctrl-C, SIGTERM or a closed stdout/stderr
 * (see {@link outputClosed}) and reports its exit code to `onExit`. `asWritten` turns an argument as commander saw it
 * back into what the user typed (legacy flags are translated before parsing), for error messages.
 */
export function buildProgram(onExit: (code: number) => void, asWritten: (text: string) => string = (text) => text): Command {
  const program = new Command('glue')
    .description('glue: brokerless pub/sub over UDP, peers found by multicast announcements')
    .version(packageVersion(), '-V, --version', 'print the version of glue-pubsub')
    .addHelpText(
      'after',
      `\nEnvironment variables fill in what flags leave unset:\n  ${Object.values(ENV_VARS).join('\n  ')}\n\n` +
        'Exit codes: 0 done (also when the reader of the output has gone, as `glue demo | head -1`), 1 an error or a\n' +
        'usage error (reported on one line: glue: <what is wrong> (see glue <command> --help)), 130 interrupted\n' +
        'before a write was confirmed (map, kv).',
    )
    .exitOverride()
  const run: JobRunner = async (job) => {
    const shutdown = shutdownSignal()
    try {
      const code = await job(AbortSignal.any([shutdown.signal, outputClosed]))
      // The reader went away (`| head`): what it wanted was printed; that is success.
      onExit(outputClosed.aborted ? 0 : code)
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
  formatUsageErrors(program, 'glue', asWritten)
  return program
}

/**
 * Makes commander report usage errors of `command` and its subcommands on one line in glue's error style:
 * `glue: unknown option '-bogusFlag' (see glue demo --help)`, instead of `error: ...` and the whole help.
 */
function formatUsageErrors(command: Command, path: string, asWritten: (text: string) => string): void {
  command.configureOutput({ outputError: (text, write) => write(`${usageErrorLine(asWritten(text), path)}\n`) })
  for (const sub of command.commands) formatUsageErrors(sub, `${path} ${sub.name()}`, asWritten)
}

/** `error: unknown option '--x'\n(Did you mean --y?)` of command `glue demo` → one line with the help hint. */
export function usageErrorLine(text: string, path: string): string {
  const message = text
    .trim()
    .replace(/^(glue: |error: )+/, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ')
  return `glue: ${message} (see ${path} --help)`
}

/**
 * Parses `argv` (as in `process.argv`, seed-style single-dash flags allowed) and runs the command.
 * @returns the exit code: 0 on success (and for --help, --version), 1 on an error, a failed command or a usage error
 */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  let code = 0
  const args = argv.slice(2)
  const translated = translateLegacyArgs(args)
  const program = buildProgram((exit) => (code = exit), writtenAs(args, translated))
  try {
    await program.parseAsync(translated, { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    const message = err instanceof Error ? err.message : String(err)
    console.error(message.startsWith('glue: ') ? message : `glue: ${message}`)
    if (!(err instanceof GlueError)) debug('%O', err) // the stack, with NODE_DEBUG=glue
    return 1
  }
}

/**
 * Entry point of bin/glue.js: makes a closed stdout/stderr end the job quietly, runs `main` and lets the process exit
 * by itself with its code.
 */
export function run(): void {
  handleClosedOutput()
  void main().then((code) => {
    process.exitCode = code
    // Everything is closed by now; should anything still hold the event loop, do not hang the shell.
    setTimeout(() => process.exit(code), 2000).unref()
  })
}

if (require.main === module) run()
