/**
 * `glue map`: its pure helpers (parsing --set / --delete / --quorum, formatting the map and its changes), bad input,
 * and CLI processes on loopback with a private group: a watcher, writers, a late joiner, quorum writes, --persist,
 * and Ctrl-C of the watcher.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import anyTest, { type TestFn } from 'ava'

import { buildProgram } from '../src/cli/main'
import {
  formatChange,
  formatMap,
  type MapWrite,
  mapName,
  parseMapValue,
  quorum,
  resolveWrites,
  showKey,
  showValue,
  writeParsers,
} from '../src/cli/map'
import type { MapChange } from '../src/model/replicated-map'
import { isNativeAvailable } from '../src/transport/native'
import { glue, isolatedFlags, json, start } from './helpers/cli'

const withNative = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn


anyTest('--set values are JSON when they parse, else text; the raw codec takes the text', (t) => {
  t.is(parseMapValue('1', 'msgpack'), 1)
  t.deepEqual(parseMapValue('{"x":2}', 'json'), { x: 2 })
  t.is(parseMapValue('true', 'msgpack'), true)
  t.is(parseMapValue('null', 'msgpack'), null)
  t.is(parseMapValue('"1"', 'msgpack'), '1')
  t.is(parseMapValue('hello world', 'msgpack'), 'hello world')
  t.is(parseMapValue('', 'msgpack'), '')
  t.is(parseMapValue('{"x":2}', 'raw'), '{"x":2}')
})

anyTest('--set and --delete keep their command-line order; key=value splits at the first "="', (t) => {
  const { set, del } = writeParsers()
  let sets: MapWrite[] = set('a=1')
  let deletes: MapWrite[] = del('a')
  sets = set('b=x=y', sets)
  deletes = del('c', deletes)
  sets = set('=empty key', sets)
  t.deepEqual(
    resolveWrites({ set: sets, delete: deletes, codec: 'msgpack' }).map((w) => (w.op === 'set' ? [w.op, w.key, w.value] : [w.op, w.key])),
    [
      ['set', 'a', 1],
      ['delete', 'a'],
      ['set', 'b', 'x=y'],
      ['delete', 'c'],
      ['set', '', 'empty key'],
    ],
  )
  t.throws(() => set('novalue'), { message: '--set takes key=value, got "novalue" (no "=")' })
  t.throws(() => del('\ud800'), { message: /^--delete: invalid key .*lone surrogate/ })
  t.throws(() => set(`${'k'.repeat(5000)}=1`), { message: /^--set: invalid key .*longer than 4096 UTF-8 bytes/ })
})

anyTest('--quorum is "majority" or an integer ≥ 1; the name follows the model rules', (t) => {
  t.is(quorum('majority'), 'majority')
  t.is(quorum('MAJORITY'), 'majority')
  t.is(quorum('3'), 3)
  for (const bad of ['0', '-1', 'most', '1.5', '']) {
    t.throws(() => quorum(bad), { message: `--quorum must be "majority" or an integer ≥ 1, got ${JSON.stringify(bad)}` })
  }
  t.is(mapName('plant/cfg'), 'plant/cfg')
  t.throws(() => mapName('a/+'), { message: /^invalid map name "a\/\+": must be a valid topic name/ })
  t.throws(() => mapName('$glue'), { message: /must not start with "\$"/ })
  t.throws(() => mapName('a//b'), { message: /must not have empty levels/ })
})

anyTest('the map prints sorted by key, values as JSON, or as one JSON object in that order', (t) => {
  const view = {
    keepAll: false,
    entries: [
      ['10', [1]],
      ['2', [{ x: 2 }]],
      ['__proto__', ['p']],
      ['b', [Buffer.from('bytes')]],
      ['c', [Buffer.from([0, 255])]],
      ['d', [2n ** 64n]],
    ] as [string, unknown[]][],
  }
  t.is(formatMap(view, false), '10=1\n2={"x":2}\n__proto__="p"\nb="bytes"\nc="0x00ff"\nd="18446744073709551616"')
  const text = formatMap(view, true)
  t.is(text, '{"10":1,"2":{"x":2},"__proto__":"p","b":"bytes","c":"0x00ff","d":"18446744073709551616"}')
  t.deepEqual(Object.keys(JSON.parse(text) as object), ['2', '10', '__proto__', 'b', 'c', 'd'], 'valid JSON')
  t.is(formatMap({ keepAll: false, entries: [] }, false), '')
  t.is(formatMap({ keepAll: false, entries: [] }, true), '{}')
  const keepAll = { keepAll: true, entries: [['a', [2, 1]], ['b', [3]]] as [string, unknown[]][] }
  t.is(formatMap(keepAll, false), 'a=2 (concurrent: 1)\nb=3')
  t.is(formatMap(keepAll, true), '{"a":[2,1],"b":[3]}')
  t.is(showValue({ nested: new Uint8Array([104, 105]) }), '{"nested":"hi"}')
  // Keys that would make a text line ambiguous are quoted.
  t.is(formatMap({ keepAll: false, entries: [['', [1]], ['a=b', [2]], ['two\nlines', [3]], ['"q', [4]], ['x y', [5]]] }, false),
    '""=1\n"a=b"=2\n"two\\nlines"=3\n"\\"q"=4\nx y=5')
  t.is(showKey('plain key'), 'plain key')
})

anyTest('changes print as "set k=v (from B)" / "delete k (from B)" or as JSON lines', (t) => {
  const origin = { id: '0123456789abcdef', name: 'B' }
  const set: MapChange<unknown> = { key: 'a', value: { x: 2 }, previous: 1, deleted: false, origin, local: false }
  const del: MapChange<unknown> = { key: 'a', value: undefined, previous: { x: 2 }, deleted: true, origin, local: true }
  t.is(formatChange(set, false), 'set a={"x":2} (from B)')
  t.is(formatChange(del, false), 'delete a (from B)')
  t.is(formatChange({ ...set, origin: { id: origin.id, name: '' } }, false), 'set a={"x":2} (from 0123456789abcdef)')
  t.deepEqual(json(formatChange(set, true)), { op: 'set', key: 'a', value: { x: 2 }, previous: 1, from: origin.id, fromName: 'B', local: false })
  t.deepEqual(json(formatChange(del, true)), { op: 'delete', key: 'a', previous: { x: 2 }, from: origin.id, fromName: 'B', local: true })
  t.is(formatChange(set, false, [{ x: 2 }, 5]), 'set a={"x":2} (concurrent: 5) (from B)')
  t.like(json(formatChange(set, true, [{ x: 2 }, 5])), { value: { x: 2 }, values: [{ x: 2 }, 5] })
  t.like(json(formatChange({ ...set, value: undefined }, true)), { op: 'set', undecodable: true })
})

anyTest('map is a command', (t) => {
  const map = buildProgram(() => {}).commands.find((c) => c.name() === 'map')
  t.truthy(map)
  for (const flag of ['--set', '--delete', '--quorum', '--watch', '--json', '--sync-timeout', '--conflict', '--persist', '--group']) {
    t.truthy(map?.options.find((o) => o.long === flag), flag)
  }
})

anyTest('bad input is a usage error naming the flag, before anything opens', async (t) => {
  const flags = isolatedFlags()
  const cases: [string[], RegExp][] = [
    [['map', 'a/+'], /argument 'name'.*invalid map name "a\/\+"/],
    [['map', 'cfg', '--set', 'novalue'], /option '--set <key=value>' argument 'novalue' is invalid\. --set takes key=value/],
    [['map', 'cfg', '--set', 'a=1', '--quorum', 'most'], /--quorum must be "majority" or an integer ≥ 1, got "most"/],
    [['map', 'cfg', '--quorum', '2'], /--quorum needs --set or --delete/],
    [['map', 'cfg', '--sync-timeout', 'soon'], /--sync-timeout must be an integer/],
    [['map', 'cfg', '--conflict', 'merge'], /'merge' is invalid.*last-writer-wins, keep-all/s],
    [['map'], /missing required argument 'name'/],
  ]
  const results = await Promise.all(cases.map(([args]) => glue([...args, ...flags])))
  results.forEach(({ code, stdout, stderr }, i) => {
    t.is(code, 1, `${cases[i][0].join(' ')}: exit code (as every usage error of the CLI)`)
    t.regex(stderr, cases[i][1])
    t.is(stdout, '')
  })
})

withNative.serial('a watcher prints the changes of writers; a late joiner prints the map; Ctrl-C ends the watcher', async (t) => {
  const flags = isolatedFlags()
  const watcher = start(t, ['map', 'cfg', '--watch', '--json', ...flags], { GLUE_ENDPOINT_NAME: 'watcher' })
  t.deepEqual(await watcher.waitForLines(() => true), ['{}'], 'the empty map first, then changes')

  const writer = await glue(['map', 'cfg', '--set', 'a=1', '--set', 'b={"x":2}', ...flags], { GLUE_ENDPOINT_NAME: 'writer' })
  t.is(writer.code, 0, writer.stderr)
  t.is(writer.stdout, 'a=1\nb={"x":2}\n')
  t.notRegex(writer.stderr, /no other member/, 'the watcher is a member')
  const sets = (await watcher.waitForLines((line) => line.includes('"op":"set"'), 2)).map(json)
  t.like(sets, [
    { op: 'set', key: 'a', value: 1, fromName: 'writer', local: false },
    { op: 'set', key: 'b', value: { x: 2 }, fromName: 'writer', local: false },
  ])

  // The writer is gone: the late joiner gets the map from the watcher.
  const late = await glue(['map', 'cfg', ...flags])
  t.is(late.code, 0, late.stderr)
  t.is(late.stdout, 'a=1\nb={"x":2}\n')
  const lateJson = await glue(['map', 'cfg', '--json', ...flags])
  t.deepEqual(JSON.parse(lateJson.stdout), { a: 1, b: { x: 2 } })

  const deleter = await glue(['map', 'cfg', '--delete', 'a', '--delete', 'nope', ...flags], { GLUE_ENDPOINT_NAME: 'deleter' })
  t.is(deleter.code, 0, deleter.stderr)
  t.is(deleter.stdout, 'b={"x":2}\n')
  t.regex(deleter.stderr, /--delete nope: no such key/)
  const [deleted] = await watcher.waitForLines((line) => line.includes('"op":"delete"'))
  t.like(json(deleted), { op: 'delete', key: 'a', previous: 1, fromName: 'deleter' })

  const quorumWriter = await glue(['map', 'cfg', '--set', 'c=text', '--quorum', 'majority', ...flags], { GLUE_ENDPOINT_NAME: 'q' })
  t.is(quorumWriter.code, 0, quorumWriter.stderr)
  t.is(quorumWriter.stdout, 'b={"x":2}\nc="text"\n')
  const [quorumSet] = await watcher.waitForLines((line) => line.includes('"key":"c"'))
  t.like(json(quorumSet), { op: 'set', value: 'text', fromName: 'q' })

  const tooLarge = await glue(['map', 'cfg', '--set', 'd=1', '--quorum', '5', ...flags])
  t.is(tooLarge.code, 1)
  t.regex(tooLarge.stderr, /^glue: quorum 5 is larger than the membership: 2 \(this endpoint and 1 members up\)$/m)
  t.is(tooLarge.stdout, '')

  watcher.proc.kill('SIGINT')
  t.is(await watcher.exited, 0, watcher.stderr())
  t.regex(watcher.stderr(), /closing/)
  t.is(watcher.lines.length, 5, 'the map and four changes, nothing from the refused write')
})

withNative.serial('text output: the map, then change lines; --count ends the watcher', async (t) => {
  const flags = isolatedFlags()
  const holder = start(t, ['map', 'plant/cfg', '--watch', '--json', ...flags])
  await holder.waitForLines(() => true)
  const first = await glue(['map', 'plant/cfg', '--set', 'mode=auto', '--set', 'n=5', ...flags])
  t.is(first.code, 0, first.stderr)
  // An empty map prints nothing as text: this watcher starts once there is something to print.
  const watcher = start(t, ['map', 'plant/cfg', '--count', '2', ...flags])
  t.deepEqual(await watcher.waitForLines(() => true, 2), ['mode="auto"', 'n=5'])
  const env = { GLUE_ENDPOINT_NAME: 'ops' }
  const writer = await glue(['map', 'plant/cfg', '--set', 'mode=manual', '--delete', 'n', '--quorum', '3', ...flags], env)
  t.is(writer.code, 0, writer.stderr)
  t.is(writer.stdout, 'mode="manual"\n')
  t.is(await watcher.exited, 0, watcher.stderr())
  t.deepEqual(watcher.lines.slice(2).sort(), ['delete n (from ops)', 'set mode="manual" (from ops)'])
  holder.proc.kill('SIGTERM')
  t.is(await holder.exited, 0, holder.stderr())
})

withNative.serial('--persist keeps what was written alone for the next run', async (t) => {
  const flags = isolatedFlags()
  const dir = mkdtempSync(join(tmpdir(), 'glue-map-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const write = await glue(['map', 'cfg', '--set', 'k=v', '--wait', '0.1', '--persist', dir, ...flags])
  t.is(write.code, 0, write.stderr)
  t.regex(write.stderr, /no other member of map "cfg" is up; the writes are held by --persist /)
  const read = await glue(['map', 'cfg', '--json', '--wait', '0.1', '--persist', dir, ...flags])
  t.is(read.code, 0, read.stderr)
  t.is(read.stdout, '{"k":"v"}\n')
  const other = await glue(['map', 'cfg', '--json', '--wait', '0.1', ...flags])
  t.is(other.stdout, '{}\n', 'without --persist: nothing')
})
