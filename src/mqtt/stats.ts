/**
 * The MQTT bridge's counters and status events.
 */

/** Why messages were dropped (each a count since the bridge started). */
export interface BridgeDrops {
  /** Reliable glue publications dropped because the queue was full (the oldest goes). */
  queueFull: number
  /** Best-effort glue publications while the broker was unreachable (QoS 0 is never queued). */
  offline: number
  /** Best-effort glue publications dropped because 4 MiB were still unwritten to the broker connection (slow broker). */
  backpressure: number
  /** MQTT messages whose topic has no glue name (outside the prefix, empty, or starting with `$`). */
  unmappable: number
  /** MQTT messages whose `glue-codec` property names no codec. */
  codec: number
  /** MQTT messages whose `glue-type` differs from the type the bridge already publishes on that glue topic. */
  typeConflict: number
  /** MQTT messages larger than glue takes (a datagram for QoS 0, `maxMessageSize` for QoS 1). */
  tooLarge: number
  /** MQTT QoS 0 messages glue's send queue refused, and QoS 1 ones not acknowledged by every interested endpoint. */
  glueUndelivered: number
  /** glue publications the broker refused (PUBACK with an error reason code, e.g. not authorised). */
  brokerRefused: number
}

/** What `bridge.stats()` returns. */
export interface MqttBridgeStats {
  /** Connected to the broker now. */
  connected: boolean
  /** The MQTT protocol in use: 5, or 4 (3.1.1). */
  protocolVersion: 5 | 4
  /** glue publications delivered to the broker (QoS 0: handed to the connection; QoS 1: acknowledged by PUBACK). */
  toMqtt: number
  /** MQTT messages published into glue (QoS 1 ones acknowledged by every interested endpoint). */
  fromMqtt: number
  /** Reliable glue publications waiting for the broker now. */
  queued: number
  /** QoS 1 publications awaiting their PUBACK now. */
  inFlight: number
  /** QoS 1 publications sent again after a reconnection (their PUBACK had not arrived). */
  resent: number
  /** Successful reconnections. */
  reconnects: number
  /** Messages not forwarded because they came from this bridge's network (loop prevention). */
  skippedLoop: number
  /** Messages another bridge of this network and broker forwards instead (see `work-split.ts`). */
  skippedOtherBridge: number
  /** MQTT filters the broker refused (SUBACK reason code >= 0x80; each also a `subscribe-failed` event). */
  subscribeFailures: number
  /** The live bridges of this network and broker, this one included. */
  bridges: number
  /** Dropped messages, by cause. */
  dropped: BridgeDrops
}

/** A change of the bridge's connection. */
export type MqttBridgeStatus =
  | {
      readonly type: 'connected'
      /** The broker URL (without credentials). */
      readonly url: string
      readonly protocolVersion: 5 | 4
      /** The broker resumed the bridge's session (`cleanSession: false`). */
      readonly sessionPresent: boolean
      /** A reconnection (not the first connection). */
      readonly reconnect: boolean
    }
  | {
      readonly type: 'disconnected'
      readonly url: string
      /** Why, when known. */
      readonly error: Error | undefined
      /** When the next attempt starts, ms from now. */
      readonly retryInMs: number
    }
  | {
      readonly type: 'subscribe-failed'
      readonly url: string
      /** The MQTT filter (prefix included). */
      readonly filter: string
      /** The SUBACK reason code (0x80 unspecified, 0x87 not authorised, 0x8f invalid filter...). */
      readonly reasonCode: number
    }

/** Zeroed drop counters. */
export function zeroDrops(): BridgeDrops {
  return {
    queueFull: 0,
    offline: 0,
    backpressure: 0,
    unmappable: 0,
    codec: 0,
    typeConflict: 0,
    tooLarge: 0,
    glueUndelivered: 0,
    brokerRefused: 0,
  }
}
