/**
 * The metrics layer's errors. Bad options are `InvalidOptionError` (naming the option); a metrics server that cannot
 * listen is {@link MetricsBindError}.
 */
import { ErrorCode, GlueError, type GlueErrorOptions } from '../errors'

/**
 * The metrics server could not listen on `metrics.host`:`metrics.port` (port taken, address not on this machine,
 * no permission). `Endpoint.open` rejects with it and closes the endpoint it had opened.
 */
export class MetricsBindError extends GlueError {
  /** The option at fault: `metrics.port` (port in use or not allowed) or `metrics.host` (address not available). */
  readonly option: 'metrics.port' | 'metrics.host'
  /** The address that was asked for, "host:port". */
  readonly address: string
  /** The socket error code, e.g. `EADDRINUSE`, `EADDRNOTAVAIL`, `EACCES`. */
  readonly reason: string | undefined

  constructor(address: string, reason: string | undefined, options?: GlueErrorOptions) {
    const option = reason === 'EADDRNOTAVAIL' || reason === 'EAFNOSUPPORT' ? 'metrics.host' : 'metrics.port'
    super(ErrorCode.METRICS_BIND, `cannot serve metrics on ${address} (${option}): ${reason ?? 'listen failed'}`, options)
    this.option = option
    this.address = address
    this.reason = reason
  }
}
