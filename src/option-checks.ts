/**
 * What the options of every layer are checked with: where a value came from ({@link Source}), number ranges, and the
 * InvalidOptionError that names the option (or environment variable), its value and what was expected.
 */
import { InvalidOptionError } from './errors'

/** A number option's limits, as reported in errors. */
export interface Range {
  min: number
  max: number
  integer: boolean
  unit: string
}

/** Where a value came from: the option itself, or the environment variable that filled it in. */
export interface Source {
  value: unknown
  /** Option name or environment variable, as reported in errors. */
  label: string
  fromEnv: boolean
}

/** An option's value as a {@link Source}: the explicit one, else the environment's, else undefined (unset). */
export type ReadOption<K extends string> = (key: K) => Source | undefined

/** A number option's value, checked against its range; `fallback` when it is unset. */
export type ReadNumber<K extends string> = (key: K, fallback: number) => number

/** An InvalidOptionError naming the option (or variable), its value and what was expected. */
export function invalid(source: Source, expected: string): InvalidOptionError {
  const what = source.fromEnv ? 'environment variable' : 'option'
  return new InvalidOptionError(`Invalid ${what} ${source.label}: ${describe(source.value)} (expected ${expected})`, {
    option: source.label,
    value: source.value,
  })
}

/** A value as shown in error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return JSON.stringify(value) ?? String(value)
}

/** Checks a number (env values are parsed first) against `range`; returns it. */
export function checkNumber(source: Source, range: Range): number {
  const value = source.fromEnv ? Number(source.value) : source.value
  const ok = typeof value === 'number' && Number.isFinite(value) && (!range.integer || Number.isInteger(value))
  if (!ok || value < range.min || value > range.max) {
    const kind = range.integer ? 'an integer' : 'a number'
    throw invalid(source, `${kind} in ${range.min}..${range.max}, ${range.unit}`)
  }
  return value
}

/** Checks a boolean: `true`/`false`, or from the environment "1", "true", "0", "false" (any case); returns it. */
export function checkBoolean(source: Source): boolean {
  if (typeof source.value === 'boolean') return source.value
  if (source.fromEnv && typeof source.value === 'string') {
    const text = source.value.toLowerCase()
    if (text === '1' || text === 'true') return true
    if (text === '0' || text === 'false') return false
  }
  throw invalid(source, source.fromEnv ? '"1", "true", "0" or "false"' : 'true or false')
}

/** An explicitly given option as a {@link Source}. */
export function explicit(label: string, value: unknown): Source {
  return { value, label, fromEnv: false }
}

/** Checks that the value is a string and, if `valid` is given, that it passes (else `expected` is reported). */
export function checkString(source: Source, valid?: (text: string) => boolean, expected = ''): string {
  if (typeof source.value !== 'string') throw invalid(source, expected || 'a string')
  if (valid !== undefined && !valid(source.value)) throw invalid(source, expected)
  return source.value
}

/** An integer range in `unit` (default ms), for {@link numberOption}. */
export const intRange = (min: number, max: number, unit = 'ms'): Range => ({ min, max, integer: true, unit })

/** `options[key]` checked against `range`; `fallback` when it is unset. */
export function numberOption(options: Record<string, unknown>, key: string, fallback: number, range: Range): number {
  const value = options[key]
  return value === undefined ? fallback : checkNumber(explicit(key, value), range)
}

/** Throws InvalidOptionError for the first key of `options` that is not in `known` (`what`: e.g. 'map()'). */
export function checkKnownKeys(options: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw invalid(explicit(key, options[key]), `no such option of ${what}`)
  }
}

/** `options` as a record ({} when undefined); InvalidOptionError when it is not a plain object. */
export function optionsObject(options: unknown, what: string): Record<string, unknown> {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(`Invalid options of ${what}: ${describe(options)} (expected an object)`, {
      option: 'options',
      value: options,
    })
  }
  return options as Record<string, unknown>
}
