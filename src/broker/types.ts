/**
 * The data every part of Hermod shares: who a client is (ClientInfo, ConnInfo), how it subscribed (SubOpts),
 * and what access control decides. Field names follow EMQX so hooks, ExHook and the API map one to one.
 */
import type { PublishProperties, QoS } from '../mqtt/codec/packets.js';

export type { QoS };

/** What a connection told us when it logged in (the CONNECT or its equivalent in another protocol). */
export interface ConnInfo {
  clientid: string;
  username: string | undefined;
  peerhost: string;
  peerport: number;
  sockport: number;
  /** 'MQTT', 'MQIsdp', 'STOMP', 'MQTT-SN', 'CoAP', 'LwM2M', … */
  proto_name: string;
  /** 3, 4, 5 for MQTT; '1.2' for STOMP, … */
  proto_ver: number | string;
  keepalive: number;
  clean_start: boolean;
  /** Seconds; 0 = the session ends with the connection. */
  expiry_interval: number;
  connected_at: number;
  disconnected_at?: number;
  /** Receive Maximum, Maximum Packet Size, … the client asked for (MQTT 5). */
  receive_maximum?: number;
}

/** Who a client is, as access control and hooks see it. */
export interface ClientInfo {
  node: string;
  clientid: string;
  username: string | undefined;
  /** Present only during authentication; never logged. */
  password?: Buffer | undefined;
  peerhost: string;
  peerport: number;
  sockport: number;
  /** 'mqtt', 'stomp', 'mqtt-sn', 'coap', 'lwm2m', 'exproto'. */
  protocol: string;
  /** Already rendered (placeholders replaced); '' for none. */
  mountpoint: string;
  /** Listener id, e.g. 'tcp:default' or 'stomp:tcp:default'. */
  listener: string;
  zone: string;
  is_superuser: boolean;
  anonymous: boolean;
  is_bridge: boolean;
  /** TLS client certificate common name / subject. */
  cn?: string;
  dn?: string;
  /** Client attributes set by authentication (EMQX client_attrs). */
  client_attrs: Record<string, string>;
  /** Protocol extras (e.g. LwM2M endpoint_name, lifetime). */
  [extra: string]: unknown;
}

/** Subscription options (MQTT 5 names; older protocols use the defaults). */
export interface SubOpts {
  qos: QoS;
  /** No Local: do not deliver the subscriber's own messages. */
  nl: 0 | 1;
  /** Retain As Published. */
  rap: 0 | 1;
  /** Retain Handling: 0 send retained, 1 only for a new subscription, 2 never. */
  rh: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier. */
  subid?: number;
  /** Shared subscription group, when the filter was `$share/<group>/…` or `$queue/…`. */
  share?: string;
  /** True when the subscription did not exist before (set for session.subscribed). */
  is_new?: boolean;
}

/** Headers a message carries besides its MQTT fields (EMQX `headers`). */
export interface MessageHeaders {
  username?: string;
  peerhost?: string;
  /** Publisher protocol ('mqtt', 'stomp', …). */
  protocol?: string;
  /** Set false by a message.publish hook to drop the message. */
  allow_publish?: boolean;
  /** Set true by a message.publish hook to disconnect the publisher. */
  should_disconnect?: boolean;
  /** Protocol specific pass-through data (e.g. STOMP headers). */
  [key: string]: unknown;
}

export interface MessageFlags {
  retain: boolean;
  dup: boolean;
  /** Published by the broker itself ($SYS); never sent to ExHook. */
  sys: boolean;
}

/** MQTT 5 properties a message carries end to end (no Topic Alias, no Subscription Identifiers). */
export type MessageProperties = Omit<PublishProperties, 'topicAlias' | 'subscriptionIdentifiers'>;

/** An action to authorize. */
export interface AuthzAction {
  action_type: 'publish' | 'subscribe';
  qos: QoS;
  /** For publish only. */
  retain?: boolean;
}

/** Result of the client.authorize fold. */
export interface AuthzResult {
  result: 'allow' | 'deny';
  from: string;
}

/** Result of the client.authenticate fold. `ignore` at the end means anonymous success. */
export type AuthnResult =
  | { kind: 'ignore' }
  | {
      kind: 'ok';
      is_superuser?: boolean;
      /** Epoch seconds after which the client is disconnected. */
      expire_at?: number;
      /** Rules the client_info authz source uses (from a JWT or HTTP response). */
      acl?: unknown;
      client_attrs?: Record<string, string>;
      /** Final enhanced-authentication data (MQTT 5 AUTH). */
      auth_data?: Buffer;
    }
  /** Enhanced authentication needs another round trip: send `auth_data` in an AUTH packet. */
  | { kind: 'continue'; auth_data: Buffer; state?: unknown }
  | { kind: 'error'; reason: AuthnErrorReason; message?: string };

export type AuthnErrorReason =
  | 'not_authorized'
  | 'bad_username_or_password'
  | 'bad_authentication_method'
  | 'banned'
  | 'server_unavailable'
  | 'client_identifier_not_valid'
  | 'quota_exceeded';

/** What authentication sees: the client plus its credentials (password and enhanced-auth data). */
export interface Credential extends ClientInfo {
  password: Buffer | undefined;
  auth_method?: string;
  auth_data?: Buffer;
  /** State kept between enhanced-authentication rounds (from the previous `continue`). */
  auth_state?: unknown;
}

/** Summary of a session handed to session.* hooks (EMQX SessInfo). */
export interface SessionInfo {
  clientid: string;
  created_at: number;
  is_persistent: boolean;
  subscriptions_cnt: number;
  inflight_cnt: number;
  mqueue_len: number;
  expiry_interval: number;
}
