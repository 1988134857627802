/**
 * A simulated network for the model layer: nodes implement `ModelTopics` over an in-memory network with a virtual
 * clock, seeded loss, duplication, delay (so reordering) and partitions, and disk stores kept in memory across
 * restarts. Everything runs from one event queue in virtual time, so a run is a pure function of its seed and
 * script: a failing property is replayed exactly.
 */
import type { PeerEvent } from '../../src/discovery/peer-table'
import { ModelLayer } from '../../src/model/model-layer'
import type { ModelClock, ModelTopics } from '../../src/model/model-topics'
import type { OpenStore, ReplicaStore } from '../../src/model/persistence'
import { seeded } from './seeded-random'

/** How the simulated network misbehaves. */
export interface SimOptions {
  /** Probability that a model message is lost (its publication then fails). Default 0. */
  loss?: number
  /** Probability that a model message arrives twice. Default 0. */
  duplicate?: number
  /** Largest delivery delay, virtual ms (delays are uniform in 1..max, so messages overtake each other). Default 5. */
  maxDelayMs?: number
  /** Wall-clock skew per node, ms (node i gets skew[i % length]). Default none. */
  skewMs?: readonly number[]
}

interface Event {
  at: number
  seq: number
  fn: () => void
}

/** A stored disk image, kept across restarts of a node. */
interface Disk {
  snapshot: Uint8Array | undefined
  records: Uint8Array[]
}

/** One endpoint of the simulated network (a run of it: a restart makes a new SimNode with the same or a new ID). */
export class SimNode implements ModelTopics {
  readonly subs = new Map<string, ((from: string, payload: Buffer) => void)[]>()
  alive = true
  readonly layer: ModelLayer
  readonly clock: ModelClock

  constructor(
    readonly net: SimNet,
    readonly id: string,
    readonly name: string,
    readonly skewMs: number,
  ) {
    this.clock = net.clockFor(this)
    this.layer = new ModelLayer(this, this.clock, (err) => net.errors.push(err), net.openStore)
  }

  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.net.deliver(this, topic, Buffer.from(payload))
  }

  subscribe(topic: string, onMessage: (from: string, payload: Buffer) => void): () => void {
    const list = this.subs.get(topic) ?? []
    list.push(onMessage)
    this.subs.set(topic, list)
    return () => {
      const now = this.subs.get(topic)?.filter((fn) => fn !== onMessage) ?? []
      if (now.length === 0) this.subs.delete(topic)
      else this.subs.set(topic, now)
    }
  }

  wants(id: string, topic: string): boolean {
    const other = this.net.node(id)
    return other !== undefined && this.net.connected(this, other) && other.subs.has(topic)
  }

  interested(topic: string): readonly string[] {
    return this.net.nodes.filter((o) => o !== this && this.net.connected(this, o) && o.subs.has(topic)).map((o) => o.id)
  }

  nameOf(id: string): string {
    return this.net.node(id)?.name ?? ''
  }
}

/** See the module doc. */
export class SimNet {
  now = 0
  readonly nodes: SimNode[] = []
  readonly random: () => number
  readonly errors: unknown[] = []
  readonly disks = new Map<string, Disk>()
  readonly #o: Required<SimOptions>
  #queue: Event[] = []
  #seq = 0
  /** Partition group per node ID; nodes in the same group see each other (undefined: group 0). */
  readonly #group = new Map<string, number>()
  /** Messages delivered (all kinds). */
  delivered = 0
  /** When set, messages for which it returns true are lost (a targeted fault: one kind, one direction). */
  drop: ((from: SimNode, to: SimNode, payload: Buffer) => boolean) | undefined

  constructor(seed: number, options: SimOptions = {}) {
    this.random = seeded(seed)
    this.#o = { loss: 0, duplicate: 0, maxDelayMs: 5, skewMs: [], ...options }
  }

  /** Changes the loss probability from now on (1: nothing arrives, yet peers stay up: a link that silently fails). */
  setLoss(loss: number): void {
    this.#o.loss = loss
  }

  /** Adds a node (a new endpoint, or a restart of `id`). */
  add(id: string, name = id): SimNode {
    const skew = this.#o.skewMs.length === 0 ? 0 : this.#o.skewMs[this.nodes.length % this.#o.skewMs.length]
    const node = new SimNode(this, id, name, skew)
    for (const other of this.nodes) if (this.connected(node, other)) this.#peerEvent(other, node, 'peer-up')
    this.nodes.push(node)
    for (const other of this.nodes) if (other !== node && this.connected(node, other)) this.#peerEvent(node, other, 'peer-up')
    return node
  }

  node(id: string): SimNode | undefined {
    return this.nodes.find((n) => n.id === id && n.alive)
  }

  connected(a: SimNode, b: SimNode): boolean {
    return a.alive && b.alive && (this.#group.get(a.id) ?? 0) === (this.#group.get(b.id) ?? 0)
  }

  /** Crashes a node: nothing more from or to it; the others see it expire. Its disk stays. */
  crash(node: SimNode): void {
    const others = this.nodes.filter((o) => o !== node && this.connected(node, o))
    node.alive = false
    this.nodes.splice(this.nodes.indexOf(node), 1)
    for (const o of others) this.#peerEvent(o, node, 'peer-down', 'expired')
  }

  /** Puts nodes into partition groups (`groups[id]`, absent: 0); peers that stop or start seeing each other are told. */
  partition(groups: ReadonlyMap<string, number>): void {
    const before = new Map(this.nodes.map((a) => [a, new Set(this.nodes.filter((b) => b !== a && this.connected(a, b)))]))
    this.#group.clear()
    for (const [id, g] of groups) this.#group.set(id, g)
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        if (a === b) continue
        const was = before.get(a)?.has(b) === true
        const is = this.connected(a, b)
        if (was && !is) this.#peerEvent(a, b, 'peer-down', 'expired')
        if (!was && is) this.#peerEvent(a, b, 'peer-up')
      }
    }
  }

  /** Heals every partition. */
  heal(): void {
    this.partition(new Map())
  }

  #peerEvent(at: SimNode, about: SimNode, type: 'peer-up' | 'peer-down', reason?: string): void {
    const peer = { id: about.id, name: about.name }
    const event = (type === 'peer-down' ? { type, peer, reason } : { type, peer }) as unknown as PeerEvent
    this.schedule(this.now + 1, () => {
      if (at.alive) at.layer.peerEvent(event)
    })
  }

  /** Sends a publication to the connected subscribers: lost, delayed, duplicated as the options say. */
  deliver(from: SimNode, topic: string, payload: Buffer): Promise<void> {
    if (!from.alive) return Promise.reject(new Error('crashed'))
    let lost = false
    let last = this.now
    for (const to of this.nodes) {
      if (to === from || !this.connected(from, to) || !to.subs.has(topic)) continue
      if (this.random() < this.#o.loss || this.drop?.(from, to, payload) === true) {
        lost = true
        continue
      }
      const copies = this.random() < this.#o.duplicate ? 2 : 1
      for (let i = 0; i < copies; i++) {
        const at = this.now + 1 + Math.floor(this.random() * this.#o.maxDelayMs)
        last = Math.max(last, at)
        this.schedule(at, () => {
          if (!to.alive || !this.connected(from, to)) return
          this.delivered++
          for (const fn of to.subs.get(topic) ?? []) fn(from.id, payload)
        })
      }
    }
    return new Promise((resolve, reject) => {
      this.schedule(last + 1, () => (lost ? reject(new Error('lost')) : resolve()))
    })
  }

  /** A ModelClock for `node` (its callbacks stop when it crashes). */
  clockFor(node: SimNode): ModelClock {
    const guard = (fn: () => void) => () => {
      if (node.alive) fn()
    }
    return {
      wall: () => 1_800_000_000_000 + this.now + node.skewMs,
      monotonic: () => this.now,
      after: (ms, fn) => this.schedule(this.now + Math.max(1, ms), guard(fn)),
      cancel: (handle) => {
        if (handle !== undefined) (handle as Event).fn = () => {}
      },
      soon: (fn) => {
        this.schedule(this.now, guard(fn))
      },
    }
  }

  schedule(at: number, fn: () => void): Event {
    const event = { at, seq: this.#seq++, fn }
    // Binary heap by (at, seq).
    const q = this.#queue
    q.push(event)
    let i = q.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (before(q[parent], q[i])) break
      ;[q[parent], q[i]] = [q[i], q[parent]]
      i = parent
    }
    return event
  }

  #pop(): Event | undefined {
    const q = this.#queue
    if (q.length === 0) return undefined
    const top = q[0]
    const last = q.pop() as Event
    if (q.length > 0) {
      q[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < q.length && before(q[l], q[m])) m = l
        if (r < q.length && before(q[r], q[m])) m = r
        if (m === i) break
        ;[q[m], q[i]] = [q[i], q[m]]
        i = m
      }
    }
    return top
  }

  /** Runs every event up to virtual time `until` (microtasks drain after each event). */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      const next = this.#queue[0]
      if (next === undefined || next.at > until) break
      this.#pop()
      this.now = Math.max(this.now, next.at)
      next.fn()
      await drainMicrotasks()
    }
    this.now = Math.max(this.now, until)
  }

  /** Runs for `ms` of virtual time. */
  runFor(ms: number): Promise<void> {
    return this.runUntil(this.now + ms)
  }

  /** Runs until `done()` holds (checked every `stepMs`), or `maxMs` passed; returns whether it held. */
  async runUntilTrue(done: () => boolean, maxMs: number, stepMs = 50): Promise<boolean> {
    const end = this.now + maxMs
    while (this.now < end) {
      if (done()) return true
      await this.runFor(stepMs)
    }
    return done()
  }

  /** Disk stores in memory, by directory and name, that survive restarts (`loseTail` drops the newest records). */
  readonly openStore: OpenStore = async (dir, name) => {
    const key = `${dir}/${name}`
    const disk = this.disks.get(key) ?? { snapshot: undefined, records: [] }
    this.disks.set(key, disk)
    const loaded = { snapshot: disk.snapshot, records: [...disk.records], droppedBytes: 0, corruptSnapshot: false }
    let open = true
    const store: ReplicaStore = {
      get logBytes() {
        return disk.records.reduce((sum, r) => sum + r.length + 8, 0)
      },
      append: async (record) => {
        if (open) disk.records.push(Uint8Array.prototype.slice.call(record))
      },
      snapshot: async (state) => {
        if (!open) return
        disk.snapshot = Uint8Array.prototype.slice.call(state)
        disk.records = []
      },
      close: async () => {
        open = false
      },
    }
    return { store, loaded }
  }

  /** Loses the newest `n` records of every store under `dir` (a crash before they reached the disk). */
  loseTail(dir: string, n: number): void {
    for (const [key, disk] of this.disks) if (key.startsWith(`${dir}/`)) disk.records.splice(Math.max(0, disk.records.length - n))
  }
}

const before = (a: Event, b: Event): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** Lets pending promise callbacks run (a few rounds: chains of `then`). */
export async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve()
}
