/**
 * The HTTP server of `metrics`: GET (or HEAD) of the configured path answers the registry in the Prometheus text
 * format; anything else is 404 (or 405 for another method). Closes with its endpoint, connections included.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import type { Registry } from 'prom-client'

import { MetricsBindError } from './errors'
import type { ResolvedMetricsOptions } from './options'

/** "host:port", IPv6 in brackets. */
function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** A listening metrics server. */
export class MetricsServer {
  /** Where it listens, "host:port" (the actual port when 0 was asked for). */
  readonly address: string
  readonly #server: Server

  private constructor(server: Server, address: string) {
    this.#server = server
    this.address = address
  }

  /**
   * Starts serving `registry` at `options.path` on `options.host`:`options.port`.
   * @throws MetricsBindError when it cannot listen (port taken, address not on this machine, no permission)
   */
  static async listen(registry: Registry, options: ResolvedMetricsOptions): Promise<MetricsServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (path !== options.path) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found; metrics are at ${options.path}\n`)
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n')
        return
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      )
    })
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new MetricsBindError(hostPort(options.host, options.port), err.code, { cause: err }))
      }
      server.once('error', onError)
      server.listen({ port: options.port, host: options.host, exclusive: true }, () => {
        server.off('error', onError)
        resolve()
      })
    })
    const { port } = server.address() as AddressInfo
    return new MetricsServer(server, hostPort(options.host, port))
  }

  /** Stops listening and ends open connections (keep-alive ones of a scraper too). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeAllConnections()
    await closed
  }
}
