/**
 * `glue request` and `glue reply` as processes on a private loopback group: a reply, --all, JSON, and the one-line
 * errors with exit 1 for no replier, a timeout and an error reply (the repliers of those run in this process).
 */
import anyTest, { type TestFn } from 'ava'

import { Endpoint } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { glue, start } from './helpers/cli'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

/** Options for an endpoint in this process and the same as CLI flags. */
function isolated() {
  const options = isolatedOptions()
  const flags = ['--group', String(options.group), '--network-id', String(options.networkId), '--announce-period', '100']
  return { options, flags }
}

test('glue reply --echo answers glue request (one line each), --all and --codec json too', async (t) => {
  const { flags } = isolated()
  const replier = start(t, ['reply', 'cli/+', '--echo', ...flags])
  await replier.waitForStderr(/answering cli\/\+/)
  const one = await glue(['request', 'cli/x', 'hello', ...flags])
  t.is(one.code, 0, one.stderr)
  t.regex(one.stdout, /^cli\/x from glue-reply-\d+: hello\n$/)
  const json = await glue(['request', 'cli/y', '{"a":[1,2]}', '--codec', 'json', '--all', ...flags])
  t.is(json.code, 0, json.stderr)
  t.regex(json.stdout, /^cli\/y from glue-reply-\d+: \{"a":\[1,2\]\}\n$/)
  const seen = await replier.waitForLines((line) => line.startsWith('cli/'), 2)
  t.regex(seen[0], /^cli\/x from glue-request-\d+: hello$/)
  t.regex(seen[1], /^cli\/y from glue-request-\d+: \{"a":\[1,2\]\}$/)
  replier.proc.kill('SIGINT')
  t.is(await replier.exited, 0)
})

test('glue request: no replier, a timeout and an error reply exit 1 with one line', async (t) => {
  const { options, flags } = isolated()
  const ep = await Endpoint.open({ ...options, name: 'in-test' })
  t.teardown(() => ep.close())
  ep.reply('bad/boom', () => {
    throw new Error('no such key')
  })
  ep.reply('bad/slow', () => new Promise(() => {}))
  const none = await glue(['request', 'nobody/x', 'v', '--wait', '0.3', ...flags])
  t.is(none.code, 1)
  t.regex(none.stderr, /^glue: no replier for topic "nobody\/x": none was discovered within 0.3 s\n$/)
  t.is(none.stdout, '')
  const boom = await glue(['request', 'bad/boom', 'v', ...flags])
  t.is(boom.code, 1)
  t.regex(boom.stderr, /^glue: replier in-test \([0-9a-f]{16}\) on topic "bad\/boom" failed: no such key\n$/)
  const slow = await glue(['request', 'bad/slow', 'v', '--timeout', '300', ...flags])
  t.is(slow.code, 1)
  t.regex(slow.stderr, /^glue: no reply on topic "bad\/slow" within 300 ms from: in-test \([0-9a-f]{16}\)\n$/)
  t.true(await until(() => ep.stats().requestsReceived === 2))
})

test('glue reply needs --echo or --value, and --duration ends it with status 0', async (t) => {
  const { flags } = isolated()
  const bare = await glue(['reply', 'x', ...flags])
  t.is(bare.code, 1)
  t.regex(bare.stderr, /^glue: reply needs --echo or --value <text>/)
  const timed = await glue(['reply', 'x', '--value', 'fixed', '--duration', '0.2', ...flags])
  t.is(timed.code, 0, timed.stderr)
})

test('a replier process that stops without a goodbye expires, and the request fails over to another replier', async (t) => {
  const { options, flags } = isolated()
  // Peers expire after 3 s of silence here (the stopped process never says goodbye).
  const q = await Endpoint.open({ ...options, name: 'Q', expiryMultiplier: 30 })
  t.teardown(() => q.close())
  const replier = start(t, ['reply', 'stop/x', '--echo', ...flags])
  await replier.waitForStderr(/answering stop\/x/)
  t.true(await until(() => q.repliers('stop/x').length === 1, 30_000), 'Q knows the CLI replier')
  replier.proc.kill('SIGSTOP')
  t.teardown(() => void replier.proc.kill('SIGKILL'))
  const pending = q.request('stop/x', 'hello', { timeoutMs: 60_000 })
  t.is(q.stats().requestsSent, 1)
  const r2 = await Endpoint.open({ ...options, name: 'R2' })
  t.teardown(() => r2.close())
  r2.reply('stop/x', (req) => `R2:${req.text()}`)
  const reply = await pending
  t.is(reply.fromName, 'R2')
  t.is(reply.text(), 'R2:hello')
  t.is(q.stats().requestFailovers, 1)
})
