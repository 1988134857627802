/**
 * glue-pubsub/yjs: keeps a Yjs document in sync over glue, in one line. Every provider of the same document name on
 * the network exchanges updates (reliable, by multicast or unicast as glue routes them), syncs by state vector (sync
 * step 1 / step 2) when it starts, when a peer comes up (a partition heals) and every `resyncIntervalMs`, and
 * carries awareness (presence). Brokerless: no server holds the document; every provider holds all of it.
 *
 * `yjs` and `y-protocols` are optional peer dependencies: install them to use this entry point (the main entry,
 * `glue-pubsub`, never loads them).
 *
 * ```ts
 * import { Endpoint } from 'glue-pubsub'
 * import { GlueYjsProvider } from 'glue-pubsub/yjs'
 * import * as Y from 'yjs'
 *
 * const ep = await Endpoint.open({ name: 'editor-1' })
 * const doc = new Y.Doc()
 * const provider = new GlueYjsProvider(ep, 'notes', doc)
 * await provider.whenSynced()
 * doc.getText('body').insert(0, 'hello ')
 * provider.awareness?.setLocalStateField('user', { name: 'Ada' })
 * // … later: provider.destroy() (closing the endpoint destroys it too)
 * ```
 */
export { GlueYjsProvider } from './src/yjs/provider'
export type {
  GlueYjsProviderEvents,
  GlueYjsProviderOptions,
  GlueYjsProviderStats,
  GlueYjsStatusEvent,
} from './src/yjs/options'
