/**
 * Consensus groups (the native Raft core, GroupCore and the layers above it) over a simulated network and a virtual
 * clock in one process: messages are delivered when the test pumps them, and some can be held back, so an ordering
 * that real sockets produce only now and then is produced every time.
 */
import { randomBytes } from 'node:crypto'

import test from 'ava'

import type { ModelClock } from '../src/model/model-topics'
import type { ConsensusGroup } from '../src/consensus/consensus-group'
import { ConsensusLayer } from '../src/consensus/consensus-layer'
import type { ConsensusNet } from '../src/consensus/group'
import { decodeEnvelope, Kind } from '../src/consensus/wire'

/** A timer of the virtual clock. */
interface Timer {
  at: number
  seq: number
  fn: () => void
}

/** A message in flight: a DIRECT message (`channel`) or a publication (`topic`). */
interface InFlight {
  from: string
  to: string
  channel?: string
  topic?: string
  payload: Buffer
}

/** Endpoints that reach each other at once when pumped, on a virtual clock (time moves only in `run`). */
class SimNet {
  now = 0
  readonly #timers: Timer[] = []
  #seq = 0
  readonly #soon: (() => void)[] = []
  readonly #queue: InFlight[] = []
  readonly #held: InFlight[] = []
  readonly #nodes = new Map<string, { name: string; direct: Map<string, (from: string, p: Buffer) => void>; subs: Map<string, (from: string, p: Buffer) => void> }>()
  /** Messages it returns true for wait (in order) until `release()`. */
  hold: ((m: InFlight) => boolean) | undefined

  readonly clock: ModelClock = {
    wall: () => 1_800_000_000_000 + this.now,
    monotonic: () => this.now,
    after: (ms, fn) => {
      const timer = { at: this.now + Math.max(0, ms), seq: ++this.#seq, fn }
      this.#timers.push(timer)
      return timer
    },
    cancel: (handle) => {
      const i = this.#timers.indexOf(handle as Timer)
      if (i >= 0) this.#timers.splice(i, 1)
    },
    soon: (fn) => {
      this.#soon.push(fn)
    },
  }

  /** A new endpoint on this network (every endpoint is a peer of every other from the start). */
  endpoint(name: string): ConsensusNet {
    const id = randomBytes(8).toString('hex')
    const node = { name, direct: new Map(), subs: new Map() }
    this.#nodes.set(id, node)
    const since = new Date(1_800_000_000_000)
    return {
      id,
      name,
      nameOf: (peer) => this.#nodes.get(peer)?.name ?? '',
      peers: () => [...this.#nodes].filter(([p]) => p !== id).map(([p, n]) => ({ id: p, name: n.name, since })),
      wants: () => true,
      interested: () => [...this.#nodes.keys()].filter((p) => p !== id),
      publish: async (topic, payload) => {
        for (const to of this.#nodes.keys()) if (to !== id) this.#send({ from: id, to, topic, payload: Buffer.from(payload) })
      },
      subscribe: (topic, cb) => {
        node.subs.set(topic, cb)
        return () => node.subs.delete(topic)
      },
      sendDirect: async (to, channel, payload) => this.#send({ from: id, to, channel, payload: Buffer.from(payload) }),
      onDirect: (channel, cb) => {
        node.direct.set(channel, cb)
        return () => node.direct.delete(channel)
      },
    }
  }

  #send(m: InFlight): void {
    if (this.hold?.(m)) this.#held.push(m)
    else this.#queue.push(m)
  }

  /** The held messages go out (in the order they were sent). */
  release(): void {
    this.hold = undefined
    this.#queue.push(...this.#held.splice(0))
  }

  /** Delivers, runs microtasks and `soon` calls and fires timers until `done()` or `ms` of virtual time passed. */
  async run(done: () => boolean, ms: number): Promise<boolean> {
    const end = this.now + ms
    for (;;) {
      for (let busy = true; busy; ) {
        await new Promise((resolve) => setImmediate(resolve)) // the microtasks queued so far run
        busy = this.#soon.length > 0 || this.#queue.length > 0
        for (const fn of this.#soon.splice(0)) fn()
        for (const m of this.#queue.splice(0)) {
          const node = this.#nodes.get(m.to)
          const cb = m.channel === undefined ? node?.subs.get(m.topic as string) : node?.direct.get(m.channel)
          cb?.(m.from, m.payload)
        }
      }
      if (done()) return true
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const next = this.#timers[0]
      if (next === undefined || next.at > end) {
        this.now = end
        return done()
      }
      this.#timers.shift()
      this.now = next.at
      next.fn()
    }
  }
}

test('a member that joins while its first write is forwarded, and is caught up by a snapshot holding that write, sees the write complete', async (t) => {
  const sim = new SimNet()
  const errors: unknown[] = []
  const layers = new Map<string, { net: ConsensusNet; layer: ConsensusLayer }>()
  for (const name of ['A', 'B', 'C', 'D']) {
    const net = sim.endpoint(name)
    layers.set(name, { net, layer: new ConsensusLayer(net, sim.clock, (err) => errors.push(err)) })
  }
  t.teardown(() => {
    for (const { layer } of layers.values()) layer.close()
  })
  const members = ['A', 'B', 'C']
  const groups = await Promise.all(members.map((n) => layers.get(n)?.layer.consensus<number>('g', { members }) as Promise<ConsensusGroup<number>>))
  t.true(await sim.run(() => groups.some((g) => g.role === 'leader') && groups.every((g) => g.leader !== undefined), 10_000), 'a leader')
  const leader = groups.find((g) => g.role === 'leader') as ConsensusGroup<number>
  let wrote = false
  void leader.kv.put('before', 1).then(() => (wrote = true))
  t.true(await sim.run(() => wrote, 10_000))

  // D's Raft answers wait: the leader learns only later that D's log is empty (and that it needs a snapshot), so
  // D's first write, which D forwards as soon as it knows the leader, is committed before that snapshot is taken.
  const d = layers.get('D')?.net as ConsensusNet
  sim.hold = (m) => m.from === d.id && m.channel !== undefined && decodeEnvelope(m.payload)?.kind === Kind.RAFT
  const gd = await (layers.get('D')?.layer.consensus<number>('g', { members, join: true }) as Promise<ConsensusGroup<number>>)
  let added = false
  void leader.addMember('D').then(() => (added = true))
  t.true(await sim.run(() => added && gd.leader !== undefined, 10_000), 'D is a voter and knows the leader')

  let result: string | undefined
  gd.kv.put('from-d', 4).then(
    () => (result = 'committed'),
    (err: Error) => (result = `${err.name}: ${err.message}`),
  )
  t.true(await sim.run(() => leader.kv.getLocal('from-d') === 4, 1000), "the leader applied D's write")
  sim.release()
  t.true(await sim.run(() => result !== undefined, 10_000))
  t.is(result, 'committed')
  t.is(gd.kv.getLocal('from-d'), 4)
  t.true((layers.get(members[groups.indexOf(leader)])?.layer.stats().consensusSnapshots ?? 0) > 0, 'D was caught up by a snapshot')
  t.deepEqual(errors, [])
})
