/**
 * MySQL / MariaDB client for authn and authz (mysql2). Placeholders are sent as server-side prepared
 * statement parameters (`execute`), never pasted into the SQL text. The pool opens connections on demand,
 * so a database that comes back is used again without a restart.
 */
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import type { ResourceStatus } from '../authn/types.js';
import { asBackendError, Backoff, parseServer, type SslConfig, tlsOptions, withTimeout } from './common.js';

export interface MysqlConfig {
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
export class MysqlClient {
  private readonly backoff = new Backoff('mysql');
  private readonly pool: Pool;

  constructor(private readonly cfg: MysqlConfig) {
    const { host, port } = parseServer(cfg.server, 3306);
    const ssl = tlsOptions(cfg.ssl);
    this.pool = createPool({
      host,
      port,
      user: cfg.username,
      password: cfg.password,
      database: cfg.database,
      connectionLimit: cfg.pool_size,
      connectTimeout: cfg.connect_timeout,
      waitForConnections: true,
      // Rows come back as plain objects keyed by column name; no type surprises for is_superuser.
      supportBigNumbers: true,
      ...(ssl !== undefined
        ? {
            ssl: {
              ca: ssl.ca as string,
              cert: ssl.cert as string,
              key: ssl.key as string,
              rejectUnauthorized: ssl.rejectUnauthorized,
            },
          }
        : {}),
    });
    // An idle connection dropped by the server is removed from the pool; nothing to do but not crash.
    this.pool.on('connection', (conn) => conn.on('error', () => undefined));
  }

  /** Runs a query with bound parameters (rows as objects); fails at once while the server is in backoff. */
  async query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> {
    try {
      return await this.backoff.run(async () => {
        const [rows] = await withTimeout(
          this.pool.execute<RowDataPacket[]>({ sql, timeout: this.cfg.query_timeout }, params as never[]),
          this.cfg.query_timeout + this.cfg.connect_timeout,
          'mysql',
          'query',
        );
        return rows as Record<string, unknown>[];
      });
    } catch (err) {
      throw asBackendError('mysql', err);
    }
  }

  async status(): Promise<ResourceStatus> {
    try {
      await withTimeout(this.pool.query('SELECT 1'), this.cfg.connect_timeout, 'mysql', 'health check');
      return 'connected';
    } catch {
      return 'disconnected';
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
