/**
 * The `GLUE_*` environment variables. They fill in options that the caller leaves unset; explicit options win.
 * Values are read as trimmed strings here and validated together with the options (see options.ts), so an
 * error names the variable and its value.
 */

/** Which environment variable fills in which option. */
export const ENV_VARS = {
  /** u32, e.g. `GLUE_NETWORK_ID=7`. */
  networkId: 'GLUE_NETWORK_ID',
  /** 16 hex digits. */
  id: 'GLUE_ENDPOINT_ID',
  /** 1..255 UTF-8 bytes. */
  name: 'GLUE_ENDPOINT_NAME',
  /** "ip:port", "[ipv6%scope]:port" or ":port". */
  listenAddress: 'GLUE_LISTEN_ADDRESS',
  /** Interface name (`lo`, `eth0`), IPv4 or IPv6 address. */
  interface: 'GLUE_LISTEN_INTERFACE',
  /** "1"/"true" or "0"/"false": IPv6 sockets that carry IPv4 too, and both groups. */
  dualStack: 'GLUE_DUAL_STACK',
  /** "ip:port" where announcements are sent. */
  discoveryTargetAddress: 'GLUE_DISCOVERY_TARGET_ADDRESS',
  /** "ip:port" where announcements and broadcasts are received. */
  discoveryListenAddress: 'GLUE_DISCOVERY_LISTEN_ADDRESS',
  /** Announce period in milliseconds. */
  announcePeriodMs: 'GLUE_DISCOVERY_RATE_MILLISECONDS',
  /** Expiry after this many announce periods of silence. */
  expiryMultiplier: 'GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER',
  /** Busy polling after activity, µs. */
  busyPollUs: 'GLUE_BUSY_POLL_US',
  ackHoldUs: 'GLUE_ACK_HOLD_US',
  /** 'io' or 'js': which thread reads the sockets. */
  receiveOn: 'GLUE_RECEIVE_ON',
  /** Network key(s): 64 hex digits or base64 each, several separated by commas (the first seals). */
  networkKey: 'GLUE_NETWORK_KEY',
  /** 'aes-256-gcm' or 'chacha20-poly1305'. */
  networkCipher: 'GLUE_NETWORK_CIPHER',
  /** Unicast peer addresses, comma-separated "host:port" entries. */
  peers: 'GLUE_PEERS',
  /** 'true' / 'false' (or 1 / 0): whether the multicast group is used. */
  multicast: 'GLUE_MULTICAST',
} as const

/** An option that an environment variable can set. */
export type EnvOption = keyof typeof ENV_VARS

/** A string-valued environment, like `process.env`. */
export type Environment = Readonly<Record<string, string | undefined>>

/** The environment variables that are set to something other than blanks, by option, trimmed. */
export function readEnv(env: Environment): Partial<Record<EnvOption, string>> {
  const values: Partial<Record<EnvOption, string>> = {}
  for (const option of Object.keys(ENV_VARS) as EnvOption[]) {
    const raw = env[ENV_VARS[option]]?.trim()
    if (raw) values[option] = raw
  }
  return values
}
