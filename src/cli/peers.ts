/**
 * `glue peers`: discovers for a while and prints the peer table; with --watch keeps reprinting it on changes.
 */
import type { Command } from 'commander'

import { Endpoint } from '../endpoint'
import {
  addCommonOptions,
  type CommonFlags,
  type JobRunner,
  formatPeerTable,
  openCommandEndpoint,
  seconds,
  sleep,
} from './common'

interface PeersFlags extends CommonFlags {
  duration: number
  watch?: boolean
}

/** Registers the `peers` command. */
export function registerPeers(program: Command, run: JobRunner): void {
  const command = program
    .command('peers')
    .description('discover the endpoints of a network and print them as a table')
    .option('--duration <s>', 'how long to listen before printing, seconds', seconds, 3)
    .option('--watch', 'keep running and reprint the table whenever it changes (until Ctrl-C)')
  addCommonOptions(command).action((flags: PeersFlags) => run((signal) => peers(flags, signal)))
}

/** Runs the peers command; resolves to the exit code. */
export async function peers(flags: PeersFlags, signal: AbortSignal): Promise<number> {
  const ep = await openCommandEndpoint(flags, 'peers')
  try {
    if (!(await sleep(flags.duration * 1000, signal))) return 0
    print(ep)
    if (!flags.watch) return 0
    let pending: NodeJS.Timeout | undefined
    ep.onStatus(() => {
      // Coalesce bursts of events into one reprint.
      pending ??= setTimeout(() => {
        pending = undefined
        print(ep)
      }, 100)
    })
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    clearTimeout(pending)
    return 0
  } finally {
    await ep.close()
  }
}

function print(ep: Endpoint): void {
  const { config } = ep
  console.log(
    `\n${new Date().toISOString()} network ${config.networkId}, group ${config.discoveryTarget}, seen by ${ep.name}`,
  )
  console.log(formatPeerTable(ep.peers()))
}
