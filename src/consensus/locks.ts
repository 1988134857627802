/**
 * Locks of a consensus group (`g.lock(name, { ttlMs })`): a lock is a lease in the replicated state, granted by a
 * committed LOCK entry whose index is its **fencing token** (tokens only grow: a resource that remembers the largest
 * token it saw refuses a stale holder). The holder renews it every third of `ttlMs`; the leader proposes an EXPIRE
 * when no renewal committed for `ttlMs` by its clock (a new leader gives every lock a full `ttlMs` first). The holder
 * counts its lease from the moment it *asked* (LOCK or RENEW), so its view ends before the leader's: it aborts
 * `lock.signal` with a LockLostError when a renewal did not commit in time, and never thinks it holds a lock the
 * group has given to someone else (as long as clocks run at about the same rate).
 */
import type { ModelClock } from '../model/model-topics'
import { TimeoutError } from '../errors'
import { Op } from './commands'
import { LockLostError } from './errors'
import type { GroupCore } from './group'
import { type LockOptions, resolveLockOptions } from './options'
import type { LockState } from './state-machine'

/** A held lock. */
export interface Lock {
  /** The lock's name. */
  readonly name: string
  /** The fencing token: the log index that granted the lock (only grows across grants). */
  readonly token: number
  /** Aborted (reason: LockLostError) when the lock is lost or released. */
  readonly signal: AbortSignal
  /** True while this holder may rely on the lock. */
  readonly held: boolean
  /** Releases the lock; rejects with LockLostError when it was lost before. */
  release(): Promise<void>
}

/** Grants, renewals, releases and expiry of a group's locks, on every member (the leader also expires). */
export class GroupLocks {
  readonly #core: GroupCore
  readonly #clock: ModelClock
  readonly #deadlineMs: number
  /** Leader only: when each lock's lease runs out by this leader's clock (monotonic ms). */
  readonly #leases = new Map<string, { deadline: number; token: number; renewals: number; expiring: number }>()
  /** Waiters for a lock to become free. */
  readonly #freed = new Map<string, (() => void)[]>()
  readonly #held = new Set<HeldLock>()

  constructor(core: GroupCore, clock: ModelClock, deadlineMs: number) {
    this.#core = core
    this.#clock = clock
    this.#deadlineMs = deadlineMs
    core.onOutcome((o) => {
      if (o.op === 'lock' && o.granted) this.#lease(o.name, o.lock)
      else if (o.op === 'renew' && o.ok && o.lock !== undefined) this.#lease(o.name, o.lock)
      else if ((o.op === 'unlock' || o.op === 'expire') && o.ok) {
        this.#leases.delete(o.name)
        for (const h of this.#held) if (h.name === o.name && h.token === o.token) h.lose(o.op === 'expire' ? 'its lease ran out (expired by the leader)' : 'released')
        const waiters = this.#freed.get(o.name)
        this.#freed.delete(o.name)
        for (const w of waiters ?? []) w()
      }
    })
    core.onRestore({
      before: () => {},
      after: () => {
        this.#leases.clear()
        if (core.status.role === 'leader') this.#leaseAll()
      },
    })
    core.becameLeader = (self) => {
      this.#leases.clear()
      if (self) this.#leaseAll()
    }
    core.ticked = () => this.#expire()
  }

  #lease(name: string, lock: LockState): void {
    if (this.#core.status.role !== 'leader') return
    this.#leases.set(name, { deadline: this.#clock.monotonic() + lock.ttlMs, token: lock.token, renewals: lock.renewals, expiring: -Infinity })
  }

  /** A new leader gives every lock a full lease from now. */
  #leaseAll(): void {
    for (const [name, lock] of this.#core.state.locks) this.#lease(name, lock)
  }

  /** Leader: proposes EXPIRE for the leases that ran out (again after an election timeout if it did not commit). */
  #expire(): void {
    if (this.#core.status.role !== 'leader' || this.#leases.size === 0) return
    const now = this.#clock.monotonic()
    for (const [name, l] of this.#leases) {
      if (now < l.deadline || now - l.expiring < 1000) continue
      l.expiring = now
      this.#core.submit({ op: Op.EXPIRE, name, token: l.token, renewals: l.renewals }, 5000).catch(() => {})
    }
  }

  /** See `ConsensusGroup.lock`. */
  async lock(name: string, holderName: string, options?: LockOptions): Promise<Lock> {
    if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 4096) {
      throw new TypeError(`invalid lock name ${JSON.stringify(name)}: a string of 1..4096 UTF-8 bytes`)
    }
    const o = resolveLockOptions(options, this.#deadlineMs)
    const start = this.#clock.monotonic()
    for (;;) {
      const askedAt = this.#clock.monotonic()
      const left = Math.max(1, o.deadlineMs - (askedAt - start))
      const { ok: granted, lock } = await this.#core.submit({ op: Op.LOCK, name, ttlMs: o.ttlMs, holderName }, left)
      if (lock === undefined) throw new Error('unexpected reply')
      if (granted) {
        const held = new HeldLock(this, this.#core, this.#clock, name, lock.token, o.ttlMs, askedAt, o.deadlineMs)
        this.#held.add(held)
        return held
      }
      const waited = this.#clock.monotonic() - start
      if (waited >= o.waitMs) {
        const holder = { id: lock.holder.split('.')[0], name: lock.holderName }
        throw new TimeoutError(`lock ${JSON.stringify(name)} is held (token ${lock.token}) and was not freed within ${o.waitMs} ms by`, [holder])
      }
      await this.#whenFreed(name, o.waitMs - waited)
    }
  }

  /** Resolves when `name` is unlocked or expired, or after `ms` (then the caller tries once more and gives up). */
  #whenFreed(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const list = this.#freed.get(name) ?? []
      let timer: unknown
      const done = (): void => {
        this.#clock.cancel(timer)
        resolve()
      }
      timer = this.#clock.after(ms, () => {
        const now = this.#freed.get(name)?.filter((w) => w !== done)
        if (now !== undefined && now.length > 0) this.#freed.set(name, now)
        else this.#freed.delete(name)
        resolve()
      })
      list.push(done)
      this.#freed.set(name, list)
    })
  }

  /** Forgets a released or lost lock. */
  forget(h: HeldLock): void {
    this.#held.delete(h)
  }

  /** Every held lock is lost (the group closes). */
  close(): void {
    for (const h of [...this.#held]) h.lose('the group was closed')
    for (const waiters of this.#freed.values()) for (const w of waiters) w()
    this.#freed.clear()
  }
}

/** A lock this endpoint holds (see {@link Lock}). */
class HeldLock implements Lock {
  readonly #controller = new AbortController()
  readonly #locks: GroupLocks
  readonly #core: GroupCore
  readonly #clock: ModelClock
  readonly #ttlMs: number
  readonly #deadlineMs: number
  #validUntil: number
  #renewTimer: unknown
  #expiryTimer: unknown
  #lost: LockLostError | undefined

  constructor(
    locks: GroupLocks,
    core: GroupCore,
    clock: ModelClock,
    readonly name: string,
    readonly token: number,
    ttlMs: number,
    askedAt: number,
    deadlineMs: number,
  ) {
    this.#deadlineMs = deadlineMs
    this.#locks = locks
    this.#core = core
    this.#clock = clock
    this.#ttlMs = ttlMs
    this.#validUntil = askedAt + ttlMs
    this.#armExpiry()
    this.#scheduleRenew()
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get held(): boolean {
    return this.#lost === undefined && this.#clock.monotonic() < this.#validUntil
  }

  #armExpiry(): void {
    this.#clock.cancel(this.#expiryTimer)
    this.#expiryTimer = this.#clock.after(Math.max(1, this.#validUntil - this.#clock.monotonic()), () => {
      if (this.#clock.monotonic() >= this.#validUntil) this.lose(`no renewal committed within its ttlMs (${this.#ttlMs} ms)`)
      else this.#armExpiry()
    })
  }

  #scheduleRenew(): void {
    this.#renewTimer = this.#clock.after(Math.max(1, Math.floor(this.#ttlMs / 3)), () => this.#renew())
  }

  #renew(): void {
    if (this.#lost !== undefined) return
    const askedAt = this.#clock.monotonic()
    const left = Math.max(1, Math.floor(this.#validUntil - askedAt))
    this.#core.submit({ op: Op.RENEW, name: this.name, token: this.token }, left).then(
      ({ ok }) => {
        if (this.#lost !== undefined) return
        if (ok) {
          this.#validUntil = Math.max(this.#validUntil, askedAt + this.#ttlMs)
          this.#armExpiry()
          this.#scheduleRenew()
        } else this.lose('a renewal found it taken over (its lease had run out)')
      },
      () => {
        if (this.#lost === undefined && this.#clock.monotonic() < this.#validUntil) this.#scheduleRenew()
      },
    )
  }

  /** Marks the lock lost (idempotent). */
  lose(why: string): void {
    if (this.#lost !== undefined) return
    this.#lost = new LockLostError(`lock ${JSON.stringify(this.name)} (token ${this.token}) was lost: ${why}`, this.name, this.token)
    this.#clock.cancel(this.#renewTimer)
    this.#clock.cancel(this.#expiryTimer)
    this.#locks.forget(this)
    this.#controller.abort(this.#lost)
  }

  async release(): Promise<void> {
    if (this.#lost === undefined && this.#clock.monotonic() >= this.#validUntil) this.lose(`no renewal committed within its ttlMs (${this.#ttlMs} ms)`)
    if (this.#lost !== undefined) throw this.#lost
    this.#clock.cancel(this.#renewTimer)
    const { ok } = await this.#core.submit({ op: Op.UNLOCK, name: this.name, token: this.token }, this.#deadlineMs)
    if (!ok) {
      this.lose('it had been expired before the release committed')
      throw this.#lost
    }
    this.lose('released')
  }
}
