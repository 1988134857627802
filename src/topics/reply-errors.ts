/**
 * The errors of request/reply: {@link ReplyError} (the replier answered with an error) and {@link NoResponderError}
 * (no replier known). A request that a known replier did not answer in time rejects with the model layer's
 * `TimeoutError` (code `ERR_GLUE_TIMEOUT`), naming the repliers still waited for.
 */
import { ErrorCode, GlueError, type MissingReceiver } from '../errors'
import { describeValue } from './errors'

/**
 * A replier answered a request with an error: its handler threw (or rejected), or it refused the request because
 * its concurrency bound and queue were full (`busy`). Code `ERR_GLUE_REPLY`.
 */
export class ReplyError extends GlueError {
  /** The request's topic. */
  readonly topic: string
  /** The replier's error message as it sent it (for a busy replier: why it refused). */
  readonly remoteMessage: string
  /** The replying endpoint (ID and name). */
  readonly peer: MissingReceiver
  /** True when the replier refused the request as busy (its handler did not run). */
  readonly busy: boolean

  constructor(topic: string, remoteMessage: string, peer: MissingReceiver, busy = false) {
    const who = peer.name ? `${peer.name} (${peer.id})` : peer.id
    const what = busy ? 'refused the request as busy' : 'failed'
    super(ErrorCode.REPLY, `replier ${who} on topic ${describeValue(topic)} ${what}: ${remoteMessage}`)
    this.topic = topic
    this.remoteMessage = remoteMessage
    this.peer = peer
    this.busy = busy
  }
}

/**
 * No replier is known for the request's topic: none on this endpoint, and no peer advertises one whose filter may
 * match (or every one asked had none after all, or went down). Code `ERR_GLUE_NO_RESPONDER`.
 */
export class NoResponderError extends GlueError {
  /** The request's topic. */
  readonly topic: string

  constructor(topic: string, detail = '') {
    super(ErrorCode.NO_RESPONDER, `no replier for topic ${describeValue(topic)}${detail ? `: ${detail}` : ''}`)
    this.topic = topic
  }
}
