/** What every backend client shares: address parsing, timeouts, TLS options, a clear error type. */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** A backend could not answer (down, slow, refused the query). The caller answers ignore/nomatch. */
export class BackendError extends Error {
  constructor(
    readonly backend: string,
    message: string,
  ) {
    super(`${backend}: ${message}`);
    this.name = 'BackendError';
  }
}

/** Error codes that mean "cannot reach the server" (as opposed to a bad query). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

/**
 * Reconnect backoff for pooled clients: after a connection failure, requests fail at once for a while
 * (200 ms, doubling up to 5 s) instead of each one hammering a server that is down; the first request
 * after the pause tries again, and a success resets it.
 */
export class Backoff {
  private failures = 0;
  private until = 0;
  private reason = '';

  constructor(
    private readonly backend: string,
    private readonly baseMs = 200,
    private readonly maxMs = 5000,
  ) {}

  /** Throws while the backend is in its pause. */
  check(): void {
    const left = this.until - Date.now();
    if (left > 0)
      throw new BackendError(this.backend, `unavailable (${this.reason}); next attempt in ${left} ms`);
  }

  /** Runs `fn` unless paused; a connection failure starts or lengthens the pause. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.check();
    try {
      const v = await fn();
      this.failures = 0;
      return v;
    } catch (err) {
      if (isConnectionError(err)) {
        this.failures++;
        this.reason = (err as Error).message;
        this.until = Date.now() + Math.min(this.baseMs * 2 ** (this.failures - 1), this.maxMs);
      }
      throw err;
    }
  }
}

/** True for errors that mean the server could not be reached or went away (not a bad query). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof BackendError) return /timed out/.test(err.message);
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  if (e?.code !== undefined && CONNECTION_CODES.has(e.code)) return true;
  // AggregateError from a dual-stack connect, pg's "Connection terminated", the Mongo driver's selection errors.
  if (Array.isArray(e?.errors) && e.errors.some(isConnectionError)) return true;
  return /connect|terminated|closed|server selection/i.test(e?.message ?? '');
}

/** "host[:port]" (or "[v6]:port") → {host, port}. */
export function parseServer(server: string, defaultPort: number): { host: string; port: number } {
  const s = server.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6 !== null) return { host: v6[1]!, port: v6[2] === undefined ? defaultPort : Number(v6[2]) };
  const i = s.lastIndexOf(':');
  if (i < 0 || s.indexOf(':') !== i) return { host: s, port: defaultPort };
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) || defaultPort };
}

/** A list of servers written "h1:p1,h2:p2" or as an array. */
export function parseServers(servers: string | string[] | undefined, fallback: string, defaultPort: number) {
  const list = servers === undefined ? [fallback] : Array.isArray(servers) ? servers : servers.split(',');
  return list
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => parseServer(s, defaultPort));
}

/** Rejects with BackendError when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, backend: string, what: string): Promise<T> {
  if (!(ms > 0) || ms === Number.POSITIVE_INFINITY) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BackendError(backend, `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Wraps any failure as a BackendError (keeping one that already is). */
export function asBackendError(backend: string, err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as { message?: string; code?: string };
  return new BackendError(backend, e?.message || e?.code || String(err));
}

/** The ssl block of a backend config. */
export interface SslConfig {
  enable: boolean;
  verify: 'verify_peer' | 'verify_none';
  cacertfile: string;
  certfile: string;
  keyfile: string;
  server_name_indication: string;
}

/** Node TLS options from an ssl block, or undefined when TLS is off. */
export function tlsOptions(ssl: SslConfig | undefined): ConnectionOptions | undefined {
  if (ssl === undefined || !ssl.enable) return undefined;
  const o: ConnectionOptions = { rejectUnauthorized: ssl.verify === 'verify_peer' };
  if (ssl.cacertfile !== '') o.ca = readFileSync(ssl.cacertfile);
  if (ssl.certfile !== '') o.cert = readFileSync(ssl.certfile);
  if (ssl.keyfile !== '') o.key = readFileSync(ssl.keyfile);
  if (ssl.server_name_indication !== '') o.servername = ssl.server_name_indication;
  return o;
}
