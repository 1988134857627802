/**
 * glue-pubsub/mqtt: a bridge between glue topics and an MQTT broker. Topics map one to one (with an optional prefix
 * on the MQTT side); reliable publications are QoS 1, best-effort ones QoS 0, retained ones retained; payloads pass
 * unchanged, with codec and type as MQTT 5 user properties. No loops, also with several bridges on one network;
 * reconnects with backoff, and queues reliable publications while the broker is away.
 *
 * `mqtt` (mqtt.js) is an optional peer dependency: install it to use this entry point (the main entry,
 * `glue-pubsub`, never loads it).
 *
 * ```ts
 * import { Endpoint } from 'glue-pubsub'
 * import { bridgeMqtt } from 'glue-pubsub/mqtt'
 *
 * const ep = await Endpoint.open({ name: 'gateway' })
 * const bridge = await bridgeMqtt(ep, { url: 'mqtt://127.0.0.1:1883', topics: ['sensors/#'], prefix: 'site1/' })
 * bridge.onStatus((ev) => console.log(ev.type))
 * // … later
 * console.log(bridge.stats())
 * await bridge.close()
 * ```
 */
export { bridgeMqtt, MqttBridge } from './src/mqtt/bridge'
export { MqttConnectError } from './src/mqtt/errors'
export type { BridgeDirection, MqttBridgeOptions, PemInput } from './src/mqtt/options'
export type { BridgeDrops, MqttBridgeStats, MqttBridgeStatus } from './src/mqtt/stats'
