/**
 * A checker for locks with fencing tokens: given every grant as its holder saw it — `from` when the holder learned it
 * holds the lock, `to` when it stopped trusting it or released it (undefined/Infinity: still held at the end) — it
 * checks, per lock, that
 *
 * - one token is never given to two clients,
 * - tokens strictly grow in grant order (by `from`: a later holder never gets a smaller token, so a resource that
 *   remembers the largest token refuses stale holders),
 * - no two validity intervals with different tokens overlap in time (never two holders at once). Intervals that
 *   only touch (one's `to` equals the other's `from`) do not overlap.
 *
 * Times are from one clock (record all clients in one process). Several records of one grant (same client and token)
 * are allowed, as when a holder reports each renewal.
 */

export interface LockGrant {
  readonly client: number | string
  readonly token: number | bigint
  readonly from: number
  readonly to: number | undefined
  /** The lock's name, when one check covers several locks (default: one lock). */
  readonly lock?: string
}

export type LockCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly lock: string | undefined; readonly explanation: string; readonly grants: readonly [LockGrant, LockGrant] }

/** Checks `grants` (see the module comment); the first violation found is explained. */
export function checkLocks(grants: readonly LockGrant[]): LockCheck {
  grants.forEach((g, i) => {
    if (typeof g.token !== 'number' && typeof g.token !== 'bigint') throw new TypeError(`grants[${i}]: token must be a number or bigint`)
    if (!Number.isFinite(g.from)) throw new TypeError(`grants[${i}]: from must be a finite number`)
    if (g.to !== undefined && !(g.to >= g.from)) throw new TypeError(`grants[${i}]: to must be undefined or >= from (${g.from})`)
  })
  const byLock = new Map<string | undefined, LockGrant[]>()
  for (const g of grants) {
    const list = byLock.get(g.lock)
    if (list === undefined) byLock.set(g.lock, [g])
    else list.push(g)
  }
  for (const [lock, list] of byLock) {
    const found = checkOne(list)
    if (found !== undefined) {
      const where = lock === undefined ? '' : `lock ${JSON.stringify(lock)}: `
      return { ok: false, lock, explanation: where + found.why, grants: found.grants }
    }
  }
  return { ok: true }
}

function checkOne(list: readonly LockGrant[]): { why: string; grants: [LockGrant, LockGrant] } | undefined {
  const holder = new Map<string, LockGrant>()
  for (const g of list) {
    const other = holder.get(String(g.token))
    if (other !== undefined && other.client !== g.client) return { why: `token ${g.token} was given to two clients: ${show(other)} and ${show(g)}`, grants: [other, g] }
    holder.set(String(g.token), g)
  }
  const sorted = [...list].sort((a, b) => a.from - b.from || compareTokens(a.token, b.token))
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]]
    if (compareTokens(b.token, a.token) < 0) return { why: `tokens went down: ${show(b)} was granted after ${show(a)}`, grants: [a, b] }
  }
  // The two earlier grants with the latest ends and different tokens: one of them is the latest-ending grant whose
  // token differs from the current one's.
  let first: LockGrant | undefined
  let second: LockGrant | undefined
  for (const g of sorted) {
    const rival = first !== undefined && first.token !== g.token ? first : second
    if (rival !== undefined && end(rival) > g.from) return { why: `two holders at once: ${show(rival)} and ${show(g)} overlap`, grants: [rival, g] }
    if (first === undefined || end(g) > end(first)) {
      if (first !== undefined && first.token !== g.token) second = first
      first = g
    } else if (g.token !== first.token && (second === undefined || end(g) > end(second))) {
      second = g
    }
  }
  return undefined
}

const end = (g: LockGrant): number => g.to ?? Infinity

function compareTokens(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function show(g: LockGrant): string {
  return `client ${String(g.client)} token ${g.token} [${g.from.toFixed(3)}, ${g.to === undefined || g.to === Infinity ? '...' : g.to.toFixed(3)}]`
}
