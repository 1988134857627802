/**
 * A reader of the Prometheus text exposition format (version 0.0.4): the samples of a `/metrics` page, for
 * `glue stats --url` and the tests. Comments and `# HELP` / `# TYPE` lines are skipped; label values are unescaped.
 */

/** One sample: `name{labels} value`. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y

/** Parses the samples of a metrics page; throws TypeError naming the line that is not a sample. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = []
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = SAMPLE.exec(line)
    if (match === null) throw new TypeError(`metrics line ${i + 1} is not a sample: ${JSON.stringify(line)}`)
    samples.push({ name: match[1], labels: parseLabels(match[2] ?? '', i + 1), value: parseValue(match[3]) })
  }
  return samples
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex
    const match = LABEL.exec(text)
    if (match === null) throw new TypeError(`metrics line ${line}: bad labels at ${JSON.stringify(text.slice(start))}`)
    labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  return Number(text) // NaN for "NaN" (and anything else unreadable)
}
