/**
 * Helpers for the Yjs provider tests: endpoints on an in-memory FakeNetwork, providers that are destroyed when the
 * test ends, and convergence checks (same text, same state vector).
 */
import type { ExecutionContext } from 'ava'

import { Endpoint } from '../../index'
import type { AwarenessModule, Doc, YModule } from '../../src/yjs/deps'
import { GlueYjsProvider, type GlueYjsProviderOptions } from '../../yjs'
import { FakeNetwork, type FakeTransport } from './fake-transport'
import { until } from './loopback'

/** yjs and y-protocols/awareness as these CommonJS tests load them (`import` would be the ES module build). */
export const Y = require('yjs') as YModule
export const awarenessProtocol = require('y-protocols/awareness') as AwarenessModule

/** A fake network whose endpoints and providers are closed when the test ends, pass or fail. */
export function yjsNetwork(t: ExecutionContext) {
  const net = new FakeNetwork()
  const eps: Endpoint[] = []
  const providers: GlueYjsProvider[] = []
  t.teardown(async () => {
    for (const p of providers) p.destroy()
    await Promise.all(eps.map((ep) => ep.close()))
  })
  /** Opens one more endpoint and waits until it and the others know each other. */
  const open = async (name: string): Promise<Endpoint> => {
    const ep = await Endpoint.openWith(net.open, { env: false, name, maxDatagramSize: 1472 })
    eps.push(ep)
    const live = () => eps.filter((e) => !e.isClosed)
    const discovered = () => live().every((e) => e.peers().length === live().length - 1)
    if (!(await until(discovered))) throw new Error('no discovery')
    return ep
  }
  /** A provider (destroyed at the end of the test). */
  const provide = (ep: Endpoint, doc: Doc, options?: GlueYjsProviderOptions, name = 'notes') => {
    const p = new GlueYjsProvider(ep, name, doc, options)
    providers.push(p)
    return p
  }
  const transport = (ep: Endpoint) => net.transports.find((tr) => tr.id === ep.id) as FakeTransport
  return { net, eps, open, provide, transport }
}

/** The state vector as a sorted list (its encoding's order is not part of the contract). */
export function stateVector(doc: Doc): [number, number][] {
  return [...Y.decodeStateVector(Y.encodeStateVector(doc)).entries()].sort((a, b) => a[0] - b[0])
}

/** True when the docs hold the same text `key` and the same state vector. */
export function converged(docs: Doc[], key = 'text'): boolean {
  const text = docs[0].getText(key).toString()
  const sv = JSON.stringify(stateVector(docs[0]))
  return docs.every((d) => d.getText(key).toString() === text && JSON.stringify(stateVector(d)) === sv)
}

/** Waits until the docs converge; throws, showing the texts, if they do not within `timeoutMs`. */
export async function untilConverged(docs: Doc[], timeoutMs = 5000, key = 'text'): Promise<void> {
  if (await until(() => converged(docs, key), timeoutMs)) return
  const texts = docs.map((d) => JSON.stringify(d.getText(key).toString()))
  throw new Error(`documents did not converge in ${timeoutMs} ms: ${texts.join(' vs ')}`)
}

/** One macrotask, to let the fake network deliver between edits. */
export const tick = () => new Promise<void>((resolve) => setImmediate(resolve))
