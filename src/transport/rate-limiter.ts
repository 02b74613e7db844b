/** A token bucket: `rate` tokens per second, holding at most `burst` (at least one). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly perMs: number;
  private readonly burst: number;

  /** Starts full, so a quiet listener admits a burst of `burst` at once. */
  constructor(rate: number, burst = rate) {
    if (!(rate > 0)) throw new RangeError(`token rate must be positive, got ${rate}`);
    this.perMs = rate / 1000;
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
    this.last = performance.now();
  }

  /** Takes one token if there is one. */
  take(now = performance.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** ms until the next token is available (0 when one is there now). */
  waitMs(now = performance.now()): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs);
  }

  private refill(now: number): void {
    const elapsed = now - this.last;
    if (elapsed <= 0) return;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.perMs);
  }
}
