/**
 * Per-authenticator and per-source counters with EMQX's rate fields (rate = per second over the last few
 * seconds, rate_max = the highest seen, rate_last5m = per second over five minutes), for the status APIs.
 */

const WINDOW_S = 300;
const RATE_S = 5;

/** Named counters plus a request rate. */
export class Counters<K extends string> {
  readonly c: Record<K, number>;
  // One slot per second for the last five minutes: [second, count].
  private readonly slots = new Float64Array(WINDOW_S * 2);
  private rateMax = 0;

  constructor(names: readonly K[]) {
    this.c = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  }

  /** Counts one event under `name` and in the rate (when `rated`, the default). */
  inc(name: K, rated = true): void {
    this.c[name]++;
    if (!rated) return;
    const sec = Math.floor(Date.now() / 1000);
    const i = (sec % WINDOW_S) * 2;
    if (this.slots[i] !== sec) {
      this.slots[i] = sec;
      this.slots[i + 1] = 0;
    }
    this.slots[i + 1]!++;
  }

  private sum(seconds: number, now: number): number {
    let n = 0;
    for (let s = now - seconds + 1; s <= now; s++) {
      const i = (s % WINDOW_S) * 2;
      if (this.slots[i] === s) n += this.slots[i + 1]!;
    }
    return n;
  }

  /** The counters and rates as the API shows them. */
  snapshot(): Record<K, number> & { rate: number; rate_max: number; rate_last5m: number } {
    const now = Math.floor(Date.now() / 1000);
    const rate = round(this.sum(RATE_S, now) / RATE_S);
    if (rate > this.rateMax) this.rateMax = rate;
    return {
      ...this.c,
      rate,
      rate_max: this.rateMax,
      rate_last5m: round(this.sum(WINDOW_S, now) / WINDOW_S),
    };
  }

  reset(): void {
    for (const k of Object.keys(this.c) as K[]) this.c[k] = 0;
    this.slots.fill(0);
    this.rateMax = 0;
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
