/**
 * Two endpoints A and B on a private loopback group that know each other, and an attacker's socket beside them, for
 * the attack and hardening tests; everything is closed when the test ends.
 */
import type { ExecutionContext } from 'ava'

import { Endpoint, type EndpointOptions } from '../../index'
import { Attacker } from './forge'
import { isolatedOptions, until } from './loopback'

/** A and B with `options` (on top of `isolatedOptions()`), the attacker, and a way to open more endpoints alike. */
export async function openPair(t: ExecutionContext, options: EndpointOptions = {}) {
  const base = isolatedOptions(options)
  const open: Endpoint[] = []
  t.teardown(() => Promise.all(open.map((ep) => ep.close())))
  const openOne = async (more: EndpointOptions) => {
    const ep = await Endpoint.open({ ...base, ...more })
    open.push(ep)
    return ep
  }
  const a = await openOne({ name: 'A' })
  const b = await openOne({ name: 'B' })
  if (!(await until(() => a.peers().length === 1 && b.peers().length === 1))) throw new Error('no discovery')
  const attacker = await Attacker.open()
  t.teardown(() => attacker.close())
  return { base, a, b, attacker, openOne, networkId: base.networkId as number, group: base.group as string }
}
