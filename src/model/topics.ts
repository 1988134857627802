/**
 * The reserved topics of one replicated object: `$glue/model/<kind>/<name>/all` (deltas and digests, every member
 * subscribes) and `$glue/model/<kind>/<name>/to/<endpoint ID>` (catch-up and acknowledgements for one member). The
 * kind (`map`, `counter`, `set`) keeps objects of different kinds apart even when their names are equal.
 */

/** The topics of one object. */
export interface ObjectTopics {
  /** `.../all`. */
  readonly all: string
  /** `.../to/<own ID>`. */
  readonly own: string
  /** `.../to/<id>`. */
  to(id: string): string
}

/** The prefix of every model topic. */
export const MODEL_TOPIC_PREFIX = '$glue/model/'

/** The topics of the object `name` of `kind`, as seen by endpoint `selfId`. */
export function objectTopics(kind: string, name: string, selfId: string): ObjectTopics {
  const base = `${MODEL_TOPIC_PREFIX}${kind}/${name}`
  const to = (id: string): string => `${base}/to/${id}`
  return { all: `${base}/all`, own: to(selfId), to }
}
