// Small numeric helpers for the benchmark: latency samples, percentiles, the load driver.
import { performance } from 'node:perf_hooks';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** Latencies in milliseconds, appended cheaply. */
export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  push(ms: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = ms;
  }

  merge(other: Samples): void {
    for (const v of other.values()) this.push(v);
  }

  get count(): number {
    return this.n;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.n);
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.values()).sort();
    const n = sorted.length;
    if (n === 0) return { count: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
    let sum = 0;
    for (const v of sorted) sum += v;
    return { count: n, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted[n - 1]!, meanMs: sum / n };
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

export interface LoadResult {
  /** Operations that completed with the expected outcome. */
  ok: number;
  /** Operations that completed otherwise (an unexpected outcome or an error). */
  failed: number;
  elapsedMs: number;
  latencies: Samples;
  /** First few failure descriptions, for the log. */
  errors: string[];
  /** Operations that were still to do when the time cap stopped the run. */
  cappedByTime: boolean;
}

/**
 * K concurrent async loops ("coordinators") pulling operation indexes 0..count-1 from one
 * counter until the count is done or the deadline passes. `op` returns true on the expected outcome.
 */
export async function drive(concurrency: number, count: number, capMs: number, op: (index: number, worker: number) => Promise<boolean>): Promise<LoadResult> {
  const latencies = new Samples();
  const errors: string[] = [];
  let next = 0;
  let ok = 0;
  let failed = 0;
  let cappedByTime = false;
  const start = performance.now();
  const deadline = start + capMs;
  const loop = async (worker: number) => {
    for (;;) {
      if (next >= count) return;
      if (performance.now() >= deadline) {
        cappedByTime = true;
        return;
      }
      const index = next++;
      const t0 = performance.now();
      try {
        if (await op(index, worker)) ok += 1;
        else failed += 1;
      } catch (error) {
        failed += 1;
        if (errors.length < 5) errors.push(error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error));
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => loop(w)));
  return { ok, failed, elapsedMs: performance.now() - start, latencies, errors, cappedByTime };
}

export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : NaN;
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '-';
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}
