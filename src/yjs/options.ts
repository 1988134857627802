/**
 * The public types of `GlueYjsProvider` beside the class: its options (and their validation), its events and its
 * counters.
 */
import { InvalidOptionError } from '../errors'
import type { Awareness, Doc } from './deps'

/** Options of `new GlueYjsProvider(endpoint, name, doc, options)`. */
export interface GlueYjsProviderOptions {
  /**
   * The awareness (presence) instance to carry, bound to the same document; `false` for none. Default: a new
   * `Awareness(doc)`, owned (destroyed) by the provider, as y-websocket does.
   */
  awareness?: Awareness | false
  /**
   * Every this many ms the provider sends its state vector (sync step 1) to every provider of the document, and
   * the others answer with what it lacks: a safety net beside the resync when a peer comes up (partitions too short
   * for the peers to notice, lost messages). 0 turns it off. Default 5000.
   */
  resyncIntervalMs?: number
  /**
   * After a step 1 of ours is acknowledged, how long to wait for an answer before concluding that no peer holds the
   * document and counting as synced anyway, ms. Default 1000.
   */
  syncTimeoutMs?: number
}

/** The options validated, with defaults. */
export interface ResolvedProviderOptions {
  /** The awareness to use; null for none. */
  awareness: Awareness | null
  /** True when the provider created the awareness (and destroys it). */
  ownsAwareness: boolean
  resyncIntervalMs: number
  syncTimeoutMs: number
}

/** The `status` event: whether at least one other provider of the document is known to be up. */
export interface GlueYjsStatusEvent {
  status: 'connected' | 'disconnected'
}

/** The provider's events and their listeners. */
export interface GlueYjsProviderEvents {
  /** The document is synced (see `GlueYjsProvider.synced`); emitted once. */
  synced: (synced: true) => void
  /** The first other provider was heard from, or the last one went down. */
  status: (event: GlueYjsStatusEvent) => void
}

/** The provider's counters (they only grow). */
export interface GlueYjsProviderStats {
  /** Update publications sent (local updates of one tick are merged into one). */
  updatesSent: number
  /** Updates received from other providers and applied. */
  updatesReceived: number
  /** Sync step 1 messages sent (start, new peers, resync rounds). */
  syncStep1Sent: number
  /** Sync step 1 messages received (each one answered by a step 2). */
  syncStep1Received: number
  /** Sync step 2 answers sent. */
  syncStep2Sent: number
  /** Sync step 2 answers received and applied. */
  syncStep2Received: number
  /** Awareness updates sent. */
  awarenessSent: number
  /** Awareness updates received and applied. */
  awarenessReceived: number
  /** Messages from the network that did not decode, or arrived on a topic that does not carry their kind: dropped. */
  malformed: number
  /** Publications that glue refused or could not deliver (send queue full, peer gone, too large, ...). */
  sendFailures: number
}

function bad(option: string, value: unknown, expected: string): InvalidOptionError {
  return new InvalidOptionError(`Invalid option ${option}: ${String(value)} (expected ${expected})`, { option, value })
}

function milliseconds(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const max = 2 ** 31 - 1
  if (typeof value !== 'number' || !Number.isInteger(value) || !(value === 0 || (value >= min && value <= max))) {
    throw bad(option, value, `0 or an integer ${min}..${max}`)
  }
  return value
}

/**
 * Validates the options; creates the default awareness (with `AwarenessClass`, so that this module needs no runtime
 * import of y-protocols). Throws InvalidOptionError.
 */
export function resolveProviderOptions(
  doc: Doc,
  options: GlueYjsProviderOptions | undefined,
  AwarenessClass: new (doc: Doc) => Awareness,
): ResolvedProviderOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw bad('options', options, 'an object')
  }
  const o = options ?? {}
  const resyncIntervalMs = milliseconds('resyncIntervalMs', o.resyncIntervalMs, 5000, 10)
  const syncTimeoutMs = milliseconds('syncTimeoutMs', o.syncTimeoutMs, 1000, 1)
  const given = o.awareness
  const timing = { resyncIntervalMs, syncTimeoutMs }
  if (given === false) return { awareness: null, ownsAwareness: false, ...timing }
  if (given === undefined) return { awareness: new AwarenessClass(doc), ownsAwareness: true, ...timing }
  const shaped = typeof given === 'object' && given !== null && typeof given.on === 'function'
  if (!shaped || !(given.states instanceof Map)) {
    throw bad('awareness', given, 'an Awareness of y-protocols/awareness, or false')
  }
  if (given.doc !== doc) throw bad('awareness', given, 'an Awareness of the same Y.Doc')
  return { awareness: given, ownsAwareness: false, ...timing }
}

/** Counters all zero. */
export function zeroProviderStats(): GlueYjsProviderStats {
  return {
    updatesSent: 0,
    updatesReceived: 0,
    syncStep1Sent: 0,
    syncStep1Received: 0,
    syncStep2Sent: 0,
    syncStep2Received: 0,
    awarenessSent: 0,
    awarenessReceived: 0,
    malformed: 0,
    sendFailures: 0,
  }
}
