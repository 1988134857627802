/**
 * Integration tests against the real native addon across processes (children run fixtures/child-endpoint.ts),
 * on loopback only. Skipped until the addon is built. Serial: each spawns several Node processes.
 */
import { createSocket } from 'node:dgram'

import anyTest from 'ava'

import { Endpoint, type StatusEvent } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { type Child, exitWithin, isolatedOptions, spawnChild, until } from './helpers/loopback'

const serial = isNativeAvailable() ? anyTest.serial : anyTest.serial.skip

/** Closes the children's endpoints via stdin and waits for them to exit; kills stragglers. */
async function stopAll(children: Child[]): Promise<void> {
  for (const child of children) if (child.proc.exitCode === null) child.proc.stdin.end()
  await Promise.all(children.map((child) => exitWithin(child, 10_000)))
}

serial('four endpoints in four processes find each other', async (t) => {
  const shared = isolatedOptions()
  const names = ['A', 'B', 'C', 'D']
  const children = names.map((name) => spawnChild('run', { ...shared, name }))
  try {
    await Promise.all(
      children.map(async (child, i) => {
        for (const other of names.filter((n) => n !== names[i])) {
          await child.waitFor((r) => r.event === 'status' && r.type === 'peer-up' && r.name === other, 15_000)
        }
      }),
    )
    children[0].command({ cmd: 'broadcast', text: 'hi all' })
    await children[3].waitFor((r) => r.event === 'message' && r.text === 'hi all' && r.fromName === 'A')
    t.pass()
  } finally {
    await stopAll(children)
  }
  for (const child of children) t.like(child.records.at(-1), { event: 'closed' }, child.stderr())
})

serial('a SIGKILLed peer goes down by expiry', async (t) => {
  const shared = isolatedOptions({ announcePeriodMs: 100, expiryMultiplier: 3 })
  const ep = await Endpoint.open({ ...shared, name: 'watcher' })
  const events: StatusEvent[] = []
  ep.onStatus((event) => events.push(event))
  const child = spawnChild('run', { ...shared, name: 'victim' })
  try {
    t.true(
      await until(() => events.some((e) => e.type === 'peer-up' && e.peer.name === 'victim'), 15_000),
      child.stderr(),
    )
    child.proc.kill('SIGKILL')
    await child.exited
    t.true(await until(() => events.some((e) => e.type === 'peer-down' && e.peer.name === 'victim'), 10_000))
    const down = events.find((e) => e.type === 'peer-down')
    t.like(down, { type: 'peer-down', reason: 'expired' })
    t.deepEqual(ep.peers(), [])
  } finally {
    child.proc.kill('SIGKILL')
    await ep.close()
  }
})

serial('a child picks up its configuration from GLUE_* variables', async (t) => {
  const shared = isolatedOptions()
  const ep = await Endpoint.open({ ...shared, name: 'parent' })
  const [host, port] = String(shared.group).split(':')
  const child = spawnChild(
    'run',
    {},
    {
      GLUE_NETWORK_ID: String(shared.networkId),
      GLUE_ENDPOINT_ID: '00000000c0ffee00',
      GLUE_ENDPOINT_NAME: 'configured-by-env',
      GLUE_LISTEN_INTERFACE: '127.0.0.1',
      GLUE_LISTEN_ADDRESS: '127.0.0.1:0',
      GLUE_DISCOVERY_TARGET_ADDRESS: `${host}:${port}`,
      GLUE_DISCOVERY_LISTEN_ADDRESS: `${host}:${port}`,
      GLUE_DISCOVERY_RATE_MILLISECONDS: '100',
      GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER: '4',
    },
  )
  try {
    const opened = await child.waitFor((r) => r.event === 'open')
    t.like(opened, { id: '00000000c0ffee00', name: 'configured-by-env' })
    t.like(opened.config, { announcePeriodMs: 100, expiryMultiplier: 4, networkId: shared.networkId })
    t.true(
      await until(() => ep.peers().some((p) => p.id === '00000000c0ffee00' && p.name === 'configured-by-env'), 15_000),
    )
    t.is(ep.peers()[0].announcePeriodMs, 100)
  } finally {
    await stopAll([child])
    await ep.close()
  }
})

serial('close() lets the process exit by itself', async (t) => {
  const child = spawnChild('open-close', isolatedOptions())
  const code = await exitWithin(child, 10_000)
  t.is(code, 0, child.stderr())
  t.deepEqual(
    child.records.map((r) => r.event),
    ['open', 'closed'],
  )
})

serial('an open endpoint keeps the process running; after unref() it exits by itself', async (t) => {
  const idle = spawnChild('idle', isolatedOptions())
  const unref = spawnChild('unref', isolatedOptions())
  try {
    await idle.waitFor((r) => r.event === 'open')
    t.is(await exitWithin(unref, 10_000), 0, unref.stderr())
    t.is(await exitWithin(idle, 1500), 'timeout', 'still running (then killed)')
  } finally {
    idle.proc.kill('SIGKILL')
  }
})

serial('a failed open (bad interface) leaves nothing running', async (t) => {
  const child = spawnChild('expect-error', isolatedOptions({ interface: 'nosuchif0' }))
  t.is(await exitWithin(child, 10_000), 0, child.stderr())
  t.like(child.records[0], { event: 'error', name: 'InterfaceNotFoundError', code: 'ERR_GLUE_INTERFACE_NOT_FOUND' })
})

serial('a failed open (port in use) leaves nothing running', async (t) => {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  try {
    const child = spawnChild('expect-error', isolatedOptions({ listenAddress: `127.0.0.1:${socket.address().port}` }))
    t.is(await exitWithin(child, 10_000), 0, child.stderr())
    t.like(child.records[0], { event: 'error', name: 'AddressInUseError', code: 'ERR_GLUE_ADDRESS_IN_USE' })
  } finally {
    socket.close()
  }
})
