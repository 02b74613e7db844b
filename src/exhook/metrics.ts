/**
 * ExHook call counters per server and per hook (EMQX names: succeed, failed, rate, max_rate). Rates are
 * calls per second, sampled once a second by the service (one timer for every counter).
 */

/** What the API shows for one counter. */
export interface HookMetricsView {
  succeed: number;
  failed: number;
  /** Calls (succeeded or failed) per second, over the last sampled second. */
  rate: number;
  max_rate: number;
}

/** One counter. */
export class CallCounter {
  succeed = 0;
  failed = 0;
  rate = 0;
  max_rate = 0;
  private lastTotal = 0;
  private lastSample = Date.now();

  /** Updates rate and max_rate from the calls since the previous sample. */
  sample(now: number): void {
    const total = this.succeed + this.failed;
    const elapsed = (now - this.lastSample) / 1000;
    if (elapsed <= 0) return;
    this.rate = Math.round(((total - this.lastTotal) / elapsed) * 100) / 100;
    if (this.rate > this.max_rate) this.max_rate = this.rate;
    this.lastTotal = total;
    this.lastSample = now;
  }

  /** A snapshot for the API. */
  view(): HookMetricsView {
    return { succeed: this.succeed, failed: this.failed, rate: this.rate, max_rate: this.max_rate };
  }
}

/** The counters of one server: one per hook plus the server total. */
export class ServerMetrics {
  readonly total = new CallCounter();
  private readonly byHook = new Map<string, CallCounter>();

  /** Counts one call of `hook`. */
  record(hook: string, ok: boolean): void {
    let c = this.byHook.get(hook);
    if (c === undefined) {
      c = new CallCounter();
      this.byHook.set(hook, c);
    }
    if (ok) {
      c.succeed++;
      this.total.succeed++;
    } else {
      c.failed++;
      this.total.failed++;
    }
  }

  /** The counter of one hook (zeros when it was never called). */
  hook(hook: string): HookMetricsView {
    return this.byHook.get(hook)?.view() ?? { succeed: 0, failed: 0, rate: 0, max_rate: 0 };
  }

  /** Samples every counter (called once a second). */
  sample(now: number): void {
    this.total.sample(now);
    for (const c of this.byHook.values()) c.sample(now);
  }
}
