/**
 * One loaded gateway: its live config, status and timestamps, its listeners (several per type, each with
 * access rules, limits, mountpoint and enable_authn), its connections and counters. Enabling starts the
 * listeners; disabling closes them and every connection but keeps the config; an update restarts only the
 * listeners whose transport settings changed.
 */

import type { Session } from '../broker/session.js';
import type { ConnInfo } from '../broker/types.js';
import type { GatewayListenerType } from '../config/schema/gateway-common.js';
import { type Logger, logger } from '../log.js';
import { AccessRules } from '../transport/access-rules.js';
import type { Connection } from '../transport/connection.js';
import type { ListenerEvents } from '../transport/listener.js';
import { GatewayClients } from './clients.js';
import { GatewayConnection } from './conn.js';
import type { GatewayEnv } from './env.js';
import { GatewayMetrics } from './metrics.js';
import type { GatewayScope } from './scope.js';
import { transportFor } from './transports.js';
import type {
  GatewayCommonConfig,
  GatewayListenerConfig,
  GatewayListenerInfo,
  GatewayModule,
  GatewayRuntime,
  GatewayService,
  TransportListener,
} from './types.js';

/** A loaded gateway runs, or is stopped (disabled) with its config kept. */
export type GatewayStatus = 'running' | 'stopped';

/** A configured listener and, while it runs, its transport. */
export interface GatewayListener {
  info: GatewayListenerInfo;
  config: GatewayListenerConfig;
  rules: AccessRules;
  transport: TransportListener | undefined;
}

/** Listener keys that only shape new clients: changing them needs no restart. */
const LIVE_KEYS = new Set(['mountpoint', 'enable_authn', 'access_rules', 'authentication']);

/** Every configured listener of a gateway config as [type, name, config]. */
export function listenerEntries(
  cfg: GatewayCommonConfig,
): Array<[GatewayListenerType, string, GatewayListenerConfig]> {
  const out: Array<[GatewayListenerType, string, GatewayListenerConfig]> = [];
  for (const [type, byName] of Object.entries(cfg.listeners ?? {}) as Array<
    [GatewayListenerType, Record<string, GatewayListenerConfig> | undefined]
  >) {
    for (const [name, l] of Object.entries(byName ?? {})) out.push([type, name, l]);
  }
  return out;
}

/** A loaded gateway: config, status, listeners, connections, counters and clients. */
export class Gateway implements GatewayScope {
  readonly connections = new Set<GatewayConnection<unknown>>();
  readonly metrics = new GatewayMetrics();
  readonly listeners = new Map<string, GatewayListener>();
  /** The last connection facts of each session, so an offline session still shows how its client connected. */
  readonly lastConn = new WeakMap<Session, ConnInfo>();
  readonly clients = new GatewayClients(this);
  /** Logged-in connections by client id (sessionless ones included: the broker registry does not know them). */
  private readonly byClientId = new Map<string, GatewayConnection<unknown>>();
  readonly createdAt = Date.now();
  status: GatewayStatus = 'stopped';
  startedAt: number | undefined;
  stoppedAt: number | undefined;
  readonly log: Logger;
  private service: GatewayService | undefined;

  constructor(
    readonly module: GatewayModule,
    public config: GatewayCommonConfig,
    readonly env: GatewayEnv,
  ) {
    this.log = logger.child({ gateway: module.name });
  }

  get name(): string {
    return this.module.name;
  }

  /** Starts the gateway's service and enabled listeners; on failure everything started is stopped again. */
  async start(): Promise<void> {
    if (this.status === 'running') return;
    try {
      if (this.module.start !== undefined) this.service = await this.module.start(this.runtime());
      for (const [type, name, cfg] of listenerEntries(this.config)) {
        const l = this.describe(type, name, cfg);
        this.listeners.set(l.info.id, l);
        if (cfg.enable) await this.startListener(l);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.status = 'running';
    this.startedAt = Date.now();
    this.log.info({ listeners: [...this.listeners.keys()] }, `gateway ${this.name} started`);
  }

  /** Stops listeners, closes every connection, stops the service. The config stays. */
  async stop(): Promise<void> {
    const wasRunning = this.status === 'running';
    this.status = 'stopped';
    for (const l of this.listeners.values()) await l.transport?.stop(false);
    for (const c of [...this.connections]) c.kick('shutdown');
    for (const l of this.listeners.values()) await this.stopListener(l);
    this.listeners.clear();
    const svc = this.service;
    this.service = undefined;
    await svc?.stop();
    if (wasRunning) {
      this.stoppedAt = Date.now();
      this.log.info(`gateway ${this.name} stopped`);
    }
  }

  /** Applies a new config of this gateway (enable toggles, listener changes, anything else live). */
  async update(next: GatewayCommonConfig): Promise<void> {
    const prev = this.config;
    this.config = next;
    if (!next.enable) {
      await this.stop();
      return;
    }
    if (this.status !== 'running') {
      await this.start();
      return;
    }
    const wanted = new Map(
      listenerEntries(next).map(([t, n, c]) => [`${this.name}:${t}:${n}`, this.describe(t, n, c)]),
    );
    for (const [id, l] of [...this.listeners]) {
      const w = wanted.get(id);
      if (w === undefined || !w.config.enable || needsRestart(l.config, w.config)) {
        await this.stopListener(l);
        this.listeners.delete(id);
      }
    }
    for (const [id, w] of wanted) {
      const l = this.listeners.get(id);
      if (l !== undefined) {
        // Same transport: new clients pick up the new mountpoint, enable_authn and access rules.
        l.info = w.info;
        l.config = w.config;
        l.rules = w.rules;
        continue;
      }
      this.listeners.set(id, w);
      if (w.config.enable) await this.startListener(w);
    }
    if (prev.mountpoint !== next.mountpoint) this.log.info('mountpoint changed; applies to new clients');
    this.service?.update?.(next);
  }

  /** Drives a new connection of one of this gateway's listeners (a listener's accept, or a test's pair). */
  open(conn: Connection, listener: GatewayListenerInfo): GatewayConnection<unknown> {
    return new GatewayConnection(this, conn, listener);
  }

  opened(c: GatewayConnection<unknown>): void {
    this.connections.add(c);
  }

  /** A later login with the same id replaces the entry. */
  track(c: GatewayConnection<unknown>): void {
    this.byClientId.set(c.clientid, c);
  }

  closed(c: GatewayConnection<unknown>): void {
    this.connections.delete(c);
    if (this.byClientId.get(c.clientid) === c) this.byClientId.delete(c.clientid);
  }

  /** The logged-in connection of a client id. */
  connection(clientid: string): GatewayConnection<unknown> | undefined {
    return this.byClientId.get(clientid);
  }

  loggedIn(): Iterable<GatewayConnection<unknown>> {
    return this.byClientId.values();
  }

  /** The gateway as its service and API routes see it. */
  runtime(): GatewayRuntime {
    const gw = this;
    return {
      name: this.name,
      node: this.env.node,
      get config() {
        return gw.config;
      },
      log: this.log,
      publish: (msg) => this.env.broker.publish(msg),
      connection: (clientid) => this.connection(clientid),
    };
  }

  /** Current connections over all listeners. */
  get currentConnections(): number {
    let n = 0;
    for (const l of this.listeners.values()) n += l.transport?.currentConnections ?? 0;
    return n;
  }

  private describe(type: GatewayListenerType, name: string, cfg: GatewayListenerConfig): GatewayListener {
    return {
      info: {
        id: `${this.name}:${type}:${name}`,
        type,
        name,
        mountpoint: cfg.mountpoint ?? this.config.mountpoint,
        enableAuthn: cfg.enable_authn,
      },
      config: cfg,
      rules: new AccessRules(cfg.access_rules),
      transport: undefined,
    };
  }

  private async startListener(l: GatewayListener): Promise<void> {
    const { info, config } = l;
    const factory = await transportFor(info.type);
    const events: ListenerEvents = {
      onConnection: (conn) => this.accept(l, conn),
      onRefused: (reason, peerhost, detail) => {
        if (reason === 'max_connections') this.metrics.inc('client.max_connections_exceeded');
        this.log.warn({ listener: info.id, peer: peerhost, reason, detail }, 'connection refused');
      },
      onError: (err) => this.log.error({ listener: info.id, err }, 'listener error'),
    };
    const transport = factory(
      {
        id: info.id,
        type: info.type,
        bind: config.bind,
        maxConnections: config.max_connections,
        maxConnRate: config.max_conn_rate,
        config,
        idleTimeoutMs: this.config.idle_timeout,
        routeDatagram: this.module.routeDatagram,
        refusalReply: this.module.refusalReply,
        psk: info.type === 'dtls' ? await this.env.psk?.() : undefined,
      },
      events,
    );
    try {
      await transport.start();
    } catch (err) {
      throw new Error(`cannot start listener ${info.id}: ${(err as Error).message}`);
    }
    l.transport = transport;
    const addr = transport.address();
    this.log.info(
      { listener: info.id, bind: addr ? `${addr.host}:${addr.port}` : undefined },
      'listener started',
    );
  }

  private async stopListener(l: GatewayListener): Promise<void> {
    const t = l.transport;
    l.transport = undefined;
    if (t === undefined) return;
    for (const c of [...this.connections]) if (c.listener.id === l.info.id) c.kick('shutdown');
    await t.stop(true);
  }

  private accept(l: GatewayListener, conn: Connection): void {
    if (!l.rules.allows(conn.peerhost)) {
      this.metrics.inc('client.access_denied');
      this.log.info({ listener: l.info.id, peer: conn.peerhost }, 'connection refused by access_rules');
      conn.destroy();
      return;
    }
    try {
      this.open(conn, l.info);
    } catch (err) {
      this.log.error({ err, listener: l.info.id }, 'cannot set up a connection');
      conn.destroy();
    }
  }
}

function needsRestart(a: GatewayListenerConfig, b: GatewayListenerConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (LIVE_KEYS.has(k)) continue;
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (JSON.stringify(x, infinityAware) !== JSON.stringify(y, infinityAware)) return true;
  }
  return false;
}

/** JSON has no Infinity; without this 1024 → infinity would look unchanged (both null). */
export function infinityAware(_k: string, v: unknown): unknown {
  return v === Number.POSITIVE_INFINITY ? 'infinity' : v;
}
