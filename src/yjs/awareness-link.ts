/**
 * The awareness side of a provider: publishes our own client's state when it changes (or y-protocols renews it,
 * every 15 s), greets providers we first hear from with it, applies what others announce, removes the states of a
 * peer that goes down, and on destroy marks our state removed and says so. Only our own client's state is ever sent:
 * every provider speaks for itself, so nothing echoes around the mesh. y-protocols' timeout semantics stay as they
 * are (a remote state not renewed for 30 s is removed).
 */
import type { PublishOptions } from '../topics/options'
import { AwarenessPeers, parseAwarenessUpdate } from './awareness-peers'
import type { Awareness, AwarenessModule } from './deps'
import type { GlueYjsProviderStats } from './options'
import type { Outbox } from './outbox'

const BEST_EFFORT: PublishOptions = { reliable: false }

/** What the link needs from its provider. */
export interface AwarenessLinkHooks {
  /** The topic of awareness changes (to every provider). */
  readonly topic: string
  /** How inbox messages to one peer are published: its topic and options. */
  readonly inbox: (peerId: string) => { topic: string; options: PublishOptions }
  /** The origin that marks changes applied from the network. */
  readonly origin: unknown
  /** Reports an exception thrown by an application listener (rethrown later). */
  readonly onListenerError: (err: unknown) => void
}

/** Awareness over glue for one provider. */
export class AwarenessLink {
  /** The awareness carried. */
  readonly awareness: Awareness
  readonly #protocol: AwarenessModule
  readonly #outbox: Outbox
  readonly #counts: GlueYjsProviderStats
  readonly #hooks: AwarenessLinkHooks
  readonly #peers = new AwarenessPeers()
  #ended = false

  /** `protocol` is y-protocols/awareness (the build of the provider's document). */
  constructor(
    awareness: Awareness,
    protocol: AwarenessModule,
    outbox: Outbox,
    counts: GlueYjsProviderStats,
    hooks: AwarenessLinkHooks,
  ) {
    this.awareness = awareness
    this.#protocol = protocol
    this.#outbox = outbox
    this.#counts = counts
    this.#hooks = hooks
    awareness.on('update', this.#onUpdate)
  }

  /** Announces our state to every provider (at start). */
  announce(): void {
    this.#send(this.#hooks.topic, BEST_EFFORT)
  }

  /** Sends our state to one peer's inbox (a provider we just heard from). */
  greet(peerId: string): void {
    const { topic, options } = this.#hooks.inbox(peerId)
    this.#send(topic, options)
  }

  /**
   * Applies an awareness update from `from`. Returns false, applying nothing, when it is malformed; `heard` runs
   * before it is applied.
   */
  receive(from: string, update: Uint8Array, heard: () => void): boolean {
    let clients: number[]
    try {
      clients = parseAwarenessUpdate(update).map((entry) => entry.clientID)
    } catch {
      return false
    }
    this.#counts.awarenessReceived++
    heard()
    const own = this.awareness.clientID
    this.#peers.note(
      from,
      clients.filter((id) => id !== own),
    )
    try {
      this.#protocol.applyAwarenessUpdate(this.awareness, update, this.#hooks.origin)
    } catch (err) {
      this.#hooks.onListenerError(err) // well formed: a 'change' listener threw
    }
    return true
  }

  /** `peerId` went down: removes the states it announced (and their clocks, so that they are accepted again). */
  peerDown(peerId: string): void {
    const clients = this.#peers.remove(peerId)
    if (clients.length === 0) return
    const awareness = this.awareness
    try {
      const present = clients.filter((id) => awareness.states.has(id))
      if (present.length > 0) this.#protocol.removeAwarenessStates(awareness, present, this.#hooks.origin)
    } catch (err) {
      this.#hooks.onListenerError(err)
    } finally {
      for (const id of clients) awareness.meta.delete(id)
    }
  }

  /**
   * Stops: marks our state removed and publishes that reliably (when the endpoint is open), and destroys the
   * awareness when `owned`. Idempotent.
   */
  end(owned: boolean): void {
    if (this.#ended) return
    this.#ended = true
    const awareness = this.awareness
    awareness.off('update', this.#onUpdate)
    if (awareness.getLocalState() !== null) {
      try {
        this.#protocol.removeAwarenessStates(awareness, [awareness.clientID], this.#hooks.origin)
      } catch (err) {
        this.#hooks.onListenerError(err)
      }
      this.#send(this.#hooks.topic, { reliable: true })
    }
    if (owned) awareness.destroy()
  }

  readonly #onUpdate = (changes: { added: number[]; updated: number[]; removed: number[] }): void => {
    const own = this.awareness.clientID
    const { added, updated, removed } = changes
    if (this.#ended || !(added.includes(own) || updated.includes(own) || removed.includes(own))) return
    this.#send(this.#hooks.topic, BEST_EFFORT)
  }

  #send(topic: string, options: PublishOptions): void {
    const awareness = this.awareness
    if (!awareness.meta.has(awareness.clientID)) return
    const update = this.#protocol.encodeAwarenessUpdate(awareness, [awareness.clientID])
    void this.#outbox.publish(topic, { kind: 'awareness', update }, options, 'awarenessSent')
  }
}
