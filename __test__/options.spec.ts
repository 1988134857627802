import { hostname, networkInterfaces } from 'node:os'

import test from 'ava'

import { type EndpointOptions, GlueError, InterfaceNotFoundError, InvalidOptionError, resolveOptions } from '../index'

/** Resolves without looking at process.env. */
const resolve = (options: EndpointOptions = {}) => resolveOptions({ env: false, ...options })

test('defaults', (t) => {
  const { native, acceptPeer, messageQueueLimit } = resolve()
  t.like(native, {
    networkId: 0,
    endpointId: undefined,
    listenAddress: '127.0.0.1:0',
    interfaceAddress: '127.0.0.1',
    discoveryTarget: '239.192.137.1:37320',
    discoveryListen: '239.192.137.1:37320',
    announcePeriodMs: 1000,
    expiryMultiplier: 3,
    nameClash: 'report',
    multicastTtl: 1,
    maxDatagramSize: 65000,
    maxPeers: 1024,
    socketBufferSize: 16 * 1024 * 1024,
    maxMessageSize: 256 * 1024 * 1024,
    deliveryDeadlineMs: 30_000,
    reassemblyTimeoutMs: 10_000,
    maxReceiveMemory: 1024 * 1024 * 1024,
    sendQueueBytes: 64 * 1024 * 1024,
    busyPollUs: 0,
    ackHoldUs: 0,
  })
  t.is(acceptPeer, undefined)
  t.is(messageQueueLimit, 65536)
  t.regex(native.name, new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-${process.pid}-\\d+$`))
})

test('default names are unique within the process', (t) => {
  t.not(resolve().native.name, resolve().native.name)
})

test('explicit options are passed through', (t) => {
  const accept = () => true
  const { native, acceptPeer } = resolve({
    networkId: 0xffff_ffff,
    id: '00112233AABBCCDD',
    name: 'é'.repeat(127),
    listenAddress: '127.0.0.1:37321',
    group: '239.1.2.3:4000',
    announcePeriodMs: 10,
    expiryMultiplier: 1.5,
    nameClash: 'reject',
    acceptPeer: accept,
    multicastTtl: 0,
    maxDatagramSize: 512,
    maxPeers: 1,
    socketBufferSize: 4096,
    maxMessageSize: 1,
    deliveryDeadlineMs: 1,
    reassemblyTimeoutMs: 2_147_483_647,
    maxReceiveMemory: 2 ** 20,
    sendQueueBytes: 2 ** 16,
  })
  t.like(native, {
    networkId: 0xffff_ffff,
    endpointId: '00112233aabbccdd',
    listenAddress: '127.0.0.1:37321',
    discoveryTarget: '239.1.2.3:4000',
    discoveryListen: '239.1.2.3:4000',
    announcePeriodMs: 10,
    expiryMultiplier: 1.5,
    nameClash: 'reject',
    multicastTtl: 0,
    maxDatagramSize: 512,
    maxPeers: 1,
    socketBufferSize: 4096,
    maxMessageSize: 1,
    deliveryDeadlineMs: 1,
    reassemblyTimeoutMs: 2_147_483_647,
    maxReceiveMemory: 2 ** 20,
    sendQueueBytes: 2 ** 16,
  })
  t.is(acceptPeer, accept)
})

test('":port" listen address keeps the default IP', (t) => {
  t.is(resolve({ listenAddress: ':37321' }).native.listenAddress, '127.0.0.1:37321')
})

test('discovery addresses: explicit ones beat group; listen defaults to the target', (t) => {
  t.like(resolve({ group: '239.1.1.1:1000', discoveryListenAddress: '239.2.2.2:2000' }).native, {
    discoveryTarget: '239.1.1.1:1000',
    discoveryListen: '239.2.2.2:2000',
  })
  t.like(resolve({ discoveryTargetAddress: '239.3.3.3:3000' }).native, {
    discoveryTarget: '239.3.3.3:3000',
    discoveryListen: '239.3.3.3:3000',
  })
})

const loopbackName = Object.entries(networkInterfaces()).find(([, entries]) =>
  entries?.some((entry) => entry.family === 'IPv4' && entry.address === '127.0.0.1'),
)?.[0]

test('an interface name resolves to its IPv4 address', (t) => {
  if (loopbackName === undefined) return t.pass('no loopback interface with 127.0.0.1 here')
  t.like(resolve({ interface: loopbackName }).native, { interfaceAddress: '127.0.0.1', listenAddress: '127.0.0.1:0' })
})

test('a non-loopback interface address changes the listen and datagram defaults', (t) => {
  // Resolution only: nothing is bound or sent here.
  t.like(resolve({ interface: '192.0.2.1' }).native, {
    interfaceAddress: '192.0.2.1',
    listenAddress: '0.0.0.0:0',
    maxDatagramSize: 1472,
  })
})

test('an unknown interface name throws InterfaceNotFoundError naming the option and value', (t) => {
  const err = t.throws(() => resolve({ interface: 'nosuchif0' }), { instanceOf: InterfaceNotFoundError })
  t.is(err?.code, 'ERR_GLUE_INTERFACE_NOT_FOUND')
  t.is(err?.option, 'interface')
  t.regex(err?.message ?? '', /interface.*nosuchif0/)
  t.true(err instanceof GlueError)
})

const bad: [keyof EndpointOptions, unknown][] = [
  ['networkId', -1],
  ['networkId', 2 ** 32],
  ['networkId', 1.5],
  ['networkId', '1'],
  ['id', '123'],
  ['id', 'zz112233aabbccdd'],
  ['id', 42],
  ['name', ''],
  ['name', 'x'.repeat(256)],
  ['name', 'é'.repeat(128)],
  ['listenAddress', 'localhost:1'],
  ['listenAddress', '127.0.0.1'],
  ['listenAddress', '127.0.0.1:65536'],
  ['listenAddress', '::1:5'],
  ['group', '239.1.1.1:0'],
  ['group', '239.1.1.256:1000'],
  ['discoveryTargetAddress', 'x'],
  ['discoveryListenAddress', '1.2.3.4:-1'],
  ['announcePeriodMs', 9],
  ['announcePeriodMs', 3_600_001],
  ['announcePeriodMs', Number.NaN],
  ['expiryMultiplier', 1.4],
  ['expiryMultiplier', 101],
  ['nameClash', 'ignore'],
  ['acceptPeer', 'yes'],
  ['multicastTtl', 256],
  ['maxDatagramSize', 511],
  ['maxDatagramSize', 65508],
  ['maxPeers', 0],
  ['socketBufferSize', 100],
  ['messageQueueLimit', 0],
  ['maxMessageSize', 0],
  ['maxMessageSize', 2 ** 32 + 1],
  ['maxMessageSize', 1.5],
  ['maxMessageSize', '1000'],
  ['deliveryDeadlineMs', 0],
  ['deliveryDeadlineMs', 2_147_483_648],
  ['deliveryDeadlineMs', Number.POSITIVE_INFINITY],
  ['reassemblyTimeoutMs', 0],
  ['reassemblyTimeoutMs', -1000],
  ['reassemblyTimeoutMs', 100.5],
  ['maxReceiveMemory', 2 ** 20 - 1],
  ['maxReceiveMemory', 2 ** 40 + 1],
  ['sendQueueBytes', 65_535],
  ['sendQueueBytes', 2 ** 40 + 1],
  ['sendQueueBytes', null],
  ['env', 'GLUE'],
]

for (const [option, value] of bad) {
  test(`invalid ${option}: ${String(value).slice(0, 20)}`, (t) => {
    const err = t.throws(() => resolve({ [option]: value } as EndpointOptions), { instanceOf: InvalidOptionError })
    t.is(err?.code, 'ERR_GLUE_INVALID_OPTION')
    t.is(err?.option, option)
    t.true(err instanceof TypeError)
    t.true(err instanceof GlueError)
    t.true(err?.message.includes(option), err?.message)
    if (typeof value === 'string' && value.length < 50)
      t.true(err?.message.includes(JSON.stringify(value)), err?.message)
  })
}

test('the reliable limits: units in the message, maxMessageSize defaults to at most maxReceiveMemory', (t) => {
  const err = t.throws(() => resolve({ sendQueueBytes: 1 }), { instanceOf: InvalidOptionError })
  t.regex(err?.message ?? '', /sendQueueBytes: 1 \(expected an integer in 65536\.\.1099511627776, bytes\)/)
  t.regex(
    t.throws(() => resolve({ deliveryDeadlineMs: 0 }))?.message ?? '',
    /deliveryDeadlineMs: 0 \(expected an integer in 1\.\.2147483647, ms\)/,
  )
  t.is(resolve({ maxReceiveMemory: 2 ** 21 }).native.maxMessageSize, 2 ** 21)
  t.is(resolve({ maxReceiveMemory: 2 ** 21, maxMessageSize: 2 ** 21 }).native.maxMessageSize, 2 ** 21)
  const tooLarge = t.throws(() => resolve({ maxReceiveMemory: 2 ** 21, maxMessageSize: 2 ** 21 + 1 }), {
    instanceOf: InvalidOptionError,
  })
  t.is(tooLarge?.option, 'maxMessageSize')
  t.regex(tooLarge?.message ?? '', /maxMessageSize: 2097153 \(expected at most maxReceiveMemory \(2097152 bytes\)\)/)
})

test('an unknown option key is rejected by name', (t) => {
  const err = t.throws(() => resolve({ interfaceName: 'lo' } as EndpointOptions), { instanceOf: InvalidOptionError })
  t.is(err?.option, 'interfaceName')
})

test('options must be an object', (t) => {
  t.throws(() => resolveOptions(42 as EndpointOptions), { instanceOf: InvalidOptionError })
})

const fullEnv = {
  GLUE_NETWORK_ID: ' 7 ',
  GLUE_ENDPOINT_ID: 'AABBCCDDEEFF0011',
  GLUE_ENDPOINT_NAME: 'from-env',
  GLUE_LISTEN_ADDRESS: '127.0.0.1:45000',
  GLUE_LISTEN_INTERFACE: '127.0.0.1',
  GLUE_DISCOVERY_TARGET_ADDRESS: '239.9.9.9:9000',
  GLUE_DISCOVERY_LISTEN_ADDRESS: '239.9.9.8:9001',
  GLUE_DISCOVERY_RATE_MILLISECONDS: '250',
  GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER: '2.5',
}

test('env variables fill in unset options', (t) => {
  t.like(resolveOptions({ env: fullEnv }).native, {
    networkId: 7,
    endpointId: 'aabbccddeeff0011',
    name: 'from-env',
    listenAddress: '127.0.0.1:45000',
    interfaceAddress: '127.0.0.1',
    discoveryTarget: '239.9.9.9:9000',
    discoveryListen: '239.9.9.8:9001',
    announcePeriodMs: 250,
    expiryMultiplier: 2.5,
  })
})

test('explicit options win over env variables', (t) => {
  const { native } = resolveOptions({
    env: fullEnv,
    networkId: 1,
    id: '0000000000000001',
    name: 'explicit',
    listenAddress: '127.0.0.1:0',
    announcePeriodMs: 100,
    expiryMultiplier: 3,
  })
  t.like(native, { networkId: 1, endpointId: '0000000000000001', name: 'explicit', listenAddress: '127.0.0.1:0' })
  t.like(native, { announcePeriodMs: 100, expiryMultiplier: 3 })
})

test('an explicit group beats the env discovery addresses', (t) => {
  t.like(resolveOptions({ env: fullEnv, group: '239.5.5.5:5000' }).native, {
    discoveryTarget: '239.5.5.5:5000',
    discoveryListen: '239.5.5.5:5000',
  })
})

test('blank env variables are ignored', (t) => {
  t.is(resolveOptions({ env: { GLUE_NETWORK_ID: '  ', GLUE_ENDPOINT_NAME: '' } }).native.networkId, 0)
})

test('process.env is read by default', (t) => {
  const saved = process.env.GLUE_NETWORK_ID
  process.env.GLUE_NETWORK_ID = '99'
  try {
    t.is(resolveOptions().native.networkId, 99)
    t.is(resolveOptions({ env: false }).native.networkId, 0)
  } finally {
    if (saved === undefined) delete process.env.GLUE_NETWORK_ID
    else process.env.GLUE_NETWORK_ID = saved
  }
})

const badEnv: [string, string][] = [
  ['GLUE_NETWORK_ID', 'abc'],
  ['GLUE_NETWORK_ID', '-3'],
  ['GLUE_ENDPOINT_ID', 'xyz'],
  ['GLUE_LISTEN_ADDRESS', 'nowhere'],
  ['GLUE_DISCOVERY_TARGET_ADDRESS', '239.1.1.1'],
  ['GLUE_DISCOVERY_LISTEN_ADDRESS', '239.1.1.1:70000'],
  ['GLUE_DISCOVERY_RATE_MILLISECONDS', '1s'],
  ['GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER', '1'],
]

for (const [variable, value] of badEnv) {
  test(`invalid env ${variable}=${value}`, (t) => {
    const err = t.throws(() => resolveOptions({ env: { [variable]: value } }), { instanceOf: InvalidOptionError })
    t.is(err?.option, variable)
    t.true(err?.message.includes(variable), err?.message)
    t.true(err?.message.includes(value), err?.message)
  })
}

test('an unknown interface from env names the variable', (t) => {
  const err = t.throws(() => resolveOptions({ env: { GLUE_LISTEN_INTERFACE: 'nosuchif1' } }), {
    instanceOf: InterfaceNotFoundError,
  })
  t.is(err?.option, 'GLUE_LISTEN_INTERFACE')
  t.regex(err?.message ?? '', /GLUE_LISTEN_INTERFACE.*nosuchif1/)
})

test('a bad env value is not checked when an explicit option overrides it', (t) => {
  t.is(resolveOptions({ env: { GLUE_NETWORK_ID: 'abc' }, networkId: 3 }).native.networkId, 3)
})
