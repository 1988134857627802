/**
 * The model layer's errors: {@link ModelNameError}, {@link QuorumError}, {@link TimeoutError}.
 */
import { describeReceivers, ErrorCode, GlueError, type MissingReceiver } from '../errors'

/** Shared by every layer that waits (model, topics, consensus); kept here for the model layer's importers. */
export { TimeoutError } from '../errors'

/** A replicated object's name, or a key, breaks the rules (the message says which and why). */
export class ModelNameError extends GlueError {
  /** The name or key as given. */
  readonly value: unknown

  constructor(message: string, value: unknown) {
    super(ErrorCode.MODEL_NAME, message)
    this.value = value
  }
}

/**
 * A quorum write did not reach its quorum: fewer endpoints than asked for held the change within `deadlineMs`
 * (`missing` lists the members up that did not), or the quorum asked for is larger than the membership (then it is
 * thrown at the call and nothing is written). A write that missed its deadline stays written here and still spreads.
 */
export class QuorumError extends GlueError {
  /** Endpoints asked for, this one included. */
  readonly required: number
  /** Endpoints that held the change, this one included. */
  readonly acknowledged: number
  /** Members up that did not hold it in time. */
  readonly missing: readonly MissingReceiver[]

  constructor(message: string, required: number, acknowledged: number, missing: readonly MissingReceiver[]) {
    super(ErrorCode.QUORUM, message)
    this.required = required
    this.acknowledged = acknowledged
    this.missing = missing
  }

  /** The error of a quorum write whose deadline passed. */
  static missed(required: number, acknowledged: number, missing: readonly MissingReceiver[], ms: number): QuorumError {
    const who = missing.length > 0 ? `; missing: ${describeReceivers(missing)}` : ''
    const message = `quorum of ${required} not reached within ${ms} ms: ${acknowledged} endpoints hold the change${who}`
    return new QuorumError(message, required, acknowledged, missing)
  }
}

