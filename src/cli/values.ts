/**
 * Values on the command line: the text given to `glue pub` / `glue request` / `glue reply --value`, parsed for its
 * codec, and decoded values printed back as one line.
 */
import { InvalidOptionError } from '../errors'
import { preview } from './common'

/** The codec names the CLI offers. */
export type CliCodec = 'raw' | 'json' | 'msgpack'

/** JSON text of a decoded value (BigInts as their digits, anything unprintable as its string form), Buffers as text. */
export function showValue(value: unknown): string {
  if (Buffer.isBuffer(value)) return preview(value)
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * The value to send: the text for the raw codec; for json and msgpack the text parsed as JSON (a JSON string
 * needs its quotes: '"on"'), else InvalidOptionError naming the value and the codec.
 */
export function parseValue(text: string, codec: CliCodec): unknown {
  if (codec === 'raw') return text
  try {
    return JSON.parse(text)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new InvalidOptionError(
      `invalid value ${JSON.stringify(text)} for --codec ${codec}: not JSON (${why}); quote a JSON string, e.g. '"on"'`,
      { option: 'value', value: text },
    )
  }
}
