/**
 * The messages GlueYjsProvider exchanges, in the layout of y-websocket (y-protocols' sync and awareness messages
 * behind a message type), so that any y-protocols decoder reads them:
 *
 * ```text
 * message    = varUint(messageType) body
 * messageType 0, sync:      varUint(syncType) varUint8Array(payload)
 *   syncType 0, step 1:     payload = Y.encodeStateVector(doc)               "here is what I have"
 *   syncType 1, step 2:     payload = Y.encodeStateAsUpdate(doc, their SV)   "here is what you lack"
 *   syncType 2, update:     payload = a Yjs update (v1 encoding)             a live change
 * messageType 1, awareness: varUint8Array(awarenessProtocol.encodeAwarenessUpdate(awareness, clients))
 * ```
 *
 * varUint and varUint8Array are lib0's (see `bytes.ts`). A message must end where its body ends: trailing bytes make
 * it malformed.
 */
import { ByteReader, ByteWriter, MalformedError } from './bytes'

/** y-websocket's message types. */
const MESSAGE_SYNC = 0
const MESSAGE_AWARENESS = 1

/** y-protocols/sync's message types. */
const SYNC_STEP_1 = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

/** One decoded message: its kind and its payload (a view into the received bytes). */
export type YjsMessage =
  | { readonly kind: 'step1'; readonly stateVector: Uint8Array }
  | { readonly kind: 'step2'; readonly update: Uint8Array }
  | { readonly kind: 'update'; readonly update: Uint8Array }
  | { readonly kind: 'awareness'; readonly update: Uint8Array }

/** The kinds of message. */
export type YjsMessageKind = YjsMessage['kind']

/** Encodes a message (see the module doc for the layout). */
export function encodeMessage(message: YjsMessage): Uint8Array {
  const w = new ByteWriter()
  switch (message.kind) {
    case 'step1':
      return w.varUint(MESSAGE_SYNC).varUint(SYNC_STEP_1).varUint8Array(message.stateVector).toBytes()
    case 'step2':
      return w.varUint(MESSAGE_SYNC).varUint(SYNC_STEP_2).varUint8Array(message.update).toBytes()
    case 'update':
      return w.varUint(MESSAGE_SYNC).varUint(SYNC_UPDATE).varUint8Array(message.update).toBytes()
    case 'awareness':
      return w.varUint(MESSAGE_AWARENESS).varUint8Array(message.update).toBytes()
  }
}

/**
 * Decodes a message. Checks the framing only (types, lengths, no trailing bytes); the payloads are checked where they
 * are used. Throws {@link MalformedError}.
 */
export function decodeMessage(bytes: Uint8Array): YjsMessage {
  const r = new ByteReader(bytes)
  const type = r.varUint()
  let message: YjsMessage
  if (type === MESSAGE_AWARENESS) message = { kind: 'awareness', update: r.varUint8Array() }
  else if (type === MESSAGE_SYNC) {
    const syncType = r.varUint()
    const payload = r.varUint8Array()
    if (syncType === SYNC_STEP_1) message = { kind: 'step1', stateVector: payload }
    else if (syncType === SYNC_STEP_2) message = { kind: 'step2', update: payload }
    else if (syncType === SYNC_UPDATE) message = { kind: 'update', update: payload }
    else throw new MalformedError(`unknown sync message type ${syncType}`)
  } else throw new MalformedError(`unknown message type ${type}`)
  if (!r.done) throw new MalformedError('trailing bytes after the message')
  return message
}
