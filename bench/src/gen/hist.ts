import hdr from "hdr-histogram-js";

/** Latencies in microseconds, 1 µs .. 120 s, 3 significant digits. */
export const HIGHEST_US = 120_000_000;

export type Histogram = ReturnType<typeof hdr.build>;

export const newHistogram = (): Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });

export const recordMs = (h: Histogram, ms: number) =>
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));

export const encodeHistogram = (h: Histogram) => hdr.encodeIntoCompressedBase64(h);
export const decodeHistogram = (s: string) => hdr.decodeFromCompressedBase64(s);

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Milliseconds, rounded to 0.01 ms. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us / 10) / 100;
  if (h.totalCount === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

/** Merge encoded histograms from several generator processes. */
export function mergeEncoded(encoded: string[]): Histogram {
  const total = newHistogram();
  for (const e of encoded) total.add(decodeHistogram(e));
  return total;
}
