/**
 * A Hermod node: builds the broker, its built-in hook users (retainer, $SYS), access control, the embedded
 * store and the MQTT listeners from one config, and stops them gracefully.
 */
import { join } from 'node:path';
import { AccessControl } from './access/access-control.js';
import { AuthnService } from './access/authn/service.js'; // access
import { AuthzService } from './access/authz/service.js'; // access
import { liveClients, startAccess, stopAccess } from './access/node-binding.js'; // access
import { Broker } from './broker/broker.js';
import { DeadlineMonitor } from './broker/deadlines.js';
import { Hooks } from './broker/hooks.js';
import { setMessageNodeTag } from './broker/message.js';
import { Metrics } from './broker/metrics.js';
import { Retainer } from './broker/retainer.js';
import { restoreSessions, saveSessions } from './broker/session-store.js';
import type { SharedStrategy } from './broker/shared-sub.js';
import { SysPublisher } from './broker/sys.js';
import type { ClientInfo } from './broker/types.js';
import type { HermodConfig } from './config/schema/index.js';
import type { ListenerConfig, ListenerType } from './config/schema/listeners.js';
import { ConfigService, OVERRIDE_FILE, type RootKey } from './config/service.js';
import { ExHookService } from './exhook/service.js'; // exhook
import { GatewayRegistry } from './gateway/registry.js'; // gateway
import { logger } from './log.js';
import { type Management, startManagement } from './mgmt/server.js'; // mgmt
import { MqttChannel } from './mqtt/channel.js';
import type { MqttContext, MqttListenerInfo } from './mqtt/context.js';
import { sessionSettings } from './mqtt/handlers/connect.js';
import { type Db, openStore } from './store/db.js';
import { AccessRules } from './transport/access-rules.js';
import { createListener } from './transport/index.js';
import type { Listener, ListenerOptions } from './transport/listener.js';

export interface NodeOptions {
  /** ':memory:' keeps the store in memory (tests); default is node.data_dir. */
  store?: ':memory:' | string;
  /** The raw (file-form) config the decoded one came from; runtime changes build on it. */
  raw?: Record<string, unknown>;
  /** Runtime changes already persisted (read from the override file at boot). */
  overrides?: Partial<Record<RootKey, unknown>>;
  /** Persist runtime changes to node.data_dir/configs/cluster.hocon (default: when the store is on disk). */
  persistOverrides?: boolean;
}

export class HermodNode {
  readonly hooks = new Hooks();
  readonly metrics = new Metrics();
  readonly broker: Broker;
  readonly access: AccessControl;
  readonly mqtt: MqttContext;
  readonly listeners = new Map<string, Listener>();
  readonly configService: ConfigService;
  retainer!: Retainer;
  sys!: SysPublisher;
  /** exhook: gRPC hook provider servers (issue 6). */
  readonly exhook = new ExHookService(this); // exhook
  /** gateway: protocol gateways (STOMP, MQTT-SN, …), issue 5. */
  readonly gateways = new GatewayRegistry(this); // gateway
  /** access: authentication chains by name (issue 4); gateways and plugins use it too. */
  readonly authn = new AuthnService(this.hooks); // access
  /** access: authorization sources, built-in rules and cache clearing (issue 4). */
  readonly authz = new AuthzService(this.hooks, liveClients(this)); // access
  db: Db | undefined;
  /** mgmt: REST API, bans, alarms, dashboard users; set at the end of start(). */
  mgmt: Management | undefined;
  private readonly deadlines = new DeadlineMonitor();
  private stopping: Promise<void> | undefined;

  constructor(
    config: HermodConfig,
    private readonly options: NodeOptions = {},
  ) {
    const persist = options.persistOverrides ?? options.store !== ':memory:';
    this.configService = new ConfigService(
      options.raw ?? {},
      config,
      persist ? join(config.node.data_dir, OVERRIDE_FILE) : undefined,
      options.overrides,
    );
    setMessageNodeTag(config.node.name);
    const m = config.mqtt;
    this.broker = new Broker(
      {
        node: config.node.name,
        sharedStrategy: m.shared_subscription_strategy as SharedStrategy,
        sharedInitialSticky: m.shared_subscription_initial_sticky_pick as SharedStrategy,
        ignoreLoopDeliver: m.ignore_loop_deliver,
      },
      this.hooks,
      this.metrics,
    );
    this.access = new AccessControl(this.hooks, this.metrics);
    this.mqtt = {
      broker: this.broker,
      access: this.access,
      mqtt: config.mqtt,
      deadlines: this.deadlines,
      banned: undefined,
      authzCache: { enable: true, maxSize: 32, ttl: 60_000 },
      channels: new Set(),
    };
  }

  /** The live config (replaced on every runtime change). */
  get config(): HermodConfig {
    return this.configService.config;
  }

  get name(): string {
    return this.config.node.name;
  }

  /** Opens the store, restores state, starts built-in services and every enabled listener. */
  async start(): Promise<void> {
    this.db = openStore(this.options.store ?? this.config.node.data_dir);
    this.retainer = new Retainer(this.broker, this.config.retainer, this.db);
    this.retainer.start();
    const restored = restoreSessions(
      this.broker,
      this.db,
      () => sessionSettings(this.config.mqtt, 5),
      (saved) => this.offlineClientInfo(saved),
    );
    if (restored > 0) logger.info({ restored }, 'restored persistent sessions');
    this.sys = new SysPublisher(this.broker, this.config.sys_topics);
    this.sys.start();
    await startAccess(this); // access: chains and sources ready before listeners accept clients
    await this.exhook.start(); // exhook: servers loaded before listeners accept clients
    for (const [type, name, cfg] of listenerEntries(this.config.listeners)) {
      if (cfg.enable) await this.startListener(type, name, cfg);
    }
    this.watchConfig();
    await this.gateways.start(); // gateway
    this.mgmt = await startManagement(this); // mgmt
  }

  /** Applies runtime config changes of the root keys the node itself owns. */
  private watchConfig(): void {
    const cs = this.configService;
    cs.onChange('mqtt', (next) => {
      this.mqtt.mqtt = next;
      Object.assign(this.broker.settings, {
        sharedStrategy: next.shared_subscription_strategy as SharedStrategy,
        sharedInitialSticky: next.shared_subscription_initial_sticky_pick as SharedStrategy,
        ignoreLoopDeliver: next.ignore_loop_deliver,
      });
    });
    cs.onChange('retainer', (next) => this.retainer.update(next));
    cs.onChange('sys_topics', (next) => {
      this.sys.stop();
      this.sys = new SysPublisher(this.broker, next);
      this.sys.start();
    });
    cs.onChange('listeners', (next, prev) => this.syncListeners(next, prev));
  }

  /** Restarts only the listeners whose config changed; starts new ones and stops removed or disabled ones. */
  private async syncListeners(
    next: HermodConfig['listeners'],
    prev: HermodConfig['listeners'],
  ): Promise<void> {
    const before = new Map(listenerEntries(prev).map(([t, n, c]) => [`${t}:${n}`, JSON.stringify(c)]));
    const wanted = new Set<string>();
    for (const [type, name, cfg] of listenerEntries(next)) {
      const id = `${type}:${name}`;
      wanted.add(id);
      const running = this.listeners.get(id)?.running === true;
      if (!cfg.enable) {
        if (running) await this.stopListener(id);
        continue;
      }
      if (running && before.get(id) === JSON.stringify(cfg)) continue;
      await this.startListener(type, name, cfg);
    }
    for (const id of [...this.listeners.keys()]) {
      if (!wanted.has(id)) {
        await this.stopListener(id);
        this.listeners.delete(id);
      }
    }
  }

  /** Starts one MQTT listener from its config. */
  async startListener(type: ListenerType, name: string, cfg: ListenerConfig): Promise<Listener> {
    const id = `${type}:${name}`;
    const existing = this.listeners.get(id);
    if (existing?.running) await existing.stop(true);
    const info: MqttListenerInfo = {
      id,
      mountpoint: cfg.mountpoint,
      zone: cfg.zone,
      enableAuthn: cfg.enable_authn,
    };
    const rules = new AccessRules(cfg.access_rules);
    const listener = createListener(toListenerOptions(type, name, cfg, this.config.mqtt.max_packet_size), {
      onConnection: (conn) => {
        if (!rules.allows(conn.peerhost)) {
          logger.info({ listener: id, peer: conn.peerhost }, 'connection refused by access_rules');
          conn.destroy();
          return;
        }
        new MqttChannel(this.mqtt, conn, info);
      },
      onRefused: (reason, peerhost, detail) => {
        if (reason === 'max_connections') this.metrics.c['client.max_connections_exceeded']++;
        logger.warn({ listener: id, peer: peerhost, reason, detail }, 'connection refused');
      },
    });
    await listener.start();
    this.listeners.set(id, listener);
    const addr = listener.address();
    logger.info({ listener: id, bind: addr ? `${addr.host}:${addr.port}` : undefined }, 'listener started');
    return listener;
  }

  /** Stops one listener (closing its connections). */
  async stopListener(id: string): Promise<boolean> {
    const l = this.listeners.get(id);
    if (l === undefined) return false;
    await l.stop(true);
    return true;
  }

  /** The bound port of a listener ('tcp:default'), e.g. after binding port 0. */
  port(id = 'tcp:default'): number {
    const addr = this.listeners.get(id)?.address();
    if (addr === undefined) throw new Error(`listener ${id} is not running`);
    return addr.port;
  }

  /**
   * Graceful stop: stop accepting, tell MQTT 5 clients DISCONNECT 0x8B, publish their wills, write retained
   * messages and persistent sessions to the store, close it.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    await this.mgmt?.close(); // mgmt
    this.mgmt = undefined; // mgmt
    await Promise.all([...this.listeners.values()].map((l) => l.stop(false)));
    for (const ch of [...this.mqtt.channels]) ch.shutdown();
    // Let the DISCONNECTs reach the sockets before they are torn down.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.listeners.values()].map((l) => l.stop(true)));
    await this.gateways.stop(); // gateway
    await stopAccess(this); // access
    await this.exhook.stop(); // exhook
    this.sys?.stop();
    this.retainer?.stop();
    this.deadlines.stop();
    if (this.db !== undefined) {
      const saved = saveSessions(this.broker, this.db);
      if (saved > 0) logger.info({ saved }, 'persistent sessions saved');
      for (const record of [...this.broker.registry.records()]) {
        if (record.expiryTimer !== undefined) clearTimeout(record.expiryTimer);
        if (record.pendingWill !== undefined) clearTimeout(record.pendingWill.timer);
      }
      this.db.close();
      this.db = undefined;
    }
  }

  private offlineClientInfo(
    saved: Pick<
      ClientInfo,
      'clientid' | 'username' | 'protocol' | 'mountpoint' | 'listener' | 'zone' | 'peerhost'
    >,
  ): ClientInfo {
    return {
      node: this.name,
      clientid: saved.clientid,
      username: saved.username,
      peerhost: saved.peerhost,
      peerport: 0,
      sockport: 0,
      protocol: saved.protocol,
      mountpoint: saved.mountpoint,
      listener: saved.listener,
      zone: saved.zone,
      is_superuser: false,
      anonymous: saved.username === undefined,
      is_bridge: false,
      client_attrs: {},
    };
  }
}

/**
 * Transport options of a listener from its EMQX-style config. A WebSocket message is bounded by the
 * listener's max_frame_size and by `maxPacketSize` (mqtt.max_packet_size), checked before it is buffered.
 */
export function toListenerOptions(
  type: ListenerType,
  name: string,
  cfg: ListenerConfig,
  maxPacketSize = Number.POSITIVE_INFINITY,
): ListenerOptions {
  const split = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0);
  const t = cfg.tcp_options;
  const opts: ListenerOptions = {
    id: `${type}:${name}`,
    type,
    bind: cfg.bind,
    maxConnections: cfg.max_connections,
    maxConnRate: cfg.max_conn_rate,
    proxyProtocol: cfg.proxy_protocol,
    proxyProtocolTimeoutMs: cfg.proxy_protocol_timeout,
    tcp: {
      nodelay: t.nodelay,
      backlog: t.backlog,
      highWatermark: t.high_watermark,
      sendTimeoutMs: t.send_timeout,
      keepalive: t.keepalive !== 'none',
    },
  };
  if ('ssl_options' in cfg) {
    const s = cfg.ssl_options;
    opts.tls = {
      certfile: s.certfile,
      keyfile: s.keyfile,
      cacertfile: s.cacertfile || undefined,
      password: s.password || undefined,
      verify: s.verify,
      failIfNoPeerCert: s.fail_if_no_peer_cert,
      versions: s.versions,
      ciphers: s.ciphers.length > 0 ? s.ciphers : undefined,
      depth: s.depth,
      handshakeTimeoutMs: s.handshake_timeout,
      honorCipherOrder: s.honor_cipher_order,
    };
  }
  if ('websocket' in cfg) {
    const w = cfg.websocket;
    opts.ws = {
      path: w.mqtt_path,
      supportedSubprotocols: split(w.supported_subprotocols),
      failIfNoSubprotocol: w.fail_if_no_subprotocol,
      maxFrameSize: Math.min(w.max_frame_size, maxPacketSize),
      checkOriginEnable: w.check_origin_enable,
      allowOriginAbsence: w.allow_origin_absence,
      checkOrigins: split(w.check_origins),
      proxyAddressHeader: w.proxy_address_header,
      proxyPortHeader: w.proxy_port_header,
      compress: w.compress,
    };
  }
  return opts;
}

/** Every configured listener as [type, name, config]. */
export function listenerEntries(
  listeners: HermodConfig['listeners'],
): Array<[ListenerType, string, ListenerConfig]> {
  const out: Array<[ListenerType, string, ListenerConfig]> = [];
  for (const [type, byName] of Object.entries(listeners) as Array<
    [ListenerType, Record<string, ListenerConfig>]
  >) {
    for (const [name, cfg] of Object.entries(byName)) out.push([type, name, cfg]);
  }
  return out;
}
