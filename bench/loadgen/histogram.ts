/**
 * Latency histogram with logarithmic buckets (64 per power of two: about 1.1 % resolution) over
 * microseconds, so recording is one log2 and one increment and percentiles need no sorting.
 */
const PER_OCTAVE = 64;
const BUCKETS = 40 * PER_OCTAVE; // up to 2^40 µs: far beyond any run

export interface LatencySummary {
  /** Milliseconds. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  samples: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private maxUs = 0;

  /** Records `n` samples of `us` microseconds. */
  record(us: number, n = 1): void {
    const v = us < 0 ? 0 : us;
    const i = Math.floor(Math.log2(v + 1) * PER_OCTAVE);
    this.counts[i < BUCKETS ? i : BUCKETS - 1] += n;
    this.total += n;
    this.sum += v * n;
    if (v > this.maxUs) this.maxUs = v;
  }

  get count(): number {
    return this.total;
  }

  /** The value (µs) below which `q` (0..1) of the samples fall. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = q * this.total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(2 ** ((i + 0.5) / PER_OCTAVE) - 1, this.maxUs);
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    return {
      p50: this.quantile(0.5) / 1000,
      p99: this.quantile(0.99) / 1000,
      p999: this.quantile(0.999) / 1000,
      max: this.maxUs / 1000,
      mean: this.total > 0 ? this.sum / this.total / 1000 : 0,
      samples: this.total,
    };
  }
}
