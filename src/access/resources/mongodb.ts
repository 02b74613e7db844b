/**
 * MongoDB client for authn and authz (the official driver). Filters are documents whose string values
 * were rendered from placeholders: a value is compared as a string, it can never become an operator.
 */
import { type Document, MongoClient } from 'mongodb';
import type { ResourceStatus } from '../authn/types.js';
import { asBackendError, Backoff, parseServers, type SslConfig, tlsOptions, withTimeout } from './common.js';

export interface MongoConfig {
  mongo_type: 'single' | 'rs' | 'sharded';
  server: string;
  servers?: string | string[];
  replica_set_name: string;
  database: string;
  collection: string;
  username: string;
  password: string;
  auth_source: string;
  srv_record: boolean;
  pool_size: number;
  connect_timeout: number;
  query_timeout: number;
  ssl: SslConfig;
}

export class MongoBackend {
  private readonly client: MongoClient;
  private connecting: Promise<MongoClient> | undefined;
  private readonly backoff = new Backoff('mongodb');

  constructor(private readonly cfg: MongoConfig) {
    const hosts = (
      cfg.mongo_type === 'single'
        ? parseServers(undefined, cfg.server, 27017)
        : parseServers(cfg.servers, cfg.server, 27017)
    )
      .map((s) => (cfg.srv_record ? s.host : `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`))
      .join(',');
    const url = `${cfg.srv_record ? 'mongodb+srv' : 'mongodb'}://${hosts}/`;
    const tls = tlsOptions(cfg.ssl);
    this.client = new MongoClient(url, {
      maxPoolSize: cfg.pool_size,
      serverSelectionTimeoutMS: cfg.connect_timeout,
      connectTimeoutMS: cfg.connect_timeout,
      ...(cfg.mongo_type === 'single' && !cfg.srv_record ? { directConnection: true } : {}),
      ...(cfg.replica_set_name !== '' && cfg.mongo_type === 'rs' ? { replicaSet: cfg.replica_set_name } : {}),
      ...(cfg.username !== ''
        ? {
            auth: { username: cfg.username, password: cfg.password },
            authSource: cfg.auth_source || cfg.database,
          }
        : {}),
      ...(tls !== undefined
        ? { tls: true, tlsAllowInvalidCertificates: tls.rejectUnauthorized === false }
        : {}),
    });
  }

  private connected(): Promise<MongoClient> {
    this.connecting ??= this.client.connect().catch((err: unknown) => {
      // Try again on the next request; the driver itself retries server selection meanwhile.
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Documents of the configured collection matching `filter` (at most `limit`, skipping `skip`). */
  async find(filter: Document, limit: number, skip = 0): Promise<Document[]> {
    try {
      return await this.backoff.run(async () => {
        const c = await withTimeout(this.connected(), this.cfg.connect_timeout + 100, 'mongodb', 'connect');
        const cursor = c
          .db(this.cfg.database)
          .collection(this.cfg.collection)
          .find(filter, { limit, skip, maxTimeMS: this.cfg.query_timeout });
        return await withTimeout(cursor.toArray(), this.cfg.query_timeout + 100, 'mongodb', 'find');
      });
    } catch (err) {
      throw asBackendError('mongodb', err);
    }
  }

  async status(): Promise<ResourceStatus> {
    try {
      const c = await withTimeout(this.connected(), this.cfg.connect_timeout, 'mongodb', 'connect');
      await withTimeout(
        c.db(this.cfg.database).command({ ping: 1 }),
        this.cfg.connect_timeout,
        'mongodb',
        'ping',
      );
      return 'connected';
    } catch {
      return 'disconnected';
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}
