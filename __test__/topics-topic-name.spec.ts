import test from 'ava'

import { TopicError } from '../src/topics/errors'
import {
  compileFilter,
  isTopicFilter,
  isTopicName,
  matches,
  MAX_TOPIC_BYTES,
  validateTopicFilter,
  validateTopicName,
  validateTypeName,
} from '../src/topics/topic-name'
import { seeded } from './helpers/seeded-random'

/** [filter, topic, expected] — the examples of MQTT 5.0 section 4.7 first, then edge cases. */
const MATCHING: readonly [string, string, boolean][] = [
  // 4.7.1.2 multi-level wildcard
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/#', 'sport', true],
  ['sport/tennis/#', 'sport/tennis', true],
  ['sport/tennis/#', 'sport/tennis/x', true],
  ['sport/tennis/#', 'sport/tennisx', false],
  ['sport/tennis/#', 'sport', false],
  ['#', 'sport/tennis/player1', true],
  ['#', '/', true],
  ['#', 'a', true],
  // 4.7.1.3 single-level wildcard
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+', 'finance', true],
  ['+/tennis/#', 'sport/tennis', true],
  ['+/tennis/#', 'sport/tennis/player1/ranking', true],
  ['+/tennis/#', 'sport/golf', false],
  ['sport/+/player1', 'sport/tennis/player1', true],
  ['sport/+/player1', 'sport//player1', true],
  ['sport/+/player1', 'sport/tennis/player2', false],
  // 4.7.2 topics beginning with $
  ['#', '$SYS/monitor/Clients', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['+', '$SYS', false],
  ['$SYS/#', '$SYS/monitor/Clients', true],
  ['$SYS/#', '$SYS', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['$SYS/+/Clients', '$SYS/monitor/Clients', true],
  ['a/#', 'a/$b', true],
  ['a/+', 'a/$b', true],
  // 4.7.3 case sensitivity, empty levels, spaces
  ['ACCOUNTS', 'Accounts', false],
  ['Accounts payable', 'Accounts payable', true],
  ['/', '/', true],
  ['+/+', '/', true],
  ['+', '/', false],
  ['/#', '/', true],
  ['/#', '/a/b', true],
  ['/#', 'a', false],
  ['a//b', 'a//b', true],
  ['a/+/b', 'a//b', true],
  ['a/b', 'a/b/', false],
  ['a/b/', 'a/b', false],
  ['a/b/#', 'a/b/', true],
  ['a/+/#', 'a/b', true],
  ['a/+/#', 'a', false],
  ['+/#', 'a', true],
  ['+/#', '/', true],
  ['a', 'ab', false],
  ['ab', 'a', false],
  ['a/b', 'a/bc', false],
  ['a/bc', 'a/b', false],
  ['ü/+/€', 'ü/ß/€', true],
  ['😀/#', '😀/x', true],
]

for (const [filter, topic, expected] of MATCHING) {
  test(`matches(${JSON.stringify(filter)}, ${JSON.stringify(topic)}) is ${expected}`, (t) => {
    t.is(matches(filter, topic), expected)
    t.is(compileFilter(filter).matches(topic), expected, 'compiled matcher agrees')
  })
}

const VALID_FILTERS = ['#', '+', '+/+', '/', '//', 'sport/#', 'sport/tennis/+', '+/tennis/#', 'sport/+/player1', '$S/#']
const INVALID_FILTERS: readonly [string, RegExp][] = [
  ['', /must not be empty/],
  ['sport/tennis#', /"#" must fill a whole level/],
  ['sport/tennis/#/ranking', /"#" must be the last level/],
  ['sport+', /"\+" must fill a whole level/],
  ['+sport', /"\+" must fill a whole level/],
  ['sport/+x/a', /"\+" must fill a whole level/],
  ['##', /"#" must fill a whole level/],
  ['#/', /"#" must be the last level/],
  ['a\u0000b', /U\+0000/],
  ['a\ud800b', /lone surrogate/],
  ['a\udc00', /lone surrogate/],
  ['x'.repeat(MAX_TOPIC_BYTES + 1), /at most 65535/],
  ['é'.repeat(40000), /at most 65535 UTF-8 bytes, not 80000/],
]

test('valid filters pass validation', (t) => {
  for (const filter of VALID_FILTERS) {
    t.notThrows(() => validateTopicFilter(filter), filter)
    t.true(isTopicFilter(filter))
  }
  t.notThrows(() => validateTopicFilter('x'.repeat(MAX_TOPIC_BYTES)))
  t.notThrows(() => validateTopicFilter('😀'.repeat(MAX_TOPIC_BYTES / 4 - 1)))
})

test('invalid filters throw TopicError naming the field, the value and the reason', (t) => {
  for (const [filter, reason] of INVALID_FILTERS) {
    const err = t.throws(() => validateTopicFilter(filter), { instanceOf: TopicError, message: reason })
    t.is(err?.code, 'ERR_GLUE_INVALID_TOPIC')
    t.is(err?.field, 'filter')
    t.is(err?.value, filter)
    t.true(err?.message.startsWith('invalid filter "'), err?.message)
    t.false(isTopicFilter(filter))
  }
  const long = t.throws(() => validateTopicFilter('x'.repeat(70000)))
  t.true((long?.message.length ?? 0) < 200, 'long values are shortened in the message')
  t.throws(() => validateTopicFilter(42 as unknown as string), { instanceOf: TopicError, message: /must be a string/ })
  t.throws(() => validateTopicFilter('a+', 'subscription'), { message: /^invalid subscription "a\+"/ })
})

test('topic names reject wildcards and, unless reserved, a leading $', (t) => {
  for (const topic of ['a', '/', 'sport/tennis/player1', 'a//b', ' ', 'ü/€/😀']) {
    t.notThrows(() => validateTopicName(topic), topic)
    t.true(isTopicName(topic))
  }
  for (const topic of ['+', 'a/#', 'sport/+/x', 'a+b', 'a#']) {
    const message = /wildcards are only allowed in filters/
    t.throws(() => validateTopicName(topic), { instanceOf: TopicError, message })
    t.false(isTopicName(topic))
  }
  const reserved = /invalid topic "\$SYS\/x": names starting with "\$" are reserved/
  t.throws(() => validateTopicName('$SYS/x'), { message: reserved })
  t.false(isTopicName('$SYS/x'))
  t.notThrows(() => validateTopicName('$SYS/x', { reserved: true }))
  t.true(isTopicName('$SYS/x', true))
  const empty = /^invalid publish topic "": must not be empty/
  t.throws(() => validateTopicName('', { field: 'publish topic' }), { message: empty })
  t.throws(() => validateTopicName('a\u0000'), { message: /U\+0000/ })
  t.throws(() => validateTopicName(undefined as unknown as string), { message: /must be a string, not undefined/ })
})

test('matches() validates its arguments', (t) => {
  t.throws(() => matches('a/#/b', 'a'), { instanceOf: TopicError, message: /invalid filter/ })
  t.throws(() => matches('a/+', 'a/+'), { instanceOf: TopicError, message: /invalid topic/ })
  t.throws(() => compileFilter('a#'), { instanceOf: TopicError })
})

test('compiled matchers report whether they hold wildcards', (t) => {
  t.false(compileFilter('a/b').wildcard)
  t.true(compileFilter('a/+').wildcard)
  t.true(compileFilter('#').wildcard)
  t.is(compileFilter('a/b/#').filter, 'a/b/#')
})

test('type names: 1..255 UTF-8 bytes, no control characters', (t) => {
  for (const type of ['Temperature', 'sensors.Temperature/v2', 'x'.repeat(255), 'ü'.repeat(127), 'a b']) {
    t.notThrows(() => validateTypeName(type))
  }
  t.throws(() => validateTypeName(''), { instanceOf: TopicError, message: /invalid type "": must not be empty/ })
  t.throws(() => validateTypeName('x'.repeat(256)), { message: /at most 255/ })
  t.throws(() => validateTypeName('ü'.repeat(128)), { message: /at most 255/ })
  t.throws(() => validateTypeName('a\nb'), { message: /control characters/ })
  t.throws(() => validateTypeName('a\u007f'), { message: /control characters/ })
  t.throws(() => validateTypeName('a\ud800'), { message: /lone surrogate/ })
  t.throws(() => validateTypeName(1 as unknown as string), { message: /must be a string/ })
})

/** The obvious split-based matcher, as a reference for the random test. */
function reference(filter: string, topic: string): boolean {
  if ((filter[0] === '+' || filter[0] === '#') && topic[0] === '$') return false
  const f = filter.split('/')
  const n = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= n.length) return false
    if (f[i] !== '+' && f[i] !== n[i]) return false
  }
  return f.length === n.length
}

test('the matcher and the compiled matcher agree with a reference on random filters and topics', (t) => {
  const random = seeded(7)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const words = ['', 'a', 'b', 'ab', '$', '$a']
  const topic = (): string => Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(words)).join('/') || 'a'
  const filter = (): string => {
    const levels = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick([...words, '+', '+']))
    if (random() < 0.3) levels.push('#')
    return levels.join('/') || '+'
  }
  let compared = 0
  for (let i = 0; i < 3000; i++) {
    const f = filter()
    const matcher = compileFilter(f)
    for (let j = 0; j < 10; j++) {
      const n = topic()
      const expected = reference(f, n)
      if (matcher.matches(n) !== expected || matches(f, n) !== expected) {
        t.fail(`${JSON.stringify(f)} vs ${JSON.stringify(n)}: expected ${expected}`)
        return
      }
      compared++
    }
  }
  t.is(compared, 30000)
})
