/**
 * The flat form of a Raft ready (`NativeRaftGroup.readyBytes()`, laid out in crates/glue-node/src/raft_flat.rs):
 * one Buffer instead of objects built through N-API, decoded here into the {@link NativeRaftReady} the group
 * handles. Messages and read contexts are views into it; entry data is copied, so that what the state machine keeps
 * of an entry does not hold the whole ready.
 */
import type { NativeCommitted, NativeRaftReady, NativeRaftStatus } from './native'

const WANTS_SNAPSHOT = 1
const HAS_SNAPSHOT = 2
const STATUS_CHANGED = 4
const CHANGE_KINDS = ['', 'add-voter', 'remove-voter', 'add-learner'] as const

/** Decodes a flat ready; `status` is called when the status changed (it is the core's status at that moment). */
export function decodeReady(b: Buffer, status: () => NativeRaftStatus): NativeRaftReady {
  let at = 0
  const u32 = (): number => {
    const v = b.readUInt32LE(at)
    at += 4
    return v
  }
  const f64 = (): number => {
    const v = b.readDoubleLE(at)
    at += 8
    return v
  }
  const id = (): string => {
    const v = b.toString('hex', at, at + 8)
    at += 8
    return v
  }
  const bytes = (): Buffer => {
    const n = u32()
    const v = b.subarray(at, at + n)
    at += n
    return v
  }
  const flags = b[at++] as number
  const messages: NativeRaftReady['messages'] = []
  for (let n = u32(); n > 0; n--) messages.push({ to: id(), data: bytes() })
  const committed: NativeCommitted[] = []
  for (let n = u32(); n > 0; n--) {
    const index = f64()
    const term = f64()
    const kind = b[at++] === 1 ? 'conf-change' : 'normal'
    const change = b[at++] as number
    const entry: NativeCommitted = { index, term, kind, data: Buffer.alloc(0) }
    if (change !== 0) entry.change = { kind: CHANGE_KINDS[change] ?? '', id: id() }
    entry.data = Buffer.from(bytes())
    committed.push(entry)
  }
  let snapshot: NativeRaftReady['snapshot'] = null
  if ((flags & HAS_SNAPSHOT) !== 0) snapshot = { index: f64(), term: f64(), data: bytes() }
  const readStates: NativeRaftReady['readStates'] = []
  for (let n = u32(); n > 0; n--) readStates.push({ index: f64(), ctx: bytes() })
  return {
    messages,
    committed,
    snapshot,
    readStates,
    status: (flags & STATUS_CHANGED) !== 0 ? status() : null,
    wantsSnapshot: (flags & WANTS_SNAPSHOT) !== 0 ? true : undefined,
  }
}
