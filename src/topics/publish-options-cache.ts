/**
 * `publish()` is usually called again and again with the same options object: the last one given is remembered with
 * the values it held and what they resolved to, and validated again only when it is another object or one of its
 * fields changed since.
 */
import { type PublishOptions, type ResolvedPublishOptions, resolvePublishOptions } from './options'

/** See the module doc. */
export class PublishOptionsCache {
  #defaults: ResolvedPublishOptions | undefined
  #given: PublishOptions | undefined
  #resolved: ResolvedPublishOptions | undefined
  // The fields of `#given` as they were when resolved.
  #type: unknown
  #codec: unknown
  #reliable: unknown
  #depth: unknown
  #retain: unknown
  #lifespanMs: unknown
  #deadlineMs: unknown

  /** What `resolvePublishOptions(options)` returns (do not modify it); throws as it does. */
  resolve(options: PublishOptions | undefined): ResolvedPublishOptions {
    if (options === undefined) return (this.#defaults ??= resolvePublishOptions(undefined))
    if (options === this.#given && this.#unchanged(options)) return this.#resolved as ResolvedPublishOptions
    const resolved = resolvePublishOptions(options)
    this.#given = options
    this.#resolved = resolved
    this.#type = options.type
    this.#codec = options.codec
    this.#reliable = options.reliable
    this.#depth = options.depth
    this.#retain = options.retain
    this.#lifespanMs = options.lifespanMs
    this.#deadlineMs = options.deadlineMs
    return resolved
  }

  #unchanged(o: PublishOptions): boolean {
    return (
      o.type === this.#type &&
      o.codec === this.#codec &&
      o.reliable === this.#reliable &&
      o.depth === this.#depth &&
      o.retain === this.#retain &&
      o.lifespanMs === this.#lifespanMs &&
      o.deadlineMs === this.#deadlineMs
    )
  }
}
