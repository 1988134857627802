/**
 * The replicated state machine of a consensus group, applied on every member in log order: the key-value store,
 * the locks, member names and the client sessions that make retried commands take effect once. Deterministic: it
 * depends only on the entries applied (and their indexes), never on clocks, so every member holds the same state at
 * the same index. Lease expiry is an entry too (EXPIRE, proposed by the leader from its own clock).
 */
import { type Command, Op, pack, unpack } from './commands'

/** A lock as the state machine holds it. */
export interface LockState {
  /** The client (session) holding it. */
  holder: string
  /** Endpoint name of the holder, for messages. */
  holderName: string
  /** The fencing token: the index of the entry that granted it. */
  token: number
  ttlMs: number
  /** Renewals applied since it was granted (an EXPIRE names the count it saw, so a later renewal voids it). */
  renewals: number
}

/** What applying one command did (for the proposer's promise, watchers and lease timers). */
export type Outcome =
  | { op: 'duplicate' }
  | { op: 'put'; key: string; value: Buffer; previous: Buffer | undefined }
  | { op: 'delete'; key: string; previous: Buffer | undefined }
  | { op: 'cas'; key: string; ok: boolean; value: Buffer | undefined; previous: Buffer | undefined }
  | { op: 'lock'; name: string; granted: boolean; lock: LockState }
  | { op: 'renew'; name: string; ok: boolean; lock: LockState | undefined }
  | { op: 'unlock' | 'expire'; name: string; ok: boolean; token: number }
  | { op: 'user'; data: Buffer }
  | { op: 'member'; raftId: string; name: string; add: boolean }

/** Sessions kept at most; beyond it the one that applied least recently is forgotten. */
export const MAX_SESSIONS = 4096
/** Settled sequence numbers remembered per session at most (beyond `low`). */
const MAX_SEQS_PER_SESSION = 65_536
/** A session's applied set is pruned of settled numbers when it grows beyond this (amortised O(1) per command). */
const PRUNE_AT = 8192

interface SessionState {
  low: number
  /** Sequence numbers ≥ low that were applied. */
  applied: Set<number>
}

const SNAPSHOT_VERSION = 1

/** See the module doc. */
export class ConsensusState {
  readonly kv = new Map<string, Buffer>()
  readonly locks = new Map<string, LockState>()
  /** Raft ID → endpoint name of members named by MEMBER commands (the founders are known from the options). */
  readonly names = new Map<string, string>()
  /** In order of last use (the first is the least recently used). */
  readonly #sessions = new Map<string, SessionState>()
  /** Applies `c`, the command of entry `index`. */
  apply(c: Command, index: number): Outcome {
    if (this.#seen(c)) return { op: 'duplicate' }
    switch (c.op) {
      case Op.PUT: {
        const previous = this.kv.get(c.key)
        this.kv.set(c.key, c.value)
        return { op: 'put', key: c.key, value: c.value, previous }
      }
      case Op.DELETE: {
        const previous = this.kv.get(c.key)
        this.kv.delete(c.key)
        return { op: 'delete', key: c.key, previous }
      }
      case Op.CAS: {
        const previous = this.kv.get(c.key)
        const ok = c.expected === null ? previous === undefined : previous !== undefined && previous.equals(c.expected)
        if (ok) {
          if (c.next === null) this.kv.delete(c.key)
          else this.kv.set(c.key, c.next)
        }
        return { op: 'cas', key: c.key, ok, value: ok ? (c.next ?? undefined) : previous, previous }
      }
      case Op.LOCK: {
        const held = this.locks.get(c.name)
        if (held !== undefined) return { op: 'lock', name: c.name, granted: false, lock: held }
        const lock = { holder: c.session.client, holderName: c.holderName, token: index, ttlMs: c.ttlMs, renewals: 0 }
        this.locks.set(c.name, lock)
        return { op: 'lock', name: c.name, granted: true, lock }
      }
      case Op.RENEW: {
        const lock = this.locks.get(c.name)
        const ok = lock !== undefined && lock.token === c.token && lock.holder === c.session.client
        if (ok) lock.renewals++
        return { op: 'renew', name: c.name, ok, lock }
      }
      case Op.UNLOCK: {
        const lock = this.locks.get(c.name)
        const ok = lock !== undefined && lock.token === c.token && lock.holder === c.session.client
        if (ok) this.locks.delete(c.name)
        return { op: 'unlock', name: c.name, ok, token: c.token }
      }
      case Op.EXPIRE: {
        const lock = this.locks.get(c.name)
        const ok = lock !== undefined && lock.token === c.token && lock.renewals === c.renewals
        if (ok) this.locks.delete(c.name)
        return { op: 'expire', name: c.name, ok, token: c.token }
      }
      case Op.USER:
        return { op: 'user', data: c.data }
      case Op.MEMBER:
        if (c.add) this.names.set(c.raftId, c.name)
        return { op: 'member', raftId: c.raftId, name: c.name, add: c.add }
    }
  }

  /** True when the command's session applied it before (and records it otherwise). */
  #seen(c: Command): boolean {
    const { client, seq, low } = c.session
    let s = this.#sessions.get(client)
    if (s === undefined) {
      s = { low: 0, applied: new Set() }
      if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string)
      this.#sessions.set(client, s)
    } else if (client !== this.#lastClient) {
      this.#sessions.delete(client) // re-inserted: most recently used last (a run of one client's commands: once)
      this.#sessions.set(client, s)
    }
    this.#lastClient = client
    if (low > s.low) s.low = low
    if (seq < s.low || s.applied.has(seq)) return true
    s.applied.add(seq)
    // Sequence numbers below `low` are settled: forgotten now and then (the check above covers them meanwhile).
    if (s.applied.size > PRUNE_AT) for (const n of s.applied) if (n < s.low) s.applied.delete(n)
    if (s.applied.size > MAX_SEQS_PER_SESSION) s.applied.delete(s.applied.values().next().value as number)
    return false
  }

  #lastClient: string | undefined

  /** The whole state, for a Raft snapshot (MessagePack; `user`: the application's own state, if any). */
  encode(user: Uint8Array | undefined): Buffer {
    return pack([
      SNAPSHOT_VERSION,
      [...this.kv],
      [...this.locks].map(([name, l]) => [name, l.holder, l.holderName, l.token, l.ttlMs, l.renewals]),
      [...this.names],
      [...this.#sessions].map(([client, s]) => [client, s.low, [...s.applied].filter((n) => n >= s.low)]),
      user === undefined ? null : Buffer.from(user.buffer, user.byteOffset, user.byteLength),
    ])
  }

  /** Replaces the state with a snapshot's; returns the application's part (or undefined). Throws on a bad one. */
  restore(data: Uint8Array): Buffer | undefined {
    const raw = unpack(data) as unknown[]
    if (!Array.isArray(raw) || raw[0] !== SNAPSHOT_VERSION || raw.length !== 6) throw new Error('not a consensus snapshot')
    const [, kv, locks, names, sessions, user] = raw as [number, [string, Buffer][], unknown[][], [string, string][], [string, number, number[]][], Buffer | null]
    this.kv.clear()
    for (const [k, v] of kv) this.kv.set(k, v)
    this.locks.clear()
    for (const [name, holder, holderName, token, ttlMs, renewals] of locks as [string, string, string, number, number, number][]) {
      this.locks.set(name, { holder, holderName, token, ttlMs, renewals })
    }
    this.names.clear()
    for (const [id, name] of names) this.names.set(id, name)
    this.#sessions.clear()
    this.#lastClient = undefined
    for (const [client, low, applied] of sessions) this.#sessions.set(client, { low, applied: new Set(applied) })
    return user ?? undefined
  }
}
