/**
 * What the cluster parts (routes, client registry, retained messages, config log, management) see of the
 * node, and the contract each part follows. A part is built on the shared bus and membership and reaches
 * the node only through ClusterHost.
 */
import type { Broker } from '../broker/broker.js';
import type { Hooks } from '../broker/hooks.js';
import type { Metrics } from '../broker/metrics.js';
import type { Retainer } from '../broker/retainer.js';
import type { HermodConfig } from '../config/schema/index.js';
import type { ConfigService } from '../config/service.js';
import type { PluginManager } from '../plugins/manager.js';
import type { ClusterBus } from './bus.js';
import type { Membership } from './membership.js';

/** The node as cluster parts see it. */
export interface ClusterHost {
  readonly name: string;
  readonly config: HermodConfig;
  readonly configService: ConfigService;
  readonly broker: Broker;
  readonly hooks: Hooks;
  readonly metrics: Metrics;
  /** Installed plugins (started after the cluster parts: use it from ready() on). */
  readonly plugins: PluginManager;
  /** Exists from the retainer component's start on (after the cluster joined). */
  readonly retainer: Retainer;
}

/** What every part gets when the node joined the cluster. */
export interface ClusterContext {
  readonly bus: ClusterBus;
  readonly membership: Membership;
  readonly host: ClusterHost;
}

/** One job of the cluster (routes, registry, retained messages …), started in the order of parts.ts. */
export interface ClusterPart {
  readonly name: string;
  /**
   * Right after the node joined: before the retainer, sessions, plugins, gateways and listeners start,
   * so a part can hook into the broker before any client or stored state arrives.
   */
  start(ctx: ClusterContext): void | Promise<void>;
  /** Once every other component started, before the management API opens. */
  ready?(): void | Promise<void>;
  /** Before the node leaves the bus (every client is already gone). */
  stop(): void | Promise<void>;
}
