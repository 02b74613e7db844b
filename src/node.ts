/**
 * A Hermod node: the broker core plus the components built from one config (store, bans, retainer,
 * persistent sessions, $SYS, access control, ExHook, gateways, MQTT listeners, management API). The
 * components start in the order of one list and stop in reverse; each part of the house sees the node
 * through its own narrow host interface (MqttHost, AccessHost, ExhookNode, MgmtNode, GatewayEnv).
 */
import { join } from 'node:path';
import { AccessControl } from './access/access-control.js';
import { AuthnService } from './access/authn/service.js';
import { AuthzService } from './access/authz/service.js';
import { liveClients, startAccess, stopAccess } from './access/node-binding.js';
import type { BannedStore } from './broker/banned.js';
import { Broker } from './broker/broker.js';
import { DeadlineMonitor } from './broker/deadlines.js';
import { Hooks } from './broker/hooks.js';
import { setMessageNodeTag } from './broker/message.js';
import { Metrics } from './broker/metrics.js';
import type { Retainer } from './broker/retainer.js';
import type { SysPublisher } from './broker/sys.js';
import type { ClusterRuntime } from './cluster/runtime.js';
import type { HermodConfig } from './config/schema/index.js';
import type { ListenerConfig, ListenerType } from './config/schema/listeners.js';
import { ConfigService, OVERRIDE_FILE, type RootKey } from './config/service.js';
import { ExHookService } from './exhook/service.js';
import { GatewayRegistry } from './gateway/registry.js';
import type { Management } from './mgmt/server.js';
import type { HostedChannel, MqttHost } from './mqtt/host.js';
import { ClusterComponent } from './node/cluster.js';
import { type Component, Lifecycle, named } from './node/component.js';
import {
  AutoSubscribeComponent,
  BansComponent,
  DurabilityComponent,
  FlappingComponent,
  RetainerComponent,
  SessionsComponent,
  StoreComponent,
  SysComponent,
} from './node/core.js';
import { brokerSettingsOf, MqttListeners, type MutableMqttHost } from './node/mqtt-listeners.js';
import { PluginManager } from './plugins/manager.js';
import type { Db } from './store/db.js';
import { setListenHost } from './transport/listen-host.js';
import type { Listener } from './transport/listener.js';

export { listenerEntries, toListenerOptions } from './node/mqtt-listeners.js';

/**
 * The management plane (Fastify, its route schemas, every API area and what they import, NATS's client
 * among them): loaded when the management component starts, after the MQTT listeners opened, so clients are
 * not kept waiting for it (these modules were ~40 % of the module loading before the first CONNACK,
 * 2026-12-04).
 */
function loadManagement(): Promise<typeof import('./mgmt/server.js')> {
  return import('./mgmt/server.js');
}

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
  readonly configService: ConfigService;
  readonly broker: Broker;
  readonly access: AccessControl;
  /** Authentication chains by name; gateways and plugins use it too. */
  readonly authn: AuthnService;
  /** Authorization sources, built-in rules and cache clearing. */
  readonly authz: AuthzService;
  /** gRPC hook provider servers. */
  readonly exhook: ExHookService;
  /** Protocol gateways (STOMP, MQTT-SN, …). */
  readonly gateways: GatewayRegistry;
  /** Installed plugins, started after the extensions and before the listeners. */
  readonly plugins: PluginManager;
  /** What MQTT channels see of the node. */
  readonly mqtt: MqttHost;
  private readonly store: StoreComponent;
  private readonly bans: BansComponent;
  private readonly retainerPart: RetainerComponent;
  private readonly sysPart: SysComponent;
  private readonly mqttListeners: MqttListeners;
  private readonly clusterPart: ClusterComponent;
  private readonly lifecycle: Lifecycle;
  /** REST API, alarms, dashboard users; set once its component started. */
  private management: Management | undefined;
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
    setListenHost(config.node.listen_host);
    this.broker = new Broker(
      { node: config.node.name, ...brokerSettingsOf(config.mqtt) },
      this.hooks,
      this.metrics,
    );
    this.access = new AccessControl(this.hooks, this.metrics);
    this.authn = new AuthnService(this.hooks);
    this.authz = new AuthzService(this.hooks, liveClients(this.broker));
    this.store = new StoreComponent(() => this.options.store ?? this.config.node.data_dir);
    this.bans = new BansComponent(this.store);
    const bans = this.bans;
    const deadlines = new DeadlineMonitor<HostedChannel>();
    const mqttHost: MutableMqttHost = {
      broker: this.broker,
      access: this.access,
      mqtt: config.mqtt,
      deadlines,
      get banned() {
        return bans.banned;
      },
      channels: deadlines.members,
    };
    this.mqtt = mqttHost;
    this.retainerPart = new RetainerComponent(this.broker, this.configService, this.store);
    this.sysPart = new SysComponent(this.broker, this.configService, () =>
      this.cluster === undefined ? [this.name] : this.cluster.membership.alive(),
    );
    this.mqttListeners = new MqttListeners(mqttHost, this.configService, this.metrics);
    this.exhook = new ExHookService(this);
    this.gateways = new GatewayRegistry(this);
    this.plugins = new PluginManager(this);
    this.clusterPart = new ClusterComponent(this);

    // Start order; stop runs it backwards. Listeners and the API open last so clients meet a ready node, and
    // close first so sessions are saved after every channel is gone.
    const durability = new DurabilityComponent(
      this.broker,
      this.configService,
      this.store,
      this.retainerPart,
    );
    const parts: Component[] = [
      this.store,
      this.clusterPart,
      this.bans,
      new FlappingComponent(this.hooks, this.configService, this.bans),
      this.retainerPart,
      durability,
      new SessionsComponent(this.broker, this.configService, this.store, durability),
      this.sysPart,
      named('access', { start: () => startAccess(this), stop: () => stopAccess(this) }),
      new AutoSubscribeComponent(this.broker, this.configService),
      named('exhook', this.exhook),
      this.plugins,
      named('gateways', this.gateways),
      this.mqttListeners,
      // The stored retained set loads while the listeners answer CONNECTs; a SUBSCRIBE completes it first.
      this.retainerPart.loadedComponent(),
      // Installed plugins that do not run: loaded for the API, not waited for by clients.
      named('plugins-installed', { start: () => this.plugins.loadOthers(), stop: () => undefined }),
      this.clusterPart.readyComponent(),
      named('management', {
        start: async () => {
          this.management = await (await loadManagement()).startManagement(this);
        },
        stop: async () => {
          await this.management?.close();
          this.management = undefined;
        },
      }),
    ];
    this.lifecycle = new Lifecycle(parts);
  }

  /** The live config (replaced on every runtime change). */
  get config(): HermodConfig {
    return this.configService.config;
  }

  get name(): string {
    return this.config.node.name;
  }

  /** The node store, open while the node runs. */
  get db(): Db | undefined {
    return this.store.db;
  }

  /** Banned clients, once the store is open. */
  get banned(): BannedStore | undefined {
    return this.bans.banned;
  }

  /** Retained messages; exists from start() on. */
  get retainer(): Retainer {
    return this.retainerPart.retainer!;
  }

  /** The $SYS publisher, once started. */
  get sys(): SysPublisher | undefined {
    return this.sysPart.publisher;
  }

  /** This node's cluster membership (bus, node list, parts); undefined for a single node. */
  get cluster(): ClusterRuntime | undefined {
    return this.clusterPart.runtime;
  }

  /** REST API, bans, alarms, dashboard users; set at the end of start(). */
  get mgmt(): Management | undefined {
    return this.management;
  }

  /** Running MQTT listeners by id ('tcp:default'). */
  get listeners(): Map<string, Listener> {
    return this.mqttListeners.listeners;
  }

  /** Starts every component in order: store and state first, listeners and the API last. */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /** Starts (or restarts) one MQTT listener from its config. */
  startListener(type: ListenerType, name: string, cfg: ListenerConfig): Promise<Listener> {
    return this.mqttListeners.startListener(type, name, cfg);
  }

  /** Stops one listener (closing its connections). */
  stopListener(id: string): Promise<boolean> {
    return this.mqttListeners.stopListener(id);
  }

  /** The bound port of a listener ('tcp:default'), e.g. after binding port 0. */
  port(id = 'tcp:default'): number {
    const addr = this.listeners.get(id)?.address();
    if (addr === undefined) throw new Error(`listener ${id} is not running`);
    return addr.port;
  }

  /**
   * Graceful stop, the start order reversed: the API closes, listeners stop accepting and tell MQTT 5
   * clients DISCONNECT 0x8B, wills are published, retained messages and persistent sessions are written to
   * the store, and the store closes.
   */
  stop(): Promise<void> {
    this.stopping ??= this.lifecycle.stop();
    return this.stopping;
  }
}
