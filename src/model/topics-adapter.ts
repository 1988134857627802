/**
 * The {@link ModelTopics} of an endpoint: its topic layer's reserved publications, subscriptions and peer interests.
 */
import type { TopicLayer } from '../topics/topic-layer'
import type { ModelTopics } from './model-topics'

/** The endpoint's identity as the adapter needs it. */
export interface AdapterSelf {
  readonly id: string
  readonly name: string
  nameOf(id: string): string
}

/** See the module doc. */
export function topicsAdapter(layer: TopicLayer, self: AdapterSelf): ModelTopics {
  return {
    id: self.id,
    name: self.name,
    publish: (topic, payload) => layer.publishReserved(topic, payload),
    subscribe: (topic, onMessage) => {
      const sub = layer.subscribe<Buffer>(topic, { reliable: true, callback: (m) => onMessage(m.from, m.payload) })
      return () => sub.unsubscribe()
    },
    wants: (id, topic) => layer.peerWants(id, topic),
    interested: (topic) => layer.interestedPeers(topic),
    nameOf: (id) => self.nameOf(id),
  }
}
