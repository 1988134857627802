/**
 * How bridges recognise what they (or another bridge of the same glue network) put somewhere, so that nothing loops.
 *
 * - **MQTT side (MQTT 5).** While another bridge of the same glue network is live, what a bridge publishes carries
 *   the user property `glue-network` = the network's marker (8 hex digits);
 *   every bridge of that network skips messages that carry its own marker (and subscribes with No Local, so the
 *   broker does not even send a bridge its own publications back). Codec and type travel as `glue-codec` and
 *   `glue-type` (each only when not the default: raw, untyped); the codec also as the standard Content Type
 *   (`application/json`, `application/msgpack`).
 * - **MQTT side (3.1.1).** No properties: the bridge remembers what it published on each topic (bounded,
 *   {@link EchoFilter}) and skips the same payload when the broker echoes it back.
 * - **glue side.** A bridge's own publications into glue reach its own subscriptions synchronously inside
 *   `publish()`, which the bridge flags; other bridges' publications are recognised by publisher (see
 *   `work-split.ts`: what an endpoint that runs a bridge publishes is forwarded only by that bridge).
 */
import { CodecId } from '../topics/codec'
import type { Endpoint } from '../endpoint'

/** MQTT 5 user property: the glue network a message came from. */
export const NETWORK_PROPERTY = 'glue-network'
/** MQTT 5 user property: the glue codec (`raw`, `json`, `msgpack` or a custom id 128..255). */
export const CODEC_PROPERTY = 'glue-codec'
/** MQTT 5 user property: the glue type name (absent for untyped). */
export const TYPE_PROPERTY = 'glue-type'

/**
 * The default marker of the endpoint's glue network: equal on every endpoint of one network (network ID and
 * discovery target), short (8 hex digits of a hash: it travels in every message).
 */
export function defaultNetworkMarker(endpoint: Endpoint): string {
  const text = `${endpoint.config.networkId}@${endpoint.config.discoveryTarget}`
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

const CODEC_NAMES = ['raw', 'json', 'msgpack']
const CONTENT_TYPES: Record<number, string> = { [CodecId.JSON]: 'application/json', [CodecId.MSGPACK]: 'application/msgpack' }

/** The `glue-codec` value of a codec id. */
export function codecProperty(id: number): string {
  return CODEC_NAMES[id] ?? String(id)
}

/** The MQTT 5 Content Type of a codec id (undefined for raw and custom codecs). */
export function contentType(id: number): string | undefined {
  return CONTENT_TYPES[id]
}

/**
 * The codec id of a message from MQTT: its `glue-codec` property, else its Content Type (JSON, MessagePack), else
 * raw. Undefined for a `glue-codec` that names no codec (dropped, counted).
 */
export function codecOf(property: string | undefined, type: string | undefined): number | undefined {
  if (property !== undefined) {
    const named = CODEC_NAMES.indexOf(property)
    if (named >= 0) return named
    const id = Number(property)
    return Number.isInteger(id) && id >= 128 && id <= 255 ? id : undefined
  }
  if (type === 'application/json') return CodecId.JSON
  if (type === 'application/msgpack') return CodecId.MSGPACK
  return CodecId.RAW
}

/** One user property value (MQTT allows repeated names; the first counts). */
export function userProperty(properties: Record<string, string | string[]> | undefined, name: string): string | undefined {
  const value = properties?.[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * MQTT 3.1.1 echo suppression: the payloads this bridge published per topic, oldest first, at most `limit` in all;
 * `take()` removes and reports a match when the broker hands the same payload back.
 */
export class EchoFilter {
  readonly #pending = new Map<string, Buffer[]>()
  #size = 0

  constructor(readonly limit = 10_000) {}

  /** Remembers a publication on `topic` (forgetting everything when full: then echoes may pass once). */
  add(topic: string, payload: Buffer): void {
    if (this.#size >= this.limit) {
      this.#pending.clear()
      this.#size = 0
    }
    const list = this.#pending.get(topic)
    payload = Buffer.from(payload) // a copy: glue payloads are views into received buffers
    if (list === undefined) this.#pending.set(topic, [payload])
    else list.push(payload)
    this.#size++
  }

  /** True (and forgotten) when `payload` on `topic` is one this bridge published and has not seen back yet. */
  take(topic: string, payload: Buffer): boolean {
    const list = this.#pending.get(topic)
    if (list === undefined) return false
    const i = list.findIndex((p) => p.equals(payload))
    if (i < 0) return false
    list.splice(i, 1)
    if (list.length === 0) this.#pending.delete(topic)
    this.#size--
    return true
  }
}
