/**
 * The topic layer's {@link Reader} with one more field type for the model layer: bytes read as a Latin-1 string
 * (one char per byte, how entries keep their values), taken straight from the message without a view of it.
 */
import { Reader } from '../topics/wire-io'
import { latin1Slice } from './latin1'

/** See the module doc. */
export class ModelReader extends Reader {
  readonly #source: Uint8Array

  constructor(data: Uint8Array) {
    super(data)
    this.#source = data
  }

  /** `length` bytes as a Latin-1 string (a copy); throws TopicWireError when the message is shorter. */
  latin1(length: number, field: string): string {
    const at = this.offset
    if (length > this.remaining) this.bytes(length, field) // throws
    this.offset = at + length
    return latin1Slice.call(this.#source, at, at + length)
  }
}
