/**
 * The glue topics of one Yjs document, what each carries, and how it is published. Glue reserves names starting
 * with `$` for itself (`publish()` refuses them from applications), so the provider's topics live under `glue/yjs/`.
 * The document name comes last, after a fixed number of levels, so names may contain `/` without two documents ever
 * sharing a topic:
 *
 * | topic                             | carries                                  | published                        |
 * | --------------------------------- | ---------------------------------------- | -------------------------------- |
 * | `glue/yjs/update/<name>`          | live updates, to every provider          | reliable, depth 8, lifespan 10 s |
 * | `glue/yjs/sync/<name>`            | sync step 1 to every provider            | reliable                         |
 * | `glue/yjs/to/<endpointId>/<name>` | step 1, step 2, awareness: one endpoint  | reliable, depth 4, lifespan 10 s |
 * | `glue/yjs/awareness/<name>`       | awareness (presence) changes             | best effort                      |
 */
import { TopicError } from '../topics/errors'
import type { PublishOptions } from '../topics/options'
import { validateTopicName } from '../topics/topic-name'
import type { YjsMessageKind } from './messages'

/** The topic names of one document as seen from one endpoint. */
export interface DocTopics {
  /** Live updates. */
  readonly updates: string
  /** Sync step 1 for every provider. */
  readonly sync: string
  /** Awareness changes. */
  readonly awareness: string
  /** This endpoint's own inbox (what the others address to it). */
  readonly inbox: string
  /** The inbox of another endpoint. */
  inboxOf(endpointId: string): string
}

/**
 * The topics of document `name` for endpoint `ownId`. Throws TopicError unless `name` fits in a topic name (a
 * non-empty string without the wildcards `+` and `#`, U+0000 or lone surrogates).
 */
export function docTopics(name: string, ownId: string): DocTopics {
  if (typeof name !== 'string' || name.length === 0) throw new TopicError('name', name, 'must be a non-empty string')
  if (/[+#]/.test(name)) throw new TopicError('name', name, 'must not contain the wildcards "+" or "#"')
  const inboxOf = (endpointId: string): string => `glue/yjs/to/${endpointId}/${name}`
  // The longest of the topics: U+0000, lone surrogates and the length limit.
  validateTopicName(inboxOf(ownId), { field: 'topic for the document name' })
  return {
    updates: `glue/yjs/update/${name}`,
    sync: `glue/yjs/sync/${name}`,
    awareness: `glue/yjs/awareness/${name}`,
    inbox: inboxOf(ownId),
    inboxOf,
  }
}

/**
 * Updates: kept briefly (the last 8, for 10 s) so that glue's own late-joiner repair delivers those published while a
 * new provider's interest had not reached this endpoint yet (they would wait for the next resync otherwise).
 */
export const UPDATE_OPTIONS: PublishOptions = { reliable: true, depth: 8, lifespanMs: 10_000 }
/** Inbox messages: kept briefly (4, 10 s) so that one published before the peer's interest was known still arrives. */
export const INBOX_OPTIONS: PublishOptions = { reliable: true, depth: 4, lifespanMs: 10_000 }
/** Sync step 1 to every provider: reliable, not kept (a later one replaces it). */
export const SYNC_OPTIONS: PublishOptions = { reliable: true }

/** The topics of a document (as channels), and the kinds of message each one carries (others are malformed). */
export type Channel = 'updates' | 'sync' | 'inbox' | 'awareness'
const CARRIES: Record<Channel, readonly YjsMessageKind[]> = {
  updates: ['update'],
  sync: ['step1'],
  inbox: ['step1', 'step2', 'awareness'],
  awareness: ['awareness'],
}

/** True when the topic of `channel` carries messages of `kind`. */
export function carries(channel: Channel, kind: YjsMessageKind): boolean {
  return CARRIES[channel].includes(kind)
}
