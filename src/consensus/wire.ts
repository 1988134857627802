/**
 * Consensus messages between the members of a group, each one reliable topic publication on a reserved topic:
 * `$glue/consensus/<name>/to/<endpoint id>` (Raft messages and forwarded proposals, to one member) and
 * `$glue/consensus/<name>/all` (HELLO, to every member).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  version = 1  |     kind      |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+        group ID (8 bytes)     +
 * |                                                               |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |   body ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * kind 1 RAFT:    body = a Raft message (tikv raft's protobuf `eraftpb.Message`)
 * kind 2 FORWARD: body = a batch of commands (see commands.ts) for the leader to propose
 * kind 3 HELLO:   body = flags (1 byte: bit 0 = joining, i.e. the sender does not know the group ID yet)
 * ```
 */

/** Message kinds. */
export const Kind = { RAFT: 1, FORWARD: 2, HELLO: 3 } as const
/** A message kind. */
export type Kind = (typeof Kind)[keyof typeof Kind]

const VERSION = 1
const HEADER = 10

/** A consensus message. */
export interface Envelope {
  kind: Kind
  /** 16 hex digits. */
  groupId: string
  body: Buffer
}

/** Encodes a message. */
export function encodeEnvelope(kind: Kind, groupId: string, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER + body.length)
  out[0] = VERSION
  out[1] = kind
  out.write(groupId, 2, 8, 'hex')
  out.set(body, HEADER)
  return out
}

/** Decodes a message; undefined when it is malformed (the caller counts it). */
export function decodeEnvelope(data: Buffer): Envelope | undefined {
  if (data.length < HEADER || data[0] !== VERSION) return undefined
  const kind = data[1]
  if (kind !== Kind.RAFT && kind !== Kind.FORWARD && kind !== Kind.HELLO) return undefined
  if (kind === Kind.HELLO && data.length !== HEADER + 1) return undefined
  return { kind, groupId: data.toString('hex', 2, HEADER), body: data.subarray(HEADER) }
}

/** The reserved topics of group `name`. */
export function groupTopics(name: string, self: string): { all: string; own: string; to: (id: string) => string } {
  const base = `$glue/consensus/${name}`
  return { all: `${base}/all`, own: `${base}/to/${self}`, to: (id) => `${base}/to/${id}` }
}
