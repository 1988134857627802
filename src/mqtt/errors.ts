/**
 * The MQTT bridge's errors. Bad options are `InvalidOptionError` (naming the option); a broker that cannot be reached
 * or refuses the bridge at start is {@link MqttConnectError}.
 */
import { ErrorCode, GlueError, type GlueErrorOptions } from '../errors'

/**
 * The first connection to the broker failed: refused (nothing listens), unreachable, timed out, TLS failure, or the
 * broker's CONNACK refused it (bad credentials, not authorised). `bridgeMqtt()` rejects with it instead of retrying
 * forever; once connected, a lost connection is retried with backoff (and reported as `disconnected` events).
 */
export class MqttConnectError extends GlueError {
  /** The broker URL (without credentials). */
  readonly url: string
  /** The underlying reason code, when there is one: a socket code (`ECONNREFUSED`) or an MQTT CONNACK reason code. */
  readonly reason: string | number | undefined

  constructor(url: string, message: string, reason: string | number | undefined, options?: GlueErrorOptions) {
    super(ErrorCode.MQTT_CONNECT, `cannot connect to MQTT broker ${url}: ${message}`, options)
    this.url = url
    this.reason = reason
  }
}
