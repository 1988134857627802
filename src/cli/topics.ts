/**
 * `glue topics` (alias `glue endpoint`): one endpoint that subscribes to a topic filter (default `#`, everything) and
 * prints peer events and topic messages; with --send-messages it publishes a counter on `glue/<name>/counter` every
 * second (reliable, retained, history depth 10, so late joiners get the last ten at once). Takes the seed's flags:
 * `-interfaceName lo -multicastAddress 239.192.137.1:37320 -listenPort 37321 -endpointName A -sendMessages`.
 */
import { type Command, InvalidArgumentError } from 'commander'

import { formatStatus, type JobRunner, openEndpoint, sleep, stopwatch } from './common'
import { validateTopicFilter } from '../topics/topic-name'
import { formatTopicMessage } from './pubsub'
import { addEndpointFlags, type TransportFlags, transportOptions } from './transport'

interface TopicsFlags extends TransportFlags {
  subscribe: string
}

/** Registers the `topics` command (alias `endpoint`). */
export function registerTopics(program: Command, run: JobRunner): void {
  const command = program
    .command('topics')
    .alias('endpoint')
    .description('run one endpoint: subscribe to a topic filter and print messages, optionally publish a counter')
    .option('--subscribe <filter>', 'topic filter to subscribe to', topicFilter, '#')
  addEndpointFlags(command, 'publish a counter on glue/<name>/counter every second').action((flags: TopicsFlags) =>
    run((signal) => topics(flags, signal)),
  )
}

/** A commander parser for a topic filter: a bad one is a usage error before anything opens or prints. */
export function topicFilter(value: string): string {
  try {
    validateTopicFilter(value, '--subscribe')
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message)
  }
  return value
}

/** Runs the endpoint until Ctrl-C or --duration; resolves to the exit code. */
export async function topics(flags: TopicsFlags, signal: AbortSignal): Promise<number> {
  const clock = stopwatch()
  const log = (line: string): void => console.log(`${clock()} ${line}`)
  const ep = await openEndpoint(transportOptions(flags))
  try {
    log(`${ep.name} (${ep.id}) at ${ep.address}, network ${ep.config.networkId}, subscribed to ${flags.subscribe}`)
    ep.onStatus((event) => log(formatStatus(event)))
    ep.subscribe(flags.subscribe, { callback: (message) => log(formatTopicMessage(message)) })
    const topic = `glue/${ep.name}/counter`
    const deadline = flags.duration === undefined ? Infinity : performance.now() + flags.duration * 1000
    for (let n = 1; !signal.aborted && performance.now() < deadline; n++) {
      if (flags.sendMessages) {
        const value = { n, at: new Date().toISOString() }
        ep.publish(topic, value, { codec: 'json', reliable: true, retain: true, depth: 10 })
          .then(() => log(`published ${topic} #${n}`))
          .catch((err: unknown) => log(`publication ${topic} #${n} not acknowledged by all: ${(err as Error).message}`))
      }
      if (!(await sleep(Math.min(1000, deadline - performance.now()), signal))) break
    }
    return 0
  } finally {
    await ep.close()
    const stats = ep.stats()
    log(`closed: published ${stats.topicPublished}, delivered ${stats.topicDelivered} topic messages`)
  }
}
