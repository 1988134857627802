/**
 * GlueYjsProvider: keeps a Y.Doc in sync with the providers of the same document name on other glue endpoints, in
 * the shape of y-websocket's provider, over glue topics only (see `topics.ts` for the names, `messages.ts` for the
 * payloads, `sync-state.ts` for what "synced" means).
 *
 * - Local updates (every `doc.on('update')` not applied by this provider) of one tick are merged into one reliable
 *   publication on the update topic.
 * - Sync step 1 (our state vector) goes to every provider at start and every `resyncIntervalMs`, and to one peer's
 *   inbox when it comes up (peer-up, e.g. when a partition heals), when its interests change while it is not yet a
 *   known provider (peer-changed: it may have just subscribed), or when we first hear from it. Every step 1 is
 *   answered with a step 2 (`Y.encodeStateAsUpdate(doc, theirStateVector)`) in the asker's inbox.
 * - Awareness: our own client's state, best effort, whenever it changes or y-protocols renews it (every 15 s), and in
 *   the inbox of each provider we first hear from. The states of a peer that goes down are removed at once.
 * - Updates and answers from the network are applied with the provider as origin, so they are never sent back.
 *   Malformed messages are dropped and counted; nothing is thrown out of glue's callbacks.
 */
import type { Endpoint } from '../endpoint'
import { ClosedError } from '../errors'
import type { StatusEvent } from '../status'
import type { TopicMessage } from '../topics/message'
import type { Subscription } from '../topics/subscription'
import { AwarenessLink } from './awareness-link'
import { type Awareness, type Doc, type YModule, yjsFor } from './deps'
import { Emitter } from './emitter'
import { decodeMessage, type YjsMessage } from './messages'
import {
  type GlueYjsProviderEvents,
  type GlueYjsProviderOptions,
  type GlueYjsProviderStats,
  resolveProviderOptions,
  type ResolvedProviderOptions,
  zeroProviderStats,
} from './options'
import { Outbox } from './outbox'
import { checkFree, register, unregister } from './registry'
import { SyncState } from './sync-state'
import { carries, type Channel, type DocTopics, docTopics } from './topics'
import { INBOX_OPTIONS, SYNC_OPTIONS, UPDATE_OPTIONS } from './topics'

/** Reports an exception of an application listener as uncaught, without stopping the provider. */
function rethrowLater(err: unknown): void {
  process.nextTick(() => {
    throw err
  })
}

/**
 * Syncs one Y.Doc with every provider of the same `name` on the glue network: `new GlueYjsProvider(ep, 'notes', doc)`.
 * One provider per endpoint and name; `destroy()` (or closing the endpoint, or destroying the doc) ends it.
 */
export class GlueYjsProvider {
  /** The endpoint it talks through. */
  readonly endpoint: Endpoint
  /** The document name (shared by every provider of the document). */
  readonly name: string
  /** The document. */
  readonly doc: Doc
  /** The awareness (presence) it carries; null with `awareness: false`. */
  readonly awareness: Awareness | null
  readonly #o: ResolvedProviderOptions
  /** The Yjs build the document belongs to. */
  readonly #Y: YModule
  readonly #topics: DocTopics
  readonly #subs: Subscription<unknown>[] = []
  readonly #events = new Emitter<GlueYjsProviderEvents>()
  readonly #sync = new SyncState(() => this.#events.emit('synced', true))
  readonly #link: AwarenessLink | undefined
  readonly #outbox: Outbox
  /** Peers heard from (they run a provider of the document) and not gone down since. */
  readonly #providers = new Set<string>()
  /** Peers that were sent a step 1, or answered one, since they came up. */
  readonly #asked = new Set<string>()
  readonly #offStatus: () => void
  readonly #resync: NodeJS.Timeout | undefined
  #pending: Uint8Array[] = []
  #destroyed = false
  readonly #counts: GlueYjsProviderStats = zeroProviderStats()

  /**
   * Binds `doc` to the document `name` on `endpoint` and starts syncing.
   * @throws TopicError (a name with `+`, `#` or U+0000, or empty), InvalidOptionError, ClosedError (closed endpoint),
   *   TypeError (`doc` is not a Y.Doc of the yjs that glue resolves), Error (this endpoint already has a provider for
   *   `name`; or yjs / y-protocols are not installed)
   */
  constructor(endpoint: Endpoint, name: string, doc: Doc, options?: GlueYjsProviderOptions) {
    if (endpoint.isClosed) throw new ClosedError(`endpoint ${endpoint.name} is closed`)
    this.#topics = docTopics(name, endpoint.id)
    const build = yjsFor(doc)
    this.#Y = build.Y
    checkFree(endpoint, name)
    this.#o = resolveProviderOptions(doc, options, build.awarenessProtocol.Awareness)
    this.endpoint = endpoint
    this.name = name
    this.doc = doc
    this.awareness = this.#o.awareness
    this.#outbox = new Outbox(endpoint, this.#counts)
    const t = this.#topics
    const on = (channel: Channel) => (m: TopicMessage<unknown>) => this.#receive(channel, m)
    this.#subs.push(endpoint.subscribe(t.updates, { reliable: true, callback: on('updates') }))
    this.#subs.push(endpoint.subscribe(t.sync, { reliable: true, callback: on('sync') }))
    this.#subs.push(endpoint.subscribe(t.inbox, { reliable: true, callback: on('inbox') }))
    if (this.awareness !== null) this.#subs.push(endpoint.subscribe(t.awareness, { callback: on('awareness') }))
    doc.on('update', this.#onDocUpdate)
    doc.on('destroy', this.#onDocDestroy)
    if (this.awareness !== null) {
      this.#link = new AwarenessLink(this.awareness, build.awarenessProtocol, this.#outbox, this.#counts, {
        topic: t.awareness,
        inbox: (peerId) => ({ topic: t.inboxOf(peerId), options: INBOX_OPTIONS }),
        origin: this,
        onListenerError: rethrowLater,
      })
    }
    this.#offStatus = endpoint.onStatus(this.#onStatus)
    register(endpoint, name, this)
    if (this.#o.resyncIntervalMs > 0) {
      this.#resync = setInterval(() => this.#syncRound(), this.#o.resyncIntervalMs)
      this.#resync.unref()
    }
    queueMicrotask(() => {
      if (this.#destroyed) return
      this.#syncRound()
      this.#link?.announce()
    })
  }

  /**
   * True once synced: a sync step 2 arrived from a peer, or no peer answered our step 1 within `syncTimeoutMs` of
   * its acknowledgement (no other provider holds the document). Never goes back to false (see `sync-state.ts`).
   */
  get synced(): boolean {
    return this.#sync.synced
  }

  /** True while at least one other provider of the document is known to be up (heard from, not gone down since). */
  get connected(): boolean {
    return this.#providers.size > 0
  }

  /** True once `destroy()` ran. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /** The endpoint IDs of the peers known to run a provider of this document (heard from, not gone down since). */
  peers(): string[] {
    return [...this.#providers]
  }

  /** Resolves once synced (at once if it is); rejects if the provider is destroyed first. */
  whenSynced(): Promise<void> {
    return this.#sync.whenSynced()
  }

  /** Adds a listener: `'synced'` (once, with `true`) or `'status'` (`{ status: 'connected' | 'disconnected' }`). */
  on<E extends keyof GlueYjsProviderEvents>(event: E, listener: GlueYjsProviderEvents[E]): void {
    this.#events.on(event, listener)
  }

  /** Removes a listener added with `on()`. */
  off<E extends keyof GlueYjsProviderEvents>(event: E, listener: GlueYjsProviderEvents[E]): void {
    this.#events.off(event, listener)
  }

  /** The counters (a copy). */
  stats(): GlueYjsProviderStats {
    return { ...this.#counts }
  }

  /**
   * Unbinds the document: sends pending local updates, marks the local awareness state removed and publishes that
   * (reliably, while the endpoint is open), unsubscribes, removes the doc and awareness listeners, destroys an
   * awareness it created, and rejects a pending `whenSynced()`. Idempotent; called when the endpoint closes or the
   * document is destroyed.
   */
  destroy(): void {
    if (this.#destroyed) return
    this.#flush()
    this.#destroyed = true
    clearInterval(this.#resync)
    this.doc.off('update', this.#onDocUpdate)
    this.doc.off('destroy', this.#onDocDestroy)
    this.#link?.end(this.#o.ownsAwareness)
    for (const sub of this.#subs) sub.unsubscribe()
    this.#offStatus()
    unregister(this.endpoint, this.name, this)
    this.#sync.end()
    if (this.#providers.size > 0) {
      this.#providers.clear()
      this.#events.emit('status', { status: 'disconnected' })
    }
    this.#events.clear()
  }

  readonly #onDocUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === this || this.#destroyed) return
    this.#pending.push(update)
    if (this.#pending.length === 1) queueMicrotask(() => this.#flush())
  }

  readonly #onDocDestroy = (): void => this.destroy()

  readonly #onStatus = (event: StatusEvent): void => {
    if (this.#destroyed) return
    const id = event.peer.id
    if (event.type === 'peer-up') this.#ask(id)
    // Its interests changed: it may have just started a provider of the document (then our step 1 reaches it now).
    else if (event.type === 'peer-changed' && !this.#providers.has(id)) this.#ask(id)
    else if (event.type === 'peer-down') this.#peerDown(id)
  }

  /** Publishes the local updates of this tick as one update. */
  #flush(): void {
    if (this.#pending.length === 0 || this.#destroyed) return
    const updates = this.#pending
    this.#pending = []
    const update = updates.length === 1 ? updates[0] : this.#Y.mergeUpdates(updates)
    void this.#outbox.publish(this.#topics.updates, { kind: 'update', update }, UPDATE_OPTIONS, 'updatesSent')
  }

  /** Sends our state vector to every provider; once acknowledged, starts the wait of `syncTimeoutMs`. */
  #syncRound(): void {
    const step1: YjsMessage = { kind: 'step1', stateVector: this.#Y.encodeStateVector(this.doc) }
    void this.#outbox.publish(this.#topics.sync, step1, SYNC_OPTIONS, 'syncStep1Sent').then(() =>
      this.#sync.acknowledged(this.#o.syncTimeoutMs),
    )
  }

  /** Sends our state vector to one peer (its answer brings what it has and we lack). */
  #ask(peerId: string): void {
    this.#asked.add(peerId)
    const step1: YjsMessage = { kind: 'step1', stateVector: this.#Y.encodeStateVector(this.doc) }
    void this.#outbox.publish(this.#topics.inboxOf(peerId), step1, INBOX_OPTIONS, 'syncStep1Sent')
  }

  /** Handles one message from glue: decodes, checks, applies, answers. Never throws. */
  #receive(channel: Channel, m: TopicMessage<unknown>): void {
    if (this.#destroyed || m.from === this.endpoint.id) return
    let message: YjsMessage | undefined
    try {
      message = decodeMessage(m.payload)
    } catch {
      message = undefined
    }
    if (message === undefined || !carries(channel, message.kind)) {
      this.#counts.malformed++
      return
    }
    if (message.kind === 'step1') this.#onStep1(m.from, message.stateVector)
    else if (message.kind === 'awareness') this.#onAwareness(m.from, message.update)
    else this.#onUpdate(m.from, message.kind, message.update)
  }

  #onStep1(from: string, stateVector: Uint8Array): void {
    let update: Uint8Array
    try {
      update = this.#Y.encodeStateAsUpdate(this.doc, stateVector)
    } catch {
      this.#counts.malformed++
      return
    }
    this.#counts.syncStep1Received++
    this.#heard(from)
    const inbox = this.#topics.inboxOf(from)
    void this.#outbox.publish(inbox, { kind: 'step2', update }, INBOX_OPTIONS, 'syncStep2Sent')
  }

  #onUpdate(from: string, kind: 'step2' | 'update', received: Uint8Array): void {
    const update = new Uint8Array(received) // a copy: Yjs may keep views of it, and it is a view of glue's buffer
    try {
      this.#Y.decodeUpdate(update) // checked before it touches the document
    } catch {
      this.#counts.malformed++
      return
    }
    if (kind === 'step2') {
      this.#counts.syncStep2Received++
      this.#asked.add(from) // it answered a step 1 of ours
    } else this.#counts.updatesReceived++
    this.#heard(from)
    try {
      this.#Y.applyUpdate(this.doc, update, this)
    } catch (err) {
      rethrowLater(err) // the update was well formed: a document observer threw
    }
    if (kind === 'step2') this.#sync.answered()
  }

  #onAwareness(from: string, update: Uint8Array): void {
    // Without awareness of our own, a greeting from a peer with awareness is simply ignored.
    if (this.#link?.receive(from, update, () => this.#heard(from)) === false) this.#counts.malformed++
  }

  /** A message from `peerId`: the first since it came up makes it a known provider, asked and greeted. */
  #heard(peerId: string): void {
    if (this.#providers.has(peerId) || !this.endpoint.peers().some((p) => p.id === peerId)) return
    this.#providers.add(peerId)
    if (this.#providers.size === 1) this.#events.emit('status', { status: 'connected' })
    if (!this.#asked.has(peerId)) this.#ask(peerId)
    this.#link?.greet(peerId)
  }

  /** `peerId` went down: forget it, and remove the awareness states it announced. */
  #peerDown(peerId: string): void {
    this.#asked.delete(peerId)
    this.#link?.peerDown(peerId)
    if (this.#providers.delete(peerId) && this.#providers.size === 0) {
      this.#events.emit('status', { status: 'disconnected' })
    }
  }
}
