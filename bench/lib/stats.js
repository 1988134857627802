'use strict';
// bench/lib/stats.js — small helpers shared by the peer benchmarks (bench/peers/) and glue's own benchmark:
//   percentile/summarize   percentiles from raw samples (nearest-rank on a sorted copy)
//   median                 median of a list (used to combine ddsperf's per-second figures)
//   fmtRate/fmtBits/fmtUs  human formatting: "880 k/s", "11.4 Gb/s", "33.2 µs"
//   table                  a plain aligned text table
//   comparisonTable        rows of {glue, ddsperf, mosquitto, ...} values with ratio columns "glue / <peer>"

/** Nearest-rank percentile (p in [0,100]) of an array of numbers; NaN for an empty array. */
function percentile(samples, p) {
  if (!samples || samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  return percentileSorted(sorted, p);
}

function percentileSorted(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** {n, min, mean, p50, p90, p99, max} of an array of numbers (sorted once). */
function summarize(samples) {
  const sorted = Float64Array.from(samples || []).sort();
  const n = sorted.length;
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    n,
    min: n ? sorted[0] : NaN,
    mean: n ? sum / n : NaN,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: n ? sorted[n - 1] : NaN,
  };
}

function median(values) {
  return percentile(values, 50);
}

/** Scale a number with an SI prefix: 880000 -> "880 k", 1.23e6 -> "1.23 M", 950 -> "950 ". */
function si(x, digits = 3) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  const prefixes = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, prefix] of prefixes) {
    if (Math.abs(x) >= scale) return `${Number((x / scale).toPrecision(digits))} ${prefix}`;
  }
  return `${Number(x.toPrecision(digits))} `;
}

/** Messages per second: 880000 -> "880 k/s". */
const fmtRate = (perSec) => (Number.isFinite(perSec) ? `${si(perSec)}/s` : '—');
/** Bits per second: 1.14e10 -> "11.4 Gb/s". */
const fmtBits = (bitsPerSec) => (Number.isFinite(bitsPerSec) ? `${si(bitsPerSec)}b/s` : '—');
/** Microseconds: 33.21 -> "33.2 µs". */
const fmtUs = (us) => (Number.isFinite(us) ? `${Number(us.toPrecision(3))} µs` : '—');
/** Ratio a / b: "1.23×" (or "—" when either side is missing). */
const fmtRatio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '—');

const FORMATTERS = { rate: fmtRate, bits: fmtBits, us: fmtUs, count: (x) => (Number.isFinite(x) ? String(x) : '—') };

/** Render rows (arrays of strings) under a header as an aligned text table; first column left-aligned. */
function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] || '')].length)));
  const pad = (s, w, left) => (left ? s + ' '.repeat(w - [...s].length) : ' '.repeat(w - [...s].length) + s);
  const line = (r) => r.map((c, i) => pad(c || '', widths[i], i === 0)).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(all[0]), sep, ...all.slice(1).map(line)].join('\n');
}

/**
 * A comparison table. rows: [{ name, kind: 'rate'|'bits'|'us'|'count', values: { glue: x, ddsperf: y, ... } }].
 * Value columns are `systems` (default: every key seen, glue first); ratio columns are "glue / <peer>" for each peer
 * in `ratiosAgainst` (default: every system but glue). For 'us' rows a ratio below 1 means glue is faster; for
 * 'rate'/'bits' rows a ratio above 1 means glue is faster.
 */
function comparisonTable(rows, { systems, ratiosAgainst, base = 'glue' } = {}) {
  if (!systems) {
    const seen = new Set();
    for (const r of rows) for (const k of Object.keys(r.values || {})) seen.add(k);
    systems = [...seen].sort((a, b) => (a === base ? -1 : b === base ? 1 : 0));
  }
  if (!ratiosAgainst) ratiosAgainst = systems.filter((s) => s !== base);
  const header = ['metric', ...systems, ...ratiosAgainst.map((p) => `${base} / ${p}`)];
  const body = rows.map((r) => {
    const fmt = FORMATTERS[r.kind] || String;
    const v = r.values || {};
    return [r.name, ...systems.map((s) => fmt(v[s])), ...ratiosAgainst.map((p) => fmtRatio(v[base], v[p]))];
  });
  return table(header, body);
}

module.exports = {
  percentile, percentileSorted, summarize, median, si, fmtRate, fmtBits, fmtUs, fmtRatio, table, comparisonTable,
};
