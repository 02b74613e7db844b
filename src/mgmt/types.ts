/**
 * What every API area plugin receives: a Fastify instance typed from TypeBox schemas, and the management
 * context (the node's MgmtNode view plus the management plane's own stores).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, FastifyTypeProvider, RawServerDefault } from 'fastify';
import type { AuthnService } from '../access/authn/service.js';
import type { AuthzService } from '../access/authz/service.js';
import type { Alarms } from '../broker/alarms.js';
import type { BannedStore } from '../broker/banned.js';
import type { Broker } from '../broker/broker.js';
import type { Hooks } from '../broker/hooks.js';
import type { Metrics } from '../broker/metrics.js';
import type { Retainer } from '../broker/retainer.js';
import type { Session } from '../broker/session.js';
import type { ConnInfo } from '../broker/types.js';
import type { ClusterBus } from '../cluster/bus.js';
import type { Membership } from '../cluster/membership.js';
import type { MgmtPeers } from '../cluster/mgmt-rpc.js';
import type { HermodConfig } from '../config/schema/index.js';
import type { ListenerConfig, ListenerType } from '../config/schema/listeners.js';
import type { ConfigService } from '../config/service.js';
import type { ExHookService } from '../exhook/service.js';
import type { GatewayRegistry } from '../gateway/registry.js';
import type { MqttHost } from '../mqtt/host.js';
import type { PluginManager } from '../plugins/manager.js';
import type { Db } from '../store/db.js';
import type { Listener } from '../transport/listener.js';
import type { ApiKeys } from './auth/api-keys.js';
import type { LoginLimiter } from './auth/login-limits.js';
import type { Tokens } from './auth/tokens.js';
import type { Users } from './auth/users.js';
import type { Monitor } from './monitor.js';

/** Types request params, query and body from the route's TypeBox schemas. */
export interface TypeBoxProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  // Responses are not typed from their schemas: those document the main shape (and errors), handlers may send more.
  readonly serializer: unknown;
}

/** The Fastify instance an API area registers its routes on (already under /api/v5). */
export type Api = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxProvider
>;

/**
 * Provided by the start path so `conf reload` can re-read the config files and apply what changed; resolves
 * to the root keys it changed (and rejects with ConfigUpdateError when the files are invalid).
 */
export type ConfigReloader = () => Promise<{ changed: string[] }>;

/** The node as the management plane sees it: exactly the members the API areas use. */
export interface MgmtNode {
  readonly name: string;
  /** The live config (replaced on every runtime change). */
  readonly config: HermodConfig;
  readonly configService: ConfigService;
  readonly broker: Broker;
  readonly hooks: Hooks;
  readonly metrics: Metrics;
  readonly authn: AuthnService;
  readonly authz: AuthzService;
  readonly exhook: ExHookService;
  readonly gateways: GatewayRegistry;
  /** Installed plugins. */
  readonly plugins: PluginManager;
  /** Retained messages (the API runs only while the node does). */
  readonly retainer: Retainer;
  /** Uptime source ($SYS publisher); set once the node started. */
  readonly sys: { readonly uptime: number } | undefined;
  /** Banned clients; set once the node store is open. */
  readonly banned: BannedStore | undefined;
  /** The node store; open while the node runs. */
  readonly db: Db | undefined;
  /** Live MQTT channels (for process counts). */
  readonly mqtt: Pick<MqttHost, 'channels'>;
  /** Running MQTT listeners by id ('tcp:default'). */
  readonly listeners: ReadonlyMap<string, Listener>;
  startListener(type: ListenerType, name: string, cfg: ListenerConfig): Promise<Listener>;
  stopListener(id: string): Promise<boolean>;
  /** The cluster this node joined (bus and node list); undefined for a single node. */
  readonly cluster: { readonly bus: ClusterBus; readonly membership: Membership } | undefined;
}

/** What every API area receives: the node and the management plane's own stores. */
export interface MgmtPlane {
  readonly node: MgmtNode;
  readonly users: Users;
  readonly apiKeys: ApiKeys;
  readonly tokens: Tokens;
  /** Failed-login limits of POST /login. */
  readonly loginLimits: LoginLimiter;
  readonly banned: BannedStore;
  readonly alarms: Alarms;
  /** The dashboard's sampled time series (/monitor). */
  readonly monitor: Monitor;
  /** The last connection of each session, so offline sessions still show how their client connected. */
  readonly lastConn: WeakMap<Session, ConnInfo>;
  /** The nodes the API speaks for: this one, and in a cluster every other node (peers.ts). */
  readonly peers: MgmtPeers;
  /** Set by the start path (see Management.setConfigReloader); absent in embedded/test nodes. */
  reloadConfig: ConfigReloader | undefined;
}

/** One API area: registers its routes and schemas. */
export type ApiArea = (app: Api, ctx: MgmtPlane) => void | Promise<void>;

/** Who made a request (set by the auth guard). */
export interface Actor {
  kind: 'token' | 'api_key' | 'ctl';
  /** Dashboard username or API key. */
  name: string;
  /** administrator, viewer or (API keys only) publisher. */
  role: string;
  /** The Bearer token, for logout. */
  token?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | undefined;
  }
  interface FastifyContextConfig {
    /** false: the route needs no credentials (login, status, docs). */
    auth?: boolean;
    /** false: API keys may not call the route (EMQX refuses them on /users, /api_key, /logout). */
    apiKey?: boolean;
  }
}
