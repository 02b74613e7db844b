/**
 * One configured ExHook server: loads it (OnProviderLoaded, trying proto v3, v2, then v1), keeps the hooks it
 * asked for, sends its calls through per-client queues, retries a failed load every `auto_reconnect`,
 * notices a lost server in the health check, and unloads it (OnProviderUnloaded) when it goes away.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { topicFilterError, topicMatches } from '../broker/topic.js';
import type { ExhookServerConfig } from '../config/schema/exhook.js';
import { logger } from '../log.js';
import { type CallResult, connectProvider, type ProviderConnection } from './connection.js';
import { type Job, KeyedQueue } from './keyed-queue.js';
import { ServerMetrics } from './metrics.js';
import { API_VERSIONS, type ApiVersion } from './proto.js';
import { fromV1HookName, toV1Request } from './v1.js';
import {
  EXHOOK_POINTS,
  EXHOOK_RPCS,
  type ExhookPoint,
  isExhookPoint,
  isMessagePoint,
  type PbBrokerInfo,
  type PbLoadedResponse,
  type PbRequest,
  type PbRequestMeta,
} from './wire.js';

const ignoreResult = (): void => undefined;

/** EMQX's server states. */
export type ServerStatus = 'connected' | 'connecting' | 'disconnected' | 'disabled';

/** What a server needs from the broker. */
export interface ServerHost {
  brokerInfo(): PbBrokerInfo;
  meta(): PbRequestMeta;
  /** Called whenever the set of hooks this server wants changes (loaded, reloaded, unloaded). */
  hooksChanged(): void;
}

/** OnProviderUnloaded gets this long, whatever request_timeout says (EMQX's fixed 5 s). */
const UNLOAD_TIMEOUT = 5000;
/** The health check waits at most this long for a connection. */
const PROBE_TIMEOUT = 5000;
/** Failures are logged at most this often per server: a dead server under load would flood the log. */
const FAILURE_LOG_INTERVAL = 10_000;

/** Fields only proto v3 has, left out of requests to a v2 server. */
const V3_ONLY: Partial<Record<ExhookPoint, string[]>> = {
  'client.connect': ['user_props'],
  'client.connack': ['user_props'],
  'client.subscribe': ['user_props'],
  'client.unsubscribe': ['user_props'],
  'message.publish': ['props', 'user_props'],
};

/** One ExHook server, its state and its calls. */
export class ExHookServer {
  status: ServerStatus;
  /** The proto package the server answered on (known once loaded). */
  version: ApiVersion | undefined;
  /** Why the last load failed (cleared by a successful load). */
  lastError: string | undefined;
  readonly metrics = new ServerMetrics();
  /** The hooks the server asked for, with their topic filters (message.* only; empty = every topic). */
  private hooks: Map<ExhookPoint, string[]> | undefined;
  private conn: ProviderConnection | undefined;
  private readonly queue = new KeyedQueue();
  private retryTimer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private checking = false;
  /** Loaded, then found unreachable by the health check: reloaded as soon as it answers again. */
  private lost = false;
  private stopped = false;
  private lastFailureLog = 0;

  constructor(
    readonly cfg: ExhookServerConfig,
    private readonly host: ServerHost,
  ) {
    this.status = cfg.enable ? 'connecting' : 'disabled';
  }

  get name(): string {
    return this.cfg.name;
  }

  /** The hooks the server asked for (empty until loaded). */
  hookSpecs(): Array<{ name: ExhookPoint; topics: string[] }> {
    return [...(this.hooks ?? [])].map(([name, topics]) => ({ name, topics: [...topics] }));
  }

  /** True when the server asked for `point` and, for message hooks, one of its filters matches `topic`. */
  wants(point: ExhookPoint, topic?: string): boolean {
    const filters = this.hooks?.get(point);
    if (filters === undefined) return false;
    if (topic === undefined || filters.length === 0) return true;
    for (const f of filters) if (topicMatches(f, topic)) return true;
    return false;
  }

  get failedAction(): 'deny' | 'ignore' {
    return this.cfg.failed_action;
  }

  /** Makes the first load attempt (resolves when it succeeded or failed; retries go on in the background). */
  start(): Promise<void> {
    if (!this.cfg.enable || this.stopped) return Promise.resolve();
    try {
      this.conn = connectProvider(this.cfg);
    } catch (err) {
      this.failLoad((err as Error).message);
      return Promise.resolve();
    }
    return this.load();
  }

  /** Takes the server out of the chain, tells it (OnProviderUnloaded, 5 s) and closes its connections. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    const wasLoaded = this.hooks !== undefined;
    this.setHooks(undefined);
    await this.drain(1000);
    this.queue.close();
    const conn = this.conn;
    if (conn === undefined) return;
    if (wasLoaded && this.version !== undefined) {
      const r = await conn.call(
        'OnProviderUnloaded',
        this.version,
        { meta: this.host.meta() },
        '',
        Date.now() + UNLOAD_TIMEOUT,
      );
      if (!r.ok) logger.warn({ exhook: this.name, err: r.message }, 'exhook: OnProviderUnloaded failed');
    }
    conn.close();
    this.conn = undefined;
  }

  /**
   * Sends a valued call (authenticate, authorize, publish) behind the key's earlier calls; never rejects.
   * A `pipelined` call does not wait for the answers of the key's earlier pipelined calls (keyed-queue.ts).
   */
  call(point: ExhookPoint, key: string, request: PbRequest, pipelined = false): Promise<CallResult> {
    return new Promise((resolve) => {
      const notAfter = Date.now() + this.cfg.request_timeout;
      const job: Job = {
        notAfter,
        pipelined,
        // Not async: one promise (the call's) and one continuation per call on the message path.
        run: () => this.send(point, key, request, notAfter).then(resolve),
        abandon: (reason) => {
          this.metrics.record(point, false);
          resolve({
            ok: false,
            code: grpcStatus.DEADLINE_EXCEEDED,
            message: `call ${reason} before it was sent`,
          });
        },
      };
      if (!this.queue.push(key, job)) {
        const why = this.stopped ? 'server removed' : 'queue full';
        this.metrics.record(point, false);
        this.logFailure(point, why);
        resolve({ ok: false, code: grpcStatus.RESOURCE_EXHAUSTED, message: why });
      }
    });
  }

  /** Queues a notification behind the key's earlier calls and returns at once. */
  notify(point: ExhookPoint, key: string, request: PbRequest): void {
    const job: Job = {
      notAfter: Number.POSITIVE_INFINITY,
      run: () => this.send(point, key, request, Date.now() + this.cfg.request_timeout).then(ignoreResult),
      abandon: () => this.metrics.record(point, false),
    };
    if (!this.queue.push(key, job)) {
      this.metrics.record(point, false);
      this.logFailure(point, this.stopped ? 'server removed' : 'queue full, notification dropped');
    }
  }

  /** Health check: a loaded server that cannot be reached is marked lost; a lost one that answers is reloaded. */
  async healthCheck(): Promise<void> {
    const conn = this.conn;
    if (this.stopped || conn === undefined || this.hooks === undefined || this.checking || this.loading)
      return;
    this.checking = true;
    try {
      const ok = await conn.probe(Date.now() + Math.min(this.cfg.request_timeout, PROBE_TIMEOUT));
      if (this.stopped) return;
      if (!ok && !this.lost) {
        this.lost = true;
        // The hooks stay in the chain: while the server is away its calls fail and failed_action decides.
        this.status = this.cfg.auto_reconnect > 0 ? 'connecting' : 'disconnected';
        logger.warn({ exhook: this.name }, 'exhook: server unreachable');
      } else if (ok && this.lost) {
        await this.load();
      }
    } finally {
      this.checking = false;
    }
  }

  /** Samples the call rates (once a second). */
  sample(now: number): void {
    this.metrics.sample(now);
  }

  /** Calls waiting or running. */
  get queued(): number {
    return this.queue.size;
  }

  private send(point: ExhookPoint, key: string, request: PbRequest, deadline: number): Promise<CallResult> {
    const conn = this.conn;
    const version = this.version;
    if (conn === undefined || version === undefined) {
      this.metrics.record(point, false);
      return Promise.resolve({ ok: false, code: grpcStatus.UNAVAILABLE, message: 'server not loaded' });
    }
    // A request may come with its meta (message.publish, callbacks.ts): no copy to add it.
    let body: PbRequest = request.meta === undefined ? { ...request, meta: this.host.meta() } : request;
    const drop = version === 'v2' ? V3_ONLY[point] : undefined;
    if (drop !== undefined) {
      body = { ...body };
      for (const f of drop) delete body[f];
    }
    if (version === 'v1') body = toV1Request(point, body);
    return conn.call(EXHOOK_RPCS[point], version, body, key, deadline).then((r) => {
      this.metrics.record(point, r.ok);
      if (!r.ok) this.logFailure(point, r.message);
      return r;
    });
  }

  private load(): Promise<void> {
    this.loading ??= this.doLoad().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    const conn = this.conn;
    if (conn === undefined || this.stopped) return;
    const request = { broker: this.host.brokerInfo(), meta: this.host.meta() };
    let failure = 'no answer';
    for (const version of API_VERSIONS) {
      const r = await conn.call(
        'OnProviderLoaded',
        version,
        request,
        '',
        Date.now() + this.cfg.request_timeout,
      );
      if (this.stopped) return;
      if (r.ok) {
        const hooks = parseHooks(r.response as PbLoadedResponse, version);
        if (typeof hooks === 'string') return this.failLoad(hooks);
        this.version = version;
        this.lastError = undefined;
        this.lost = false;
        this.status = 'connected';
        this.setHooks(hooks);
        logger.info(
          { exhook: this.name, proto: `emqx.exhook.${version}`, hooks: [...hooks.keys()] },
          'exhook: loaded',
        );
        return;
      }
      failure = r.message;
      // A server built from the other proto package answers UNIMPLEMENTED: try the next one.
      if (r.code !== grpcStatus.UNIMPLEMENTED) break;
    }
    this.failLoad(failure);
  }

  private failLoad(reason: string): void {
    this.lastError = reason;
    this.lost = false;
    this.setHooks(undefined);
    const retry = this.cfg.auto_reconnect;
    // Without a connection (bad url or certificate files) a retry cannot succeed: only a config change helps.
    const willRetry = retry > 0 && !this.stopped && this.conn !== undefined;
    this.status = willRetry ? 'connecting' : 'disconnected';
    logger.warn({ exhook: this.name, url: this.cfg.url, err: reason }, 'exhook: load failed');
    if (willRetry) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.load();
      }, retry);
      this.retryTimer.unref();
    }
  }

  private setHooks(hooks: Map<ExhookPoint, string[]> | undefined): void {
    if (this.hooks === undefined && hooks === undefined) return;
    this.hooks = hooks;
    this.host.hooksChanged();
  }

  /** Waits (bounded) for queued calls to go out, so a stopping broker's last events still reach the server. */
  private async drain(maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while (this.queue.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  private logFailure(point: ExhookPoint, message: string): void {
    const now = Date.now();
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL) return;
    this.lastFailureLog = now;
    logger.warn(
      { exhook: this.name, hook: point, err: message },
      'exhook: call failed (further failures muted for 10s)',
    );
  }
}

/**
 * The hooks of a LoadedResponse, or why the load must fail (an unknown name fails it whole, as in EMQX).
 * A v1 server's names for renamed hooks are taken as the current names.
 */
function parseHooks(resp: PbLoadedResponse, version: ApiVersion): Map<ExhookPoint, string[]> | string {
  const out = new Map<ExhookPoint, string[]>();
  for (const spec of resp.hooks ?? []) {
    const name = version === 'v1' ? fromV1HookName(spec.name) : spec.name;
    if (!isExhookPoint(name)) {
      return `unknown_hookpoint: OnProviderLoaded returned "${spec.name}", which is not one of ${EXHOOK_POINTS.join(', ')}`;
    }
    const topics = isMessagePoint(name) ? (spec.topics ?? []) : [];
    // An invalid filter can never match (EMQX ignores it the same way); say so rather than fail the load.
    for (const t of topics) {
      const err = topicFilterError(t);
      if (err !== undefined) logger.warn({ hook: name, topic: t, err }, 'exhook: topic filter never matches');
    }
    out.set(name, topics);
  }
  return out;
}
