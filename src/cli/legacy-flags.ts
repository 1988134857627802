/**
 * The seed's command line used single-dash camelCase flags (`-interfaceName lo -sendMessages`); commander wants
 * `--interface-name`. This pure translation runs on argv before parsing.
 */

/** `interfaceName` → `interface-name`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase()
}

/** A single dash, a letter, then at least one more letter or digit; optionally `=value`. */
const LEGACY_FLAG = /^-([a-zA-Z][a-zA-Z0-9]+)(=.*)?$/s

/**
 * Rewrites single-dash long flags to kebab-case double-dash ones: `-listenPort 37321` → `--listen-port 37321`,
 * `-endpointName=A` → `--endpoint-name=A`. One-letter flags (`-h`), negative numbers, values that do not start
 * with a dash, and everything after `--` are left alone.
 */
export function translateLegacyArgs(args: readonly string[]): string[] {
  const out: string[] = []
  let passThrough = false
  for (const arg of args) {
    if (passThrough || arg === '--') {
      passThrough = true
      out.push(arg)
      continue
    }
    const match = LEGACY_FLAG.exec(arg)
    out.push(match === null ? arg : `--${kebabCase(match[1])}${match[2] ?? ''}`)
  }
  return out
}

/**
 * For error messages: maps each translated flag (as commander quotes it, `'--bogus-flag'`) back to what the user
 * typed (`'-bogusFlag'`), given the arguments before and after {@link translateLegacyArgs}.
 */
export function writtenAs(args: readonly string[], translated: readonly string[]): (text: string) => string {
  const changed = new Map<string, string>()
  args.forEach((arg, i) => {
    if (translated[i] !== arg) {
      changed.set(translated[i], arg)
      // commander names a flag given as --flag=value by its name alone.
      const eq = arg.indexOf('=')
      if (eq > 0) changed.set(translated[i].slice(0, translated[i].indexOf('=')), arg.slice(0, eq))
    }
  })
  if (changed.size === 0) return (text) => text
  return (text) => text.replace(/'([^']*)'/g, (quoted, inner: string) => {
    const original = changed.get(inner)
    return original === undefined ? quoted : `'${original}'`
  })
}
