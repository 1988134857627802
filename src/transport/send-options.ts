/**
 * The options of `send()` and `broadcast()`: their documentation and validation.
 */
import { InvalidOptionError } from '../errors'
import { checkNumber, explicit, invalid } from '../option-checks'
import { MAX_TIMEOUT_MS } from './options'

/** Options of {@link Endpoint.send} and {@link Endpoint.broadcast}. */
export interface SendOptions {
  /**
   * true: send reliably. The message (up to `maxMessageSize` bytes) is fragmented as needed, repaired when
   * datagrams are lost, and delivered exactly once and in order (per sender, per unicast peer or broadcast); the
   * call returns a Promise that resolves once every intended receiver acknowledged it.
   * false: best effort, one datagram (up to `maxDatagramSize` bytes), no acknowledgement; the call returns a
   * boolean. Default false.
   */
  reliable?: boolean
  /**
   * Reliable sends only (ignored otherwise, but still checked): how long the receivers have to acknowledge,
   * milliseconds from the call, 1..2_147_483_647, including any time the message waits in the JavaScript-side
   * send queue. Default: the endpoint's `deliveryDeadlineMs` (30_000 unless configured).
   */
  deadlineMs?: number
}

/** {@link SendOptions} that select the reliable overloads (the call returns a Promise). */
export interface ReliableSendOptions extends SendOptions {
  reliable: true
}

/** {@link SendOptions} that select the best-effort overloads (the call returns a boolean). */
export interface BestEffortSendOptions extends SendOptions {
  reliable?: false
}

const KNOWN: ReadonlySet<string> = new Set<keyof SendOptions>(['reliable', 'deadlineMs'])
const DEADLINE = { min: 1, max: MAX_TIMEOUT_MS, integer: false, unit: 'ms' }

/** True when the options ask for a reliable send (`reliable: true`); anything else is checked later. */
export function isReliable(options: unknown): options is ReliableSendOptions {
  return typeof options === 'object' && options !== null && (options as SendOptions).reliable === true
}

/**
 * Validates send options.
 * @returns the per-message deadline in ms, or undefined for the endpoint's default
 * @throws InvalidOptionError naming the option and the bad value
 */
export function checkSendOptions(options: unknown): number | undefined {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`Invalid send options: ${String(options)} (expected an object)`, { value: options })
  }
  const record = options as Record<string, unknown>
  // for…in with an own-property check: the keys of Object.keys() without allocating their array (once per send).
  for (const key in record) {
    if (!KNOWN.has(key) && Object.hasOwn(record, key)) throw invalid(explicit(key, record[key]), 'reliable or deadlineMs')
  }
  const { reliable, deadlineMs } = record
  if (reliable !== undefined && typeof reliable !== 'boolean') {
    throw invalid(explicit('reliable', reliable), 'a boolean')
  }
  return deadlineMs === undefined ? undefined : checkNumber(explicit('deadlineMs', deadlineMs), DEADLINE)
}
