/**
 * Redis client for authn and authz (ioredis). A command template is split into words first and each
 * word rendered on its own, so a placeholder value is always exactly one argument: it cannot add words
 * or commands. ioredis reconnects with the backoff below; commands wait at most command_timeout.
 */
import { Cluster, Redis } from 'ioredis';
import type { ResourceStatus } from '../authn/types.js';
import type { Lookup } from '../template.js';
import {
  asBackendError,
  parseServer,
  parseServers,
  type SslConfig,
  tlsOptions,
  withTimeout,
} from './common.js';
import type { RedisCommand } from './redis-command.js';

export interface RedisConfig {
  redis_type: 'single' | 'cluster' | 'sentinel';
  server: string;
  servers?: string | string[];
  sentinel: string;
  database: number;
  username: string;
  password: string;
  connect_timeout: number;
  command_timeout: number;
  ssl: SslConfig;
}

/** Backoff between reconnect attempts: 200 ms, 400 ms, … capped at 5 s. */
const retryStrategy = (times: number) => Math.min(times * 200, 5000);

/** One client (or cluster client) per authenticator/source. */
export class RedisClient {
  private readonly client: Redis | Cluster;

  constructor(private readonly cfg: RedisConfig) {
    const tls = tlsOptions(cfg.ssl);
    const common = {
      username: cfg.username || undefined,
      password: cfg.password || undefined,
      connectTimeout: cfg.connect_timeout,
      commandTimeout: cfg.command_timeout,
      maxRetriesPerRequest: 1,
      retryStrategy,
      ...(tls !== undefined ? { tls } : {}),
    };
    if (cfg.redis_type === 'cluster') {
      this.client = new Cluster(parseServers(cfg.servers, cfg.server, 6379), {
        redisOptions: common,
        clusterRetryStrategy: retryStrategy,
      });
    } else if (cfg.redis_type === 'sentinel') {
      this.client = new Redis({
        ...common,
        db: cfg.database,
        sentinels: parseServers(cfg.servers, cfg.server, 26379),
        name: cfg.sentinel,
      });
    } else {
      const { host, port } = parseServer(cfg.server, 6379);
      this.client = new Redis({ ...common, host, port, db: cfg.database });
    }
    // Connection errors are reported through status and per-command failures; the event needs a listener.
    this.client.on('error', () => undefined);
  }

  /** Runs a parsed command with its arguments rendered from `lookup`. */
  async run(cmd: RedisCommand, lookup: Lookup): Promise<unknown> {
    const args = cmd.args.map((t) => t.text(lookup));
    try {
      return await withTimeout(
        this.client.call(cmd.name, ...args),
        this.cfg.command_timeout + 100,
        'redis',
        cmd.name,
      );
    } catch (err) {
      throw asBackendError('redis', err);
    }
  }

  status(): ResourceStatus {
    const s = this.client.status;
    if (s === 'ready') return 'connected';
    return s === 'connecting' || s === 'connect' || s === 'reconnecting' ? 'connecting' : 'disconnected';
  }

  close(): void {
    this.client.disconnect();
  }
}
