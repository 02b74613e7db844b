/**
 * What every MQTT channel shares: the broker, access control, the live mqtt config and the deadline
 * monitor. Listener-specific facts come with each connection (MqttListenerInfo).
 */
import type { AccessControl } from '../access/access-control.js';
import type { AuthzCacheSettings } from '../access/authz-cache.js';
import type { Broker } from '../broker/broker.js';
import type { DeadlineMonitor } from '../broker/deadlines.js';
import type { ClientInfo } from '../broker/types.js';
import type { MqttConfig } from '../config/schema/index.js';

/** A listener's settings that shape its clients' identity and topics. */
export interface MqttListenerInfo {
  /** 'tcp:default' etc. */
  id: string;
  /** Template; placeholders ${clientid}, ${username} are rendered after login. */
  mountpoint: string;
  zone: string;
  enableAuthn: boolean | 'quick_deny_anonymous';
}

/** Decides whether a client is banned (filled in by the management plane). */
export interface BanChecker {
  isBanned(client: ClientInfo): boolean;
}

export interface MqttContext {
  readonly broker: Broker;
  readonly access: AccessControl;
  /** Replaced (not mutated) when the config changes at runtime; channels read it per use. */
  mqtt: MqttConfig;
  readonly deadlines: DeadlineMonitor;
  banned: BanChecker | undefined;
  /** Authorization cache settings for new connections. */
  authzCache: AuthzCacheSettings;
  /** Live MQTT channels, for stats and graceful shutdown. */
  readonly channels: Set<{ shutdown(): void }>;
}
