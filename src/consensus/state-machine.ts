/**
 * The replicated state machine of a consensus group, applied on every member in log order: the key-value store,
 * the locks, member names and the client sessions that make retried commands take effect once. Deterministic: it
 * depends only on the entries applied (and their indexes), never on clocks, so every member holds the same state at
 * the same index. Lease expiry is an entry too (EXPIRE, proposed by the leader from its own clock).
 *
 * A session keeps the {@link Reply} of each command it applied until the proposer settled it (`seq < low`), as Raft's
 * client sessions keep responses: a proposer that never applies the entry itself — a member caught up by a snapshot
 * that holds the command already, whose retry then is a duplicate — is answered from its session.
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

/**
 * What the proposer of a command learns from it (kept in the session, see the module doc): the same on every member.
 */
export interface Reply {
  /** Log index and term of the entry that applied the command. */
  readonly index: number
  readonly term: number
  /**
   * PUT, USER, MEMBER: true. DELETE: the key had a value. CAS: the value matched. LOCK: granted. RENEW, UNLOCK,
   * EXPIRE: it took effect.
   */
  readonly ok: boolean
  /** LOCK: the lock it granted, or the one that holds it. */
  readonly lock?: { readonly holder: string; readonly holderName: string; readonly token: number }
}

/** Sessions kept at most; beyond it the one that applied least recently is forgotten. */
export const MAX_SESSIONS = 4096
/** Settled sequence numbers remembered per session at most (beyond `low`). */
const MAX_SEQS_PER_SESSION = 65_536
/** A session's applied set is pruned of settled numbers when it grows beyond this (amortised O(1) per command). */
const PRUNE_AT = 8192

interface SessionState {
  low: number
  /** Sequence numbers ≥ low that were applied, with their replies (undefined: restored from a version 1 snapshot). */
  applied: Map<number, Reply | undefined>
}

/** Version 1: sessions without replies (still restored); version 2: with them. */
const SNAPSHOT_VERSION = 2

/** See the module doc. */
export class ConsensusState {
  readonly kv = new Map<string, Buffer>()
  readonly locks = new Map<string, LockState>()
  /** Raft ID → endpoint name of members named by MEMBER commands (the founders are known from the options). */
  readonly names = new Map<string, string>()
  /** In order of last use (the first is the least recently used). */
  readonly #sessions = new Map<string, SessionState>()
  /** Applies `c`, a command of entry `index` of `term`; its session keeps the reply (see {@link reply}). */
  apply(c: Command, index: number, term = 0): Outcome {
    const session = this.#session(c)
    if (session === undefined) return { op: 'duplicate' }
    const outcome = this.#run(c, index)
    this.#record(session, c.session.seq, replyOf(outcome, index, term))
    return outcome
  }

  /**
   * The reply of the command `seq` of `client` if it was applied and is not settled yet (else undefined). Reads
   * only: the order of sessions is not touched.
   */
  reply(client: string, seq: number): Reply | undefined {
    return this.#sessions.get(client)?.applied.get(seq)
  }

  #run(c: Command, index: number): Outcome {
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

  /** The command's session, or undefined when the session applied it before (a duplicate). */
  #session(c: Command): SessionState | undefined {
    const { client, seq, low } = c.session
    let s = this.#sessions.get(client)
    if (s === undefined) {
      s = { low: 0, applied: new Map() }
      if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string)
      this.#sessions.set(client, s)
    } else if (client !== this.#lastClient) {
      this.#sessions.delete(client) // re-inserted: most recently used last (a run of one client's commands: once)
      this.#sessions.set(client, s)
    }
    this.#lastClient = client
    if (low > s.low) s.low = low
    if (seq < s.low || s.applied.has(seq)) return undefined
    return s
  }

  /** Records that `seq` was applied, with its reply. */
  #record(s: SessionState, seq: number, reply: Reply): void {
    s.applied.set(seq, reply)
    // Sequence numbers below `low` are settled: forgotten now and then (the check in #session covers them meanwhile).
    if (s.applied.size > PRUNE_AT) for (const n of s.applied.keys()) if (n < s.low) s.applied.delete(n)
    if (s.applied.size > MAX_SEQS_PER_SESSION) s.applied.delete(s.applied.keys().next().value as number)
  }

  #lastClient: string | undefined

  /** The whole state, for a Raft snapshot (MessagePack; `user`: the application's own state, if any). */
  encode(user: Uint8Array | undefined): Buffer {
    return pack([
      SNAPSHOT_VERSION,
      [...this.kv],
      [...this.locks].map(([name, l]) => [name, l.holder, l.holderName, l.token, l.ttlMs, l.renewals]),
      [...this.names],
      [...this.#sessions].map(([client, s]) => [client, s.low, [...s.applied].filter(([n]) => n >= s.low).map(([n, r]) => [n, encodeReply(r)])]),
      user === undefined ? null : Buffer.from(user.buffer, user.byteOffset, user.byteLength),
    ])
  }

  /** Replaces the state with a snapshot's; returns the application's part (or undefined). Throws on a bad one. */
  restore(data: Uint8Array): Buffer | undefined {
    const raw = unpack(data) as unknown[]
    const version = Array.isArray(raw) ? raw[0] : undefined
    if (!Array.isArray(raw) || (version !== 1 && version !== SNAPSHOT_VERSION) || raw.length !== 6) throw new Error('not a consensus snapshot')
    const [, kv, locks, names, sessions, user] = raw as [number, [string, Buffer][], unknown[][], [string, string][], [string, number, unknown[]][], Buffer | null]
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
    for (const [client, low, applied] of sessions) {
      const seqs = new Map<number, Reply | undefined>()
      for (const a of applied) {
        if (version === 1) seqs.set(a as number, undefined)
        else seqs.set((a as [number, unknown])[0], decodeReply((a as [number, unknown])[1]))
      }
      this.#sessions.set(client, { low, applied: seqs })
    }
    return user ?? undefined
  }
}

/** The reply of a command that was applied (not a duplicate). */
function replyOf(o: Outcome, index: number, term: number): Reply {
  switch (o.op) {
    case 'delete':
      return { index, term, ok: o.previous !== undefined }
    case 'cas':
    case 'renew':
    case 'unlock':
    case 'expire':
      return { index, term, ok: o.ok }
    case 'lock':
      return { index, term, ok: o.granted, lock: { holder: o.lock.holder, holderName: o.lock.holderName, token: o.lock.token } }
    default:
      return { index, term, ok: true }
  }
}

/** A reply in a snapshot: `[index, term, ok]`, with `holder, holderName, token` for LOCK; nil when unknown. */
function encodeReply(r: Reply | undefined): unknown[] | null {
  if (r === undefined) return null
  return r.lock === undefined ? [r.index, r.term, r.ok] : [r.index, r.term, r.ok, r.lock.holder, r.lock.holderName, r.lock.token]
}

function decodeReply(raw: unknown): Reply | undefined {
  if (!Array.isArray(raw)) return undefined
  const [index, term, ok, holder, holderName, token] = raw as [number, number, boolean, string?, string?, number?]
  return holder === undefined ? { index, term, ok } : { index, term, ok, lock: { holder, holderName: holderName as string, token: token as number } }
}
