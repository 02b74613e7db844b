/**
 * What every MQTT channel needs of the node: the broker, access control, the live mqtt config, the deadline
 * monitor and the ban list. The node builds one and owns it; listener-specific facts come with each
 * connection (MqttListenerInfo).
 */
import type { AccessControl } from '../access/access-control.js';
import type { BanChecker } from '../broker/banned.js';
import type { Broker } from '../broker/broker.js';
import type { DeadlineMonitor, Watched } from '../broker/deadlines.js';
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

/** A live MQTT channel as the node sees it: watched for its deadlines, stopped at shutdown. */
export interface HostedChannel extends Watched {
  shutdown(): void;
}

/** The node services MQTT channels use. */
export interface MqttHost {
  readonly broker: Broker;
  readonly access: AccessControl;
  /** Replaced (not mutated) when the config changes at runtime; channels read it per use. */
  readonly mqtt: MqttConfig;
  /** Watches every live channel from its open to its close, so its members are the live channels too. */
  readonly deadlines: DeadlineMonitor<HostedChannel>;
  /** Consulted at CONNECT; absent until the node's store is open. */
  readonly banned: BanChecker | undefined;
  /** Live MQTT channels, for stats and graceful shutdown: the deadline monitor's members (see there). */
  readonly channels: ReadonlySet<HostedChannel>;
}
