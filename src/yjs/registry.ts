/**
 * The live providers per endpoint: at most one per document name (two would answer for one inbox and count each
 * other's messages as their own), all destroyed when their endpoint closes. Weakly keyed: a registry entry never
 * keeps an endpoint alive, and a destroyed provider leaves it.
 */
import type { Endpoint } from '../endpoint'

/** What the registry needs of a provider. */
export interface Registered {
  destroy(): void
}

const live = new WeakMap<Endpoint, Map<string, Registered>>()

/** Registers `provider` as the one for `name` on `endpoint`; throws Error when there already is one. */
export function register(endpoint: Endpoint, name: string, provider: Registered): void {
  checkFree(endpoint, name)
  let providers = live.get(endpoint)
  if (providers === undefined) {
    const all = new Map<string, Registered>()
    live.set(endpoint, (providers = all))
    void endpoint.closed.then(() => {
      for (const p of [...all.values()]) p.destroy()
    })
  }
  providers.set(name, provider)
}

/** Throws Error when `endpoint` already has a provider for `name` (checked before anything is set up). */
export function checkFree(endpoint: Endpoint, name: string): void {
  if (live.get(endpoint)?.has(name)) {
    throw new Error(`endpoint ${endpoint.name} already has a Yjs provider for ${JSON.stringify(name)}`)
  }
}

/** Removes `provider` (if it is the one registered for `name`). */
export function unregister(endpoint: Endpoint, name: string, provider: Registered): void {
  const providers = live.get(endpoint)
  if (providers?.get(name) === provider) providers.delete(name)
}
