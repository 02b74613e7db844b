/**
 * PostgreSQL client for authn and authz (pg). Placeholders become `$n` parameters of the extended query
 * protocol, never text in the SQL. The pool reconnects on demand after the server comes back.
 */
import pg from 'pg';
import type { ResourceStatus } from '../authn/types.js';
import { asBackendError, Backoff, parseServer, type SslConfig, tlsOptions, withTimeout } from './common.js';

export interface PostgresConfig {
  server: string;
  database: string;
  username: string;
  password: string;
  pool_size: number;
  connect_timeout: number;
  query_timeout: number;
  ssl: SslConfig;
}

/** A connection pool with bounded queries. */
export class PostgresClient {
  private readonly backoff = new Backoff('postgresql');
  private readonly pool: pg.Pool;

  constructor(private readonly cfg: PostgresConfig) {
    const { host, port } = parseServer(cfg.server, 5432);
    this.pool = new pg.Pool({
      host,
      port,
      user: cfg.username,
      password: cfg.password,
      database: cfg.database,
      max: cfg.pool_size,
      connectionTimeoutMillis: cfg.connect_timeout,
      query_timeout: cfg.query_timeout,
      idleTimeoutMillis: 30_000,
      ssl: tlsOptions(cfg.ssl),
    });
    // pg emits 'error' for idle clients whose server went away; unhandled it would crash the node.
    this.pool.on('error', () => undefined);
  }

  /** Runs a query with bound parameters (rows as objects); fails at once while the server is in backoff. */
  async query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return await this.backoff.run(async () => {
        const r = await withTimeout(
          this.pool.query({ text: sql, values: params }),
          this.cfg.query_timeout + this.cfg.connect_timeout,
          'postgresql',
          'query',
        );
        return r.rows as Record<string, unknown>[];
      });
    } catch (err) {
      throw asBackendError('postgresql', err);
    }
  }

  async status(): Promise<ResourceStatus> {
    try {
      await withTimeout(this.pool.query('SELECT 1'), this.cfg.connect_timeout, 'postgresql', 'health check');
      return 'connected';
    } catch {
      return 'disconnected';
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
