/**
 * What a consensus group's log holds: each normal Raft entry is a **batch** of commands (all those proposed in one
 * run of application code), a MessagePack array of arrays. Every command starts with the proposing client's session (its
 * `client` string, the command's `seq`uence number, and `low`: every seq below it is settled for that client) so
 * that a command proposed twice (a retry after a leader change) takes effect once.
 *
 * ```text
 * batch   = [ command, ... ]
 * command = [ op, client, seq, low, ...args ]
 *   1 PUT     key, value(bin)
 *   2 DELETE  key
 *   3 CAS     key, expected(bin | nil: absent), next(bin | nil: delete)
 *   4 LOCK    name, ttlMs, holderName
 *   5 RENEW   name, token
 *   6 UNLOCK  name, token
 *   7 EXPIRE  name, token, renewals          (proposed by the leader when a lease ran out)
 *   8 USER    data(bin)                      (g.propose)
 *   9 MEMBER  raftId, name, add(bool)        (names a member; the leader then proposes the Raft conf change)
 * ```
 */
import { Packr } from 'msgpackr'

/** Command op codes. */
export const Op = { PUT: 1, DELETE: 2, CAS: 3, LOCK: 4, RENEW: 5, UNLOCK: 6, EXPIRE: 7, USER: 8, MEMBER: 9 } as const

/** A decoded command. */
export type Command =
  | { op: 1; session: Session; key: string; value: Buffer }
  | { op: 2; session: Session; key: string }
  | { op: 3; session: Session; key: string; expected: Buffer | null; next: Buffer | null }
  | { op: 4; session: Session; name: string; ttlMs: number; holderName: string }
  | { op: 5; session: Session; name: string; token: number }
  | { op: 6; session: Session; name: string; token: number }
  | { op: 7; session: Session; name: string; token: number; renewals: number }
  | { op: 8; session: Session; data: Buffer }
  | { op: 9; session: Session; raftId: string; name: string; add: boolean }

/** Who proposed a command. */
export interface Session {
  client: string
  seq: number
  low: number
}

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: false, variableMapSize: true })

/** Encodes one command (as an array, ready to go into a batch). */
export function commandArray(c: Command): unknown[] {
  const { client, seq, low } = c.session
  switch (c.op) {
    case Op.PUT:
      return [c.op, client, seq, low, c.key, c.value]
    case Op.DELETE:
      return [c.op, client, seq, low, c.key]
    case Op.CAS:
      return [c.op, client, seq, low, c.key, c.expected, c.next]
    case Op.LOCK:
      return [c.op, client, seq, low, c.name, c.ttlMs, c.holderName]
    case Op.RENEW:
    case Op.UNLOCK:
      return [c.op, client, seq, low, c.name, c.token]
    case Op.EXPIRE:
      return [c.op, client, seq, low, c.name, c.token, c.renewals]
    case Op.USER:
      return [c.op, client, seq, low, c.data]
    case Op.MEMBER:
      return [c.op, client, seq, low, c.raftId, c.name, c.add]
  }
}

/** Encodes a batch of commands (arrays from {@link commandArray}). */
export const encodeBatch = (commands: readonly unknown[][]): Buffer => packr.pack(commands)

/** The commands of a batch; the malformed ones are skipped (every member skips the same ones) and counted in `bad`. */
export function decodeBatch(data: Uint8Array, bad: { count: number }): Command[] {
  let raw: unknown
  try {
    raw = packr.unpack(data)
  } catch {
    bad.count++
    return []
  }
  if (!Array.isArray(raw)) {
    bad.count++
    return []
  }
  const out: Command[] = []
  for (const item of raw) {
    const c = toCommand(item)
    if (c === undefined) bad.count++
    else out.push(c)
  }
  return out
}

/** True when a batch decodes to an array (what a leader checks before proposing what a member forwarded). */
export function isBatch(data: Uint8Array): boolean {
  try {
    return Array.isArray(packr.unpack(data))
  } catch {
    return false
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string'
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isBin = (v: unknown): v is Buffer => v instanceof Uint8Array
const binOrNull = (v: unknown): v is Buffer | null => v === null || isBin(v)
const buf = (v: Uint8Array): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength))

function toCommand(item: unknown): Command | undefined {
  if (!Array.isArray(item) || item.length < 4) return undefined
  const [op, client, seq, low] = item
  if (!isStr(client) || !isNat(seq) || !isNat(low)) return undefined
  const session = { client, seq, low }
  const a = item.length === 5 ? [item[4]] : item.length === 6 ? [item[4], item[5]] : item.slice(4)
  switch (op) {
    case Op.PUT:
      return a.length === 2 && isStr(a[0]) && isBin(a[1]) ? { op, session, key: a[0], value: buf(a[1]) } : undefined
    case Op.DELETE:
      return a.length === 1 && isStr(a[0]) ? { op, session, key: a[0] } : undefined
    case Op.CAS:
      return a.length === 3 && isStr(a[0]) && binOrNull(a[1]) && binOrNull(a[2])
        ? { op, session, key: a[0], expected: a[1] && buf(a[1]), next: a[2] && buf(a[2]) }
        : undefined
    case Op.LOCK:
      return a.length === 3 && isStr(a[0]) && isNat(a[1]) && isStr(a[2]) ? { op, session, name: a[0], ttlMs: a[1], holderName: a[2] } : undefined
    case Op.RENEW:
    case Op.UNLOCK:
      return a.length === 2 && isStr(a[0]) && isNat(a[1]) ? { op, session, name: a[0], token: a[1] } : undefined
    case Op.EXPIRE:
      return a.length === 3 && isStr(a[0]) && isNat(a[1]) && isNat(a[2]) ? { op, session, name: a[0], token: a[1], renewals: a[2] } : undefined
    case Op.USER:
      return a.length === 1 && isBin(a[0]) ? { op, session, data: buf(a[0]) } : undefined
    case Op.MEMBER:
      return a.length === 3 && isStr(a[0]) && /^[0-9a-f]{16}$/.test(a[0]) && isStr(a[1]) && typeof a[2] === 'boolean'
        ? { op, session, raftId: a[0], name: a[1], add: a[2] }
        : undefined
    default:
      return undefined
  }
}

/** MessagePack with the batch settings (the state machine's snapshots use it too). */
export const pack = (value: unknown): Buffer => packr.pack(value)
/** See {@link pack}. */
export const unpack = (data: Uint8Array): unknown => packr.unpack(data)
