/** Latency summaries shared by the load generator and the in-process measurements. */

export interface Summary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentiles over every sample: no histogram buckets, so p99 of a few thousand samples is exact. */
export function summarize(samples: number[]): Summary {
  const n = samples.length;
  if (n === 0) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
  let sum = 0;
  for (const s of sorted) sum += s;
  return { count: n, meanMs: sum / n, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), maxMs: sorted[n - 1]! };
}

/** The middle value of an odd count, the upper of the two middle ones of an even count: the median of alternating A/B rounds. */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
export const rate = (v: number) => (v >= 1000 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(0) : v.toFixed(1));
export const ratio = (v: number) => `${v.toFixed(2)}×`;
