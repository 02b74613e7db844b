/**
 * A JWKS endpoint kept in memory: fetched at start and every refresh_interval, and again (at most every
 * few seconds) when a token names a key id the set does not have. A failed refresh keeps the last set.
 */
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { logger } from '../../log.js';
import { BackendError, withTimeout } from '../resources/common.js';
import type { ResourceStatus } from './types.js';

type KeyGetter = ReturnType<typeof createLocalJWKSet>;

const MIN_REFETCH_MS = 5000;

export class JwksCache {
  private keys: KeyGetter | undefined;
  private lastFetch = 0;
  private lastOk = false;
  private inflight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly endpoint: string,
    private readonly headers: Record<string, string>,
    refreshMs: number,
    private readonly timeoutMs = 5000,
  ) {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), Math.max(refreshMs, 1000));
    this.timer.unref();
  }

  /** Fetches the set now (one fetch at a time). */
  refresh(): Promise<void> {
    this.inflight ??= this.fetchSet().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchSet(): Promise<void> {
    this.lastFetch = Date.now();
    try {
      const res = await withTimeout(
        fetch(this.endpoint, { headers: this.headers }),
        this.timeoutMs,
        'jwks',
        'fetch',
      );
      if (res.status !== 200) throw new BackendError('jwks', `HTTP ${res.status}`);
      const set = (await res.json()) as JSONWebKeySet;
      if (!Array.isArray(set?.keys)) throw new BackendError('jwks', 'the response has no "keys" array');
      this.keys = createLocalJWKSet(set);
      this.lastOk = true;
    } catch (err) {
      this.lastOk = false;
      logger.warn(
        { endpoint: this.endpoint, reason: (err as Error).message },
        'authentication: cannot fetch the JWKS',
      );
    }
  }

  /** The current key getter, fetching first when there is none yet. */
  async getter(): Promise<KeyGetter> {
    if (this.keys === undefined) await this.refresh();
    if (this.keys === undefined) throw new BackendError('jwks', `no key set from ${this.endpoint}`);
    return this.keys;
  }

  /** Refetches after an unknown key id, unless a fetch happened moments ago. Returns true when it did. */
  async refetchForUnknownKey(): Promise<boolean> {
    if (Date.now() - this.lastFetch < MIN_REFETCH_MS) return false;
    await this.refresh();
    return true;
  }

  status(): ResourceStatus {
    return this.lastOk ? 'connected' : 'disconnected';
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
