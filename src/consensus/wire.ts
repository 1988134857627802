/**
 * Consensus messages between the members of a group: Raft messages and forwarded proposals to one member are reliable
 * DIRECT messages of the topic layer on channel `$glue/consensus/<name>`; HELLO, to every member, is a reliable
 * publication on the reserved topic `$glue/consensus/<name>/all`.
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
 * kind 3 HELLO:   body = flags (1 byte: bit 0 = joining, i.e. the sender does not know the group ID yet;
 *                 bit 1 = an answer to a HELLO, sent to its sender alone as a DIRECT message, not answered)
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

/** The reserved names of group `name`: its DIRECT channel and the topic every member subscribes to. */
export function groupTopics(name: string): { direct: string; all: string } {
  const base = `$glue/consensus/${name}`
  return { direct: base, all: `${base}/all` }
}
