/**
 * Identities in a consensus group. Raft needs a u64 per member that stays the same across restarts: a member given
 * as an endpoint ID (16 hex digits) uses that ID; a member given by name uses the first 8 bytes of
 * SHA-256("glue-consensus-member\0" + name) (never 0), so that a restarted endpoint with the same name (and a new
 * random endpoint ID) is the same member. The group ID is the first 8 bytes of SHA-256("glue-consensus-group\0" +
 * name + "\0" + the members' raft IDs, sorted, comma-separated): it identifies the group on the wire, so that
 * endpoints that opened one name with different member lists never mix.
 */
import { createHash } from 'node:crypto'

const ENDPOINT_ID = /^[0-9a-fA-F]{16}$/

/** True when `member` is written as an endpoint ID (16 hex digits). */
export const isEndpointId = (member: string): boolean => ENDPOINT_ID.test(member)

/** A member's raft ID, 16 hex digits (see the module doc). */
export function raftIdOf(member: string): string {
  if (isEndpointId(member)) return member.toLowerCase()
  const id = createHash('sha256').update(`glue-consensus-member\0${member}`).digest().subarray(0, 8).toString('hex')
  return id === '0000000000000000' ? '0000000000000001' : id
}

/** The group ID of `name` founded by `members`, 16 hex digits (see the module doc). */
export function groupIdOf(name: string, members: readonly string[]): string {
  const ids = members.map(raftIdOf).sort().join(',')
  return createHash('sha256').update(`glue-consensus-group\0${name}\0${ids}`).digest().subarray(0, 8).toString('hex')
}
