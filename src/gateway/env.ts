/**
 * The node services gateways use, gathered in one small interface so the framework depends on the broker
 * core and access control only (never on the MQTT channel), and tests can build it without a whole node.
 */
import type { AccessControl } from '../access/access-control.js';
import type { AuthzCacheSettings } from '../access/authz-cache.js';
import { isBanned } from '../access/login.js';
import type { Broker } from '../broker/broker.js';
import { DeadlineMonitor } from '../broker/deadlines.js';
import type { SessionSettings } from '../broker/session.js';
import type { TopicLimits } from '../broker/topic.js';
import type { ClientInfo } from '../broker/types.js';
import type { HermodNode } from '../node.js';

/** Node services gateways use (built lazily from the node; a test can build its own). */
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
}

/** The gateway view of a node; read lazily, so it may be built while the node is still being constructed. */
export function nodeEnv(node: HermodNode): GatewayEnv {
  return {
    get node() {
      return node.name;
    },
    get broker() {
      return node.broker;
    },
    get access() {
      return node.access;
    },
    deadlines: new DeadlineMonitor(),
    isBanned: (ci) => isBanned(node.mqtt.banned, ci),
    authzCache: () => node.access.authzCache,
    sessionDefaults: () => {
      const m = node.config.mqtt;
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
      maxLevels: node.config.mqtt.max_topic_levels,
      maxLength: node.config.mqtt.max_topic_length,
    }),
  };
}
