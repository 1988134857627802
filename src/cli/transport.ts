/**
 * `glue transport`: one endpoint that prints peer events and received messages, and with --send-messages
 * broadcasts a numbered message every second and sends one to each peer. Accepts the seed's flags
 * (`-interfaceName lo -multicastAddress 239.192.137.1:37320 -listenPort 37321 -endpointName A -sendMessages`).
 */
import { type Command, Option } from 'commander'

import { Endpoint } from '../endpoint'
import type { EndpointOptions } from '../options'
import {
  addCommonOptions,
  type CommonFlags,
  type JobRunner,
  commonEndpointOptions,
  formatMessage,
  formatStatus,
  integer,
  openEndpoint,
  seconds,
  sleep,
  stopwatch,
} from './common'

/** The flags of `transport` (and `topics`), the seed's aliases included. */
export interface TransportFlags extends CommonFlags {
  interfaceName?: string
  multicastAddress?: string
  listenPort?: number
  name?: string
  endpointName?: string
  sendMessages?: boolean
  duration?: number
}

/** Registers the `transport` command. */
export function registerTransport(program: Command, run: JobRunner): void {
  const command = program
    .command('transport')
    .description('run one endpoint: print peers and messages, optionally send every second')
  addEndpointFlags(command, 'broadcast a numbered message every second and send one to each peer').action(
    (flags: TransportFlags) => run((signal) => transport(flags, signal)),
  )
}

/**
 * Adds the flags of a one-endpoint command (`transport`, `topics`): --name, --listen-port, --send-messages (described
 * by `sends`), --duration, the seed's aliases, and the common options.
 */
export function addEndpointFlags(command: Command, sends: string): Command {
  command
    .option('--name <name>', 'endpoint name (env GLUE_ENDPOINT_NAME; default host-pid-n)')
    .option(
      '--listen-port <port>',
      'unicast port (env GLUE_LISTEN_ADDRESS; default: any free port)',
      integer('--listen-port', 0, 65535),
    )
    .option('--send-messages', sends)
    .option('--duration <s>', 'stop after this many seconds (default: run until Ctrl-C)', seconds)
    .addOption(new Option('--interface-name <name>', 'same as --interface (seed flag -interfaceName)'))
    .addOption(new Option('--multicast-address <ip:port>', 'same as --group (seed flag -multicastAddress)'))
    .addOption(new Option('--endpoint-name <name>', 'same as --name (seed flag -endpointName)'))
  return addCommonOptions(command)
}

/** The endpoint options for the transport flags (seed aliases merged in). */
export function transportOptions(flags: TransportFlags): EndpointOptions {
  const options = commonEndpointOptions({
    ...flags,
    interface: flags.interface ?? flags.interfaceName,
    group: flags.group ?? flags.multicastAddress,
  })
  const name = flags.name ?? flags.endpointName
  if (name !== undefined) options.name = name
  if (flags.listenPort !== undefined) options.listenAddress = `:${flags.listenPort}`
  return options
}

/** Runs one endpoint until Ctrl-C or --duration; resolves to the exit code. */
export async function transport(flags: TransportFlags, signal: AbortSignal): Promise<number> {
  const clock = stopwatch()
  const log = (line: string): void => console.log(`${clock()} ${line}`)
  const ep = await openEndpoint(transportOptions(flags))
  try {
    const { config } = ep
    log(
      `${ep.name} (${ep.id}) at ${ep.address}, network ${config.networkId}, group ${config.discoveryTarget}, interface ${config.interfaceAddress}`,
    )
    ep.onStatus((event) => log(formatStatus(event)))
    ep.onMessage((message) => log(formatMessage(ep.name, message)))
    const deadline = flags.duration === undefined ? Infinity : performance.now() + flags.duration * 1000
    for (let n = 1; !signal.aborted && performance.now() < deadline; n++) {
      if (flags.sendMessages) sendRound(ep, n, log)
      if (!(await sleep(Math.min(1000, deadline - performance.now()), signal))) break
    }
    return 0
  } finally {
    await ep.close()
    const stats = ep.stats()
    log(`closed: sent ${stats.messagesSent}, received ${stats.messagesReceived} messages`)
  }
}

function sendRound(ep: Endpoint, n: number, log: (line: string) => void): void {
  const text = `message ${n} from ${ep.name}`
  log(`${ep.name} -> * (broadcast): ${text}${ep.broadcast(text) ? '' : ' [dropped: send queue full]'}`)
  for (const peer of ep.peers()) {
    const unicast = `unicast ${n} from ${ep.name} to ${peer.name}`
    log(
      `${ep.name} -> ${peer.name} (unicast): ${unicast}${ep.send(peer, unicast) ? '' : ' [dropped: send queue full]'}`,
    )
  }
}
