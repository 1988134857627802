/**
 * The topic part of `glue demo`: every endpoint publishes `demo/<name>/round` each round (JSON, reliable, history
 * depth 3); all but the last subscribe to `demo/#`, the last only to `demo/A/#` (so it is sent A's publications
 * only); and after the second round a late joiner subscribes to `demo/+/round` and gets the last 3 of every
 * publisher at once.
 */
import type { Endpoint } from '../endpoint'
import type { EndpointOptions } from '../options'
import { openEndpoint } from './common'
import { formatTopicMessage } from './pubsub'

/** History depth of the demo's publications. */
const DEPTH = 3

/** Subscribes the demo endpoints (see the module doc); messages are printed with `log`. */
export function subscribeDemo(endpoints: readonly Endpoint[], log: (line: string) => void): void {
  endpoints.forEach((ep, i) => {
    const filter = i === endpoints.length - 1 ? `demo/${endpoints[0].name}/#` : 'demo/#'
    ep.subscribe(filter, { callback: (m) => log(`${ep.name} <= ${formatTopicMessage(m)}`) })
    log(`${ep.name} subscribes to ${filter}`)
  })
}

/** Every endpoint publishes its round number. */
export function publishRound(endpoints: readonly Endpoint[], round: number, log: (line: string) => void): void {
  for (const ep of endpoints) {
    ep.publish(`demo/${ep.name}/round`, { round }, { codec: 'json', reliable: true, depth: DEPTH }).catch(
      (err: unknown) => log(`${ep.name}: publication not acknowledged by all: ${(err as Error).message}`),
    )
  }
}

/** Opens the late joiner and subscribes it to every publisher's rounds. */
export async function openLateJoiner(options: EndpointOptions, log: (line: string) => void): Promise<Endpoint> {
  const late = await openEndpoint({ ...options, name: 'late' })
  log(`late joins and subscribes to demo/+/round: it gets the last ${DEPTH} of each publisher at once`)
  late.subscribe('demo/+/round', { callback: (m) => log(`late <= ${formatTopicMessage(m)}`) })
  return late
}
