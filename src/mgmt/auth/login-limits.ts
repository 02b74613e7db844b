/**
 * Failed-login limits for POST /login: one counter per username (EMQX's unsuccessful_login_* lock, same
 * defaults) and one per source address, so a password guesser is slowed down whether it tries many
 * passwords on one user or one password on many users. A locked key answers 429 before any password is
 * hashed, which also caps the CPU one source can burn on scrypt. Every attempt counts as a failure from
 * the moment it starts and is forgiven when it succeeds, so a burst of parallel guesses cannot slip past
 * the limit while their hashes are still being computed.
 */

/** One limit: more than `maxFailures` failures within `windowMs` locks the key for `lockMs`. */
export interface FailureLimit {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export interface LoginLimitSettings {
  /** Per dashboard username, counted over every source (EMQX: 5 attempts in 5 min lock it for 10 min). */
  user: FailureLimit;
  /** Per source address, counted over every username. */
  source: FailureLimit;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimitSettings = {
  user: { maxFailures: 5, windowMs: 5 * 60_000, lockMs: 10 * 60_000 },
  source: { maxFailures: 20, windowMs: 5 * 60_000, lockMs: 10 * 60_000 },
};

interface Counter {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

/** Above this many tracked keys, stale counters are swept on the next failure (bounds memory under a spray). */
const SWEEP_ABOVE = 10_000;

class FailureCounter {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly limit: FailureLimit) {}

  /** ms left on the lock of `key`, 0 when it is not locked. */
  lockedFor(key: string, now: number): number {
    const c = this.counters.get(key);
    return c === undefined || c.lockedUntil <= now ? 0 : c.lockedUntil - now;
  }

  /** Counts one failure; true when it locked the key. */
  failed(key: string, now: number): boolean {
    if (this.counters.size > SWEEP_ABOVE) this.sweep(now);
    let c = this.counters.get(key);
    if (c === undefined || now - c.windowStart >= this.limit.windowMs) {
      c = { failures: 0, windowStart: now, lockedUntil: c?.lockedUntil ?? 0 };
      this.counters.set(key, c);
    }
    c.failures++;
    if (c.failures < this.limit.maxFailures) return false;
    c.lockedUntil = now + this.limit.lockMs;
    c.failures = 0;
    c.windowStart = now;
    return true;
  }

  /** Takes back one failure counted by `failed` (and the lock it caused, if it did). */
  forgive(key: string, locked: boolean): void {
    const c = this.counters.get(key);
    if (c === undefined) return;
    if (locked) c.lockedUntil = 0;
    else if (c.failures > 0) c.failures--;
  }

  clear(key: string): void {
    this.counters.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, c] of this.counters)
      if (c.lockedUntil <= now && now - c.windowStart >= this.limit.windowMs) this.counters.delete(key);
  }
}

/** An attempt under way: counted as failed until `succeeded` forgives it. */
export interface LoginAttempt {
  readonly source: string;
  readonly username: string;
  readonly lockedSource: boolean;
}

export type LoginVerdict =
  | { ok: true; attempt: LoginAttempt }
  | { ok: false; retryAfterMs: number; by: 'user' | 'source' };

export class LoginLimiter {
  private readonly users: FailureCounter;
  private readonly sources: FailureCounter;

  constructor(settings: LoginLimitSettings = DEFAULT_LOGIN_LIMITS) {
    this.users = new FailureCounter(settings.user);
    this.sources = new FailureCounter(settings.source);
  }

  /** Starts an attempt when neither its source nor its username is locked; the attempt counts as failed. */
  begin(source: string, username: string, now = Date.now()): LoginVerdict {
    const bySource = this.sources.lockedFor(source, now);
    if (bySource > 0) return { ok: false, retryAfterMs: bySource, by: 'source' };
    const byUser = this.users.lockedFor(username, now);
    if (byUser > 0) return { ok: false, retryAfterMs: byUser, by: 'user' };
    const lockedSource = this.sources.failed(source, now);
    this.users.failed(username, now);
    return { ok: true, attempt: { source, username, lockedSource } };
  }

  /**
   * The attempt logged in: it is no failure of its source, and the user's failures are forgotten (the
   * source's earlier ones are not: one right guess must not reset a spray).
   */
  succeeded(attempt: LoginAttempt): void {
    this.sources.forgive(attempt.source, attempt.lockedSource);
    this.users.clear(attempt.username);
  }
}
