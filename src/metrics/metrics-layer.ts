/**
 * The metrics of one endpoint: its own prom-client Registry (never the global one) and, with the `metrics` option,
 * the HTTP server that serves it.
 */
import { Registry } from 'prom-client'

import { type MetricsSource, registerGlueMetrics } from './collector'
import type { ResolvedMetricsOptions } from './options'
import { MetricsServer } from './server'

/** See the module doc. */
export class MetricsLayer {
  readonly #source: MetricsSource
  #registry: Registry | undefined
  #server: MetricsServer | undefined

  constructor(source: MetricsSource) {
    this.#source = source
  }

  /** The endpoint's registry with glue's metrics in it (made on first use). */
  registry(): Registry {
    if (this.#registry === undefined) {
      this.#registry = new Registry()
      registerGlueMetrics(this.#source, this.#registry)
    }
    return this.#registry
  }

  /** Where the server listens, "host:port"; undefined without one. */
  get address(): string | undefined {
    return this.#server?.address
  }

  /**
   * Starts the HTTP server.
   * @throws MetricsBindError
   */
  async serve(options: ResolvedMetricsOptions): Promise<void> {
    this.#server = await MetricsServer.listen(this.registry(), options)
  }

  /** Stops the server (if any). */
  async close(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    await server?.close()
  }
}
