/**
 * IPv4 "ip:port" parsing and network interface resolution (names → IPv4 addresses via `os.networkInterfaces()`).
 */
import { networkInterfaces } from 'node:os'

import { InterfaceNotFoundError } from '../errors'

/** A parsed IPv4 socket address. */
export interface SocketAddress {
  /** Dotted-quad IPv4 address. */
  host: string
  /** UDP port, 0..65535. */
  port: number
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const PORT = /^\d{1,5}$/

/** True when `text` is a dotted-quad IPv4 address like `127.0.0.1`. */
export function isIPv4(text: string): boolean {
  return IPV4.test(text)
}

/** True for 224.0.0.0/4. */
export function isMulticast(host: string): boolean {
  const first = Number(host.split('.', 1)[0])
  return first >= 224 && first <= 239
}

/** True for 127.0.0.0/8. */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.')
}

/** Parses "ip:port" (IPv4 only); undefined when malformed or the port is out of 0..65535. */
export function parseSocketAddress(text: string): SocketAddress | undefined {
  const colon = text.lastIndexOf(':')
  if (colon < 0) return undefined
  const host = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (!isIPv4(host) || !PORT.test(portText)) return undefined
  const port = Number(portText)
  return port <= 65535 ? { host, port } : undefined
}

/** Formats a socket address as "ip:port". */
export function formatSocketAddress(address: SocketAddress): string {
  return `${address.host}:${address.port}`
}

/**
 * Resolves an interface given by name (`lo`, `eth0`) or IPv4 address to an IPv4 address.
 * An address is returned as is (the native core checks it when binding).
 * @param option the option or environment variable the value came from, for the error message
 * @throws InterfaceNotFoundError when no interface has that name or it has no IPv4 address
 */
export function resolveInterface(value: string, option: string): string {
  if (isIPv4(value)) return value
  const entries = networkInterfaces()[value]
  const ipv4 = entries?.find((entry) => entry.family === 'IPv4')
  if (ipv4 === undefined) {
    const known = Object.keys(networkInterfaces()).join(', ')
    const why = entries === undefined ? 'no such network interface' : 'the interface has no IPv4 address'
    throw new InterfaceNotFoundError(`${option}: ${JSON.stringify(value)}: ${why} (known: ${known})`, {
      option,
      value,
    })
  }
  return ipv4.address
}
