/**
 * What gateways need from the node, in two narrow interfaces: `GatewayHost` is what the node gives the
 * gateway registry (the node satisfies it as it is; a test can build one), `GatewayEnv` the services the
 * framework hands each gateway (broker core and access control only, never the MQTT channel).
 */

import type { StaticDecode } from '@sinclair/typebox';
import type { AccessControl } from '../access/access-control.js';
import type { UserStore } from '../access/authn/types.js';
import type { AuthzCacheSettings } from '../access/authz-cache.js';
import { isBanned } from '../access/login.js';
import type { BanChecker } from '../broker/banned.js';
import type { Broker } from '../broker/broker.js';
import { DeadlineMonitor } from '../broker/deadlines.js';
import type { SessionSettings } from '../broker/session.js';
import type { TopicLimits } from '../broker/topic.js';
import type { ClientInfo } from '../broker/types.js';
import type { MqttSchema } from '../config/schema/mqtt.js';
import type { ConfigService } from '../config/service.js';
import { type PskConfig, type PskLookup, pskFromConfig } from '../transport/dtls/psk.js';

type MqttConfig = StaticDecode<typeof MqttSchema>;

/** The part of access control's chain registry gateways use (their authenticators live in chains). */
export interface ChainRegistry {
  setChain(name: string, configs: readonly unknown[]): Promise<void>;
  chain(name: string): Array<{ id: string; enable: boolean; config: Record<string, unknown> }> | undefined;
  users(chain: string, id: string): UserStore | undefined;
}

/** What the node gives the gateway registry; each member is read when used, never at construction. */
export interface GatewayHost {
  /** The node name. */
  readonly name: string;
  readonly broker: Broker;
  readonly access: AccessControl;
  /** The live config: the MQTT zone settings gateway clients start from, and the `gateway` root key. */
  readonly config: {
    readonly mqtt: MqttConfig;
    readonly gateway?: unknown;
    readonly psk_authentication?: PskConfig;
  };
  /** Where `gateway` config changes are validated, applied and persisted. */
  readonly configService: Pick<ConfigService, 'getRaw' | 'update' | 'onChange'>;
  /** The ban list, shared with MQTT clients. */
  readonly mqtt: { readonly banned: BanChecker | undefined };
  /** Authentication chains; absent on a node without access control (gateway authenticators are refused). */
  readonly authn?: ChainRegistry;
}

/** Node services each gateway uses (built from a GatewayHost; a test can build its own). */
export interface GatewayEnv {
  readonly node: string;
  readonly broker: Broker;
  readonly access: AccessControl;
  /** Login and idle deadlines of every gateway connection. */
  readonly deadlines: DeadlineMonitor;
  /** True when the client is banned (clientid, username or peer host). */
  isBanned(ci: ClientInfo): boolean;
  /** Authorization cache settings for new connections. */
  authzCache(): AuthzCacheSettings;
  /** Session settings of a gateway client before its protocol adjusts them (from the mqtt zone config). */
  sessionDefaults(): SessionSettings;
  topicLimits(): TopicLimits;
  /** The node's pre-shared keys for dtls listeners, loaded from `psk_authentication` on first use. */
  psk?(): Promise<PskLookup | undefined>;
}

/** The gateway services of a host; read lazily, so it may be built while the node is still being constructed. */
export function hostEnv(host: GatewayHost): GatewayEnv {
  let psk: Promise<PskLookup | undefined> | undefined;
  return {
    psk: () => (psk ??= pskFromConfig(host.config.psk_authentication)),
    get node() {
      return host.name;
    },
    get broker() {
      return host.broker;
    },
    get access() {
      return host.access;
    },
    deadlines: new DeadlineMonitor(),
    isBanned: (ci) => isBanned(host.mqtt.banned, ci),
    authzCache: () => host.access.authzCache,
    sessionDefaults: () => {
      const m = host.config.mqtt;
      return {
        maxInflight: m.max_inflight,
        maxMqueueLen: m.max_mqueue_len,
        mqueueStoreQos0: m.mqueue_store_qos0,
        dropPolicy: m.mqueue_drop_policy,
        maxAwaitingRel: m.max_awaiting_rel,
        awaitRelTimeout: m.await_rel_timeout,
        retryInterval: m.retry_interval,
        upgradeQos: m.upgrade_qos,
        maxSubscriptions: m.max_subscriptions,
      };
    },
    topicLimits: () => ({
      maxLevels: host.config.mqtt.max_topic_levels,
      maxLength: host.config.mqtt.max_topic_length,
    }),
  };
}
