/**
 * Login (Bearer) tokens: opaque random strings mapped to a dashboard user and an expiry. Expired tokens are
 * remembered for a while so a client is told TOKEN_TIME_OUT rather than BAD_TOKEN.
 */
import { randomToken } from './secrets.js';

/** How long an expired token is still recognised as "expired" before it becomes unknown. */
const REMEMBER_EXPIRED_MS = 3600_000;

export type TokenCheck = { ok: true; username: string } | { ok: false; reason: 'expired' | 'unknown' };

export class Tokens {
  private readonly tokens = new Map<string, { username: string; expiresAt: number }>();

  /** `ttlMs` is read per call so a runtime change of dashboard.token_expired_time applies to new logins. */
  constructor(private readonly ttlMs: () => number) {}

  issue(username: string): string {
    this.purge();
    const token = randomToken(32);
    this.tokens.set(token, { username, expiresAt: Date.now() + this.ttlMs() });
    return token;
  }

  check(token: string): TokenCheck {
    const t = this.tokens.get(token);
    if (t === undefined) return { ok: false, reason: 'unknown' };
    if (t.expiresAt <= Date.now()) return { ok: false, reason: 'expired' };
    return { ok: true, username: t.username };
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Ends every session of a user (password change, deletion). */
  revokeUser(username: string): void {
    for (const [token, t] of this.tokens) if (t.username === username) this.tokens.delete(token);
  }

  private purge(): void {
    const limit = Date.now() - REMEMBER_EXPIRED_MS;
    for (const [token, t] of this.tokens) if (t.expiresAt < limit) this.tokens.delete(token);
  }
}
