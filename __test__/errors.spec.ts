import test from 'ava'

import {
  AddressInUseError,
  BackpressureError,
  ClosedError,
  DeliveryError,
  ErrorCode,
  fromNativeError,
  GlueError,
  InterfaceNotFoundError,
  InvalidOptionError,
  MessageTooLargeError,
  SocketError,
  UnknownPeerError,
} from '../index'
import { nativeError } from './helpers/fake-transport'

const classes = [
  [ErrorCode.INVALID_OPTION, InvalidOptionError],
  [ErrorCode.ADDRESS_IN_USE, AddressInUseError],
  [ErrorCode.INTERFACE_NOT_FOUND, InterfaceNotFoundError],
  [ErrorCode.SOCKET, SocketError],
  [ErrorCode.UNKNOWN_PEER, UnknownPeerError],
  [ErrorCode.MESSAGE_TOO_LARGE, MessageTooLargeError],
  [ErrorCode.CLOSED, ClosedError],
] as const

for (const [code, Class] of classes) {
  test(`native ${code} maps to ${Class.name} with cause`, (t) => {
    const cause = nativeError(code, `native says ${code}`)
    const err = fromNativeError(cause) as Error & { code: string }
    t.true(err instanceof Class)
    t.true(err instanceof GlueError)
    t.true(err instanceof Error)
    t.is(err.name, Class.name)
    t.is(err.code, code)
    t.is(err.message, `native says ${code}`)
    t.is(err.cause, cause)
  })
}

test('instanceof a subclass stays precise', (t) => {
  const err = new ClosedError()
  t.true(err instanceof ClosedError)
  t.false(err instanceof SocketError)
  t.false(new InvalidOptionError('x') instanceof SocketError)
  t.false(new Error('plain') instanceof GlueError)
})

test('errors without a known code are returned unchanged', (t) => {
  const plain = new Error('plain')
  t.is(fromNativeError(plain), plain)
  const other = nativeError('GenericFailure')
  t.is(fromNativeError(other), other)
  t.is(fromNativeError('text'), 'text')
  const glue = new SocketError('already wrapped')
  t.is(fromNativeError(glue), glue)
})

test('InvalidOptionError is a TypeError with the option and value', (t) => {
  const err = new InvalidOptionError('bad', { option: 'maxPeers', value: 0 })
  t.true(err instanceof TypeError)
  t.is(err.code, 'ERR_GLUE_INVALID_OPTION')
  t.is(err.option, 'maxPeers')
  t.is(err.value, 0)
  t.is(err.name, 'InvalidOptionError')
})

test('DeliveryError names the receivers that did not acknowledge', (t) => {
  const missing = [
    { id: 'aaaaaaaaaaaaaaaa', name: 'A' },
    { id: 'bbbbbbbbbbbbbbbb', name: '' },
  ]
  const err = new DeliveryError(missing)
  t.true(err instanceof GlueError)
  t.is(err.code, 'ERR_GLUE_DELIVERY')
  t.is(err.code, ErrorCode.DELIVERY)
  t.is(err.name, 'DeliveryError')
  t.deepEqual(err.missing, missing)
  t.true(Object.isFrozen(err.missing))
  t.regex(err.message, /A \(aaaaaaaaaaaaaaaa\), bbbbbbbbbbbbbbbb/)
  t.regex(new DeliveryError([]).message, /deadline/)
  const many = Array.from({ length: 13 }, (_, i) => ({ id: i.toString(16).padStart(16, '0'), name: `P${i}` }))
  t.regex(new DeliveryError(many).message, /P9 \(0+9\) and 3 more/)
})

test('BackpressureError has its stable code', (t) => {
  const err = new BackpressureError('queue stayed full')
  t.true(err instanceof GlueError)
  t.is(err.code, 'ERR_GLUE_BACKPRESSURE')
  t.is(err.name, 'BackpressureError')
  t.false(err instanceof DeliveryError)
})
