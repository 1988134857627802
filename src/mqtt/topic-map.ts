/**
 * Topic mapping between glue and MQTT: one to one, with an optional prefix on the MQTT side. glue topic names and
 * filters follow MQTT 5.0's rules (section 4.7) already, wildcards `+` and `#` included, so a filter maps to itself
 * behind the prefix; what cannot map is refused:
 *
 * | glue                          | MQTT (prefix `site1/`)  |
 * |-------------------------------|-------------------------|
 * | `sensors/a` (name)            | `site1/sensors/a`       |
 * | `sensors/+/temp` (filter)     | `site1/sensors/+/temp`  |
 * | `#`                           | `site1/#`               |
 * | `$glue/...` (reserved)        | refused (never bridged) |
 * | —                             | `site1/$x`, `other/a`: dropped, counted (`dropped.unmappable`) |
 */
import { InvalidOptionError } from '../errors'
import { isTopicName, validateTopicFilter } from '../topics/topic-name'

/**
 * The MQTT filter for glue filter `filter` behind `prefix`; throws InvalidOptionError naming `field` when the
 * filter is invalid, reserved (`$...`), or invalid once prefixed (`prefix` `site1` with `#` gives `site1#`).
 */
export function mqttFilter(filter: string, prefix: string, field: string): string {
  try {
    validateTopicFilter(filter, field)
  } catch (err) {
    throw new InvalidOptionError(`Invalid option ${field}: ${(err as Error).message}`, { option: field, value: filter, cause: err })
  }
  if (filter.startsWith('$')) {
    const message = `Invalid option ${field}: ${JSON.stringify(filter)} (topics starting with "$" are glue's or the broker's own and are not bridged)`
    throw new InvalidOptionError(message, { option: field, value: filter })
  }
  const mapped = prefix + filter
  try {
    validateTopicFilter(mapped, field)
  } catch (err) {
    const message = `Invalid option ${field}: ${JSON.stringify(filter)} behind prefix ${JSON.stringify(prefix)} gives the MQTT filter ${JSON.stringify(mapped)}, which ${(err as Error).message.replace(/^.*?: /, '')} (end the prefix with "/")`
    throw new InvalidOptionError(message, { option: field, value: filter, cause: err })
  }
  return mapped
}

/** The MQTT topic of glue topic `topic` (a valid name). */
export function toMqttTopic(topic: string, prefix: string): string {
  return prefix === '' ? topic : prefix + topic
}

/**
 * The glue topic of MQTT topic `topic`, or undefined when it cannot map: outside the prefix, empty once the prefix is
 * removed, or not a glue topic name (starts with `$`).
 */
export function toGlueTopic(topic: string, prefix: string): string | undefined {
  if (prefix !== '') {
    if (!topic.startsWith(prefix)) return undefined
    topic = topic.slice(prefix.length)
  }
  return isTopicName(topic) ? topic : undefined
}
