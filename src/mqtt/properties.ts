/**
 * The MQTT 5 properties the bridge puts on what it publishes (see `loop-marker.ts`), made once per codec and type,
 * and the pass-through codecs it publishes into glue with (payloads pass unchanged under their codec id).
 */
import { builtInCodec, type Codec, rawCodec } from '../topics/codec'
import { encodeProperties } from './publish-batch'
import { CODEC_PROPERTY, codecProperty, contentType, NETWORK_PROPERTY, TYPE_PROPERTY } from './loop-marker'

/** The publish properties by codec and type; undefined when none is needed. */
export class PublishProperties {
  readonly #marker: string
  readonly #cache = new Map<string, Record<string, unknown> | undefined>()
  readonly #blocks = new Map<string, Buffer>()
  #marked = false

  constructor(marker: string) {
    this.#marker = marker
  }

  /**
   * Mark publications with the network (`glue-network`): needed while another bridge of the network is live; a
   * bridge alone is kept from its own publications by No Local.
   */
  set marked(marked: boolean) {
    if (marked === this.#marked) return
    this.#marked = marked
    this.#cache.clear()
    this.#blocks.clear()
  }

  /** The same properties as an encoded MQTT 5 properties block (for the QoS 0 batch, `publish-batch.ts`). */
  block(codec: number, type: string): Buffer {
    const key = `${codec}\n${type}`
    let block = this.#blocks.get(key)
    if (block === undefined) {
      block = encodeProperties(this.get(codec, type))
      this.#blocks.set(key, block)
    }
    return block
  }

  /** The properties of a publication with this codec id and type name ('' untyped). */
  get(codec: number, type: string): Record<string, unknown> | undefined {
    const key = `${codec}\n${type}`
    if (this.#cache.has(key)) return this.#cache.get(key)
    // Raw and untyped are the defaults on the way back: unmarked, such a publication carries no property at all.
    const user: Record<string, string> = {}
    if (this.#marked) user[NETWORK_PROPERTY] = this.#marker
    if (codec !== 0) user[CODEC_PROPERTY] = codecProperty(codec)
    if (type !== '') user[TYPE_PROPERTY] = type
    const fields: Record<string, unknown> = {}
    if (Object.keys(user).length > 0) fields.userProperties = user
    const content = contentType(codec)
    if (content !== undefined) fields.contentType = content
    const properties = Object.keys(fields).length === 0 ? undefined : fields
    this.#cache.set(key, properties)
    return properties
  }
}

const passThrough = new Map<number, Codec<never, unknown>>()

/** A codec that publishes bytes as they are under codec id `id` (decoding as the built-in codec of the id would). */
export function passThroughCodec(id: number): Codec<never, unknown> {
  let codec = passThrough.get(id)
  if (codec === undefined) {
    const builtIn = builtInCodec(id)
    const decode = (builtIn ?? rawCodec).decode
    codec = { name: builtIn?.name ?? `custom-${id}`, id, encode: (bytes: Uint8Array) => bytes, decode } as Codec<never, unknown>
    passThrough.set(id, codec)
  }
  return codec
}
