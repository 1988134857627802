/**
 * The `metrics` option of `Endpoint.open`: where the Prometheus `/metrics` endpoint listens. Bad values throw
 * `InvalidOptionError` naming the option (`metrics.port`, `GLUE_METRICS_PORT`...) and the value.
 */
import { isIP } from 'node:net'

import type { Environment } from '../env'
import { checkKnownKeys, checkNumber, checkString, explicit, invalid, optionsObject, type Source } from '../option-checks'

/** Options of the HTTP server that serves this endpoint's metrics in the Prometheus text format. */
export interface MetricsOptions {
  /** TCP port, 0..65535; 0 picks a free one (read it from `ep.metricsAddress`). Required (or `GLUE_METRICS_PORT`). */
  port?: number
  /**
   * Address to listen on, an IPv4 or IPv6 literal. Default '127.0.0.1' (this machine only: give e.g. '0.0.0.0'
   * explicitly to let a Prometheus server elsewhere scrape it). Env `GLUE_METRICS_HOST`.
   */
  host?: string
  /** URL path of the metrics, starting with '/'. Default '/metrics'. */
  path?: string
}

/** The checked metrics options. */
export interface ResolvedMetricsOptions {
  port: number
  host: string
  path: string
}

/** The environment variables of the metrics layer (read only when the `metrics` option is unset or partial). */
export const METRICS_ENV = {
  /** TCP port of `/metrics`, 0..65535; setting it turns the metrics server on. */
  port: 'GLUE_METRICS_PORT',
  /** Listen address of the metrics server (default 127.0.0.1). */
  host: 'GLUE_METRICS_HOST',
} as const

/** Defaults of {@link MetricsOptions}. */
export const METRICS_DEFAULTS = { host: '127.0.0.1', path: '/metrics' } as const

const PORT = { min: 0, max: 65535, integer: true, unit: 'TCP port' }

/**
 * The metrics server's options, or undefined when neither the `metrics` option nor `GLUE_METRICS_PORT` asks for one.
 * `metrics: false` turns it off whatever the environment says.
 */
export function resolveMetricsOptions(
  options: MetricsOptions | false | undefined,
  env: Environment,
): ResolvedMetricsOptions | undefined {
  if (options === false) return undefined
  const given = optionsObject(options, 'metrics') as MetricsOptions & Record<string, unknown>
  checkKnownKeys(given, ['port', 'host', 'path'], 'metrics')
  const fromEnv = (key: keyof typeof METRICS_ENV): Source | undefined => {
    const raw = env[METRICS_ENV[key]]?.trim()
    return raw ? { value: raw, label: METRICS_ENV[key], fromEnv: true } : undefined
  }
  const pick = (key: keyof typeof METRICS_ENV): Source | undefined =>
    given[key] !== undefined ? explicit(`metrics.${key}`, given[key]) : fromEnv(key)
  const portSource = pick('port')
  if (portSource === undefined) {
    if (options === undefined) return undefined
    throw invalid(explicit('metrics.port', undefined), `a TCP port in 0..65535 (or set ${METRICS_ENV.port})`)
  }
  const hostSource = pick('host')
  const host =
    hostSource === undefined
      ? METRICS_DEFAULTS.host
      : checkString(hostSource, (text) => isIP(text) !== 0, 'an IPv4 or IPv6 address, e.g. "127.0.0.1"')
  const path =
    given.path === undefined
      ? METRICS_DEFAULTS.path
      : checkString(
          explicit('metrics.path', given.path),
          (text) => /^\/[\x21-\x7e]*$/.test(text) && !text.includes('?') && !text.includes('#'),
          'a URL path starting with "/", e.g. "/metrics"',
        )
  return { port: checkNumber(portSource, PORT), host, path }
}
