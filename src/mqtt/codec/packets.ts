/**
 * MQTT control packets as the codec hands them to the channel (and takes them back to serialize).
 * One shape serves protocol levels 3 (3.1), 4 (3.1.1) and 5; fields that only exist in MQTT 5 are optional
 * and ignored when encoding for an older level.
 */

export type QoS = 0 | 1 | 2;
export type ProtocolVersion = 3 | 4 | 5;

/** User properties keep their order and may repeat a key (MQTT 5 §3.3.2.3.7). */
export type UserProperties = Array<[string, string]>;

/** Properties a PUBLISH (or a will) carries end to end. */
export interface PublishProperties {
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperties;
  /** One or more, when several subscriptions matched (server → client only). */
  subscriptionIdentifiers?: number[];
  contentType?: string;
}

export interface WillProperties {
  willDelayInterval?: number;
  payloadFormatIndicator?: number;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperties;
}

export interface ConnectProperties {
  sessionExpiryInterval?: number;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  topicAliasMaximum?: number;
  requestResponseInformation?: number;
  requestProblemInformation?: number;
  userProperties?: UserProperties;
  authenticationMethod?: string;
  authenticationData?: Buffer;
}

export interface ConnackProperties {
  sessionExpiryInterval?: number;
  receiveMaximum?: number;
  maximumQoS?: number;
  retainAvailable?: number;
  maximumPacketSize?: number;
  assignedClientIdentifier?: string;
  topicAliasMaximum?: number;
  reasonString?: string;
  userProperties?: UserProperties;
  wildcardSubscriptionAvailable?: number;
  subscriptionIdentifiersAvailable?: number;
  sharedSubscriptionAvailable?: number;
  serverKeepAlive?: number;
  responseInformation?: string;
  serverReference?: string;
  authenticationMethod?: string;
  authenticationData?: Buffer;
}

/** Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK. */
export interface AckProperties {
  reasonString?: string;
  userProperties?: UserProperties;
}

export interface SubscribeProperties {
  subscriptionIdentifier?: number;
  userProperties?: UserProperties;
}

export interface DisconnectProperties {
  sessionExpiryInterval?: number;
  reasonString?: string;
  userProperties?: UserProperties;
  serverReference?: string;
}

export interface AuthProperties {
  authenticationMethod?: string;
  authenticationData?: Buffer;
  reasonString?: string;
  userProperties?: UserProperties;
}

export interface Will {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: WillProperties;
}

export interface ConnectPacket {
  cmd: 'connect';
  /** 'MQIsdp' for level 3, 'MQTT' for 4 and 5. */
  protocolName: string;
  protocolVersion: ProtocolVersion;
  /** Bit 7 of the protocol level byte (0x80): set by Mosquitto bridges. */
  bridge: boolean;
  /** Clean Session (3.x) or Clean Start (5). */
  cleanStart: boolean;
  keepalive: number;
  clientId: string;
  will?: Will;
  username?: string;
  password?: Buffer;
  properties?: ConnectProperties;
}

export interface ConnackPacket {
  cmd: 'connack';
  sessionPresent: boolean;
  /** MQTT 5 reason code, or the 3.x return code (0..5). */
  reasonCode: number;
  properties?: ConnackProperties;
}

export interface PublishPacket {
  cmd: 'publish';
  qos: QoS;
  dup: boolean;
  retain: boolean;
  /** May be '' in MQTT 5 when a topic alias stands in for it. */
  topic: string;
  /** 0 for QoS 0. */
  packetId: number;
  payload: Buffer;
  properties?: PublishProperties;
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP share one layout. */
export interface PubAckLikePacket {
  cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp';
  packetId: number;
  /** 0 when absent on the wire. */
  reasonCode: number;
  properties?: AckProperties;
}

export interface SubscriptionRequest {
  topic: string;
  qos: QoS;
  /** MQTT 5 subscription options; always false/0 for 3.x. */
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
}

export interface SubscribePacket {
  cmd: 'subscribe';
  packetId: number;
  subscriptions: SubscriptionRequest[];
  properties?: SubscribeProperties;
}

export interface SubackPacket {
  cmd: 'suback';
  packetId: number;
  /** One per requested filter: granted QoS (0..2) or a failure code (0x80 and up). */
  reasonCodes: number[];
  properties?: AckProperties;
}

export interface UnsubscribePacket {
  cmd: 'unsubscribe';
  packetId: number;
  topics: string[];
  properties?: { userProperties?: UserProperties };
}

export interface UnsubackPacket {
  cmd: 'unsuback';
  packetId: number;
  /** MQTT 5 only; empty for 3.x. */
  reasonCodes: number[];
  properties?: AckProperties;
}

export interface PingreqPacket {
  cmd: 'pingreq';
}

export interface PingrespPacket {
  cmd: 'pingresp';
}

export interface DisconnectPacket {
  cmd: 'disconnect';
  /** 0 when absent on the wire (and always for 3.x). */
  reasonCode: number;
  properties?: DisconnectProperties;
}

export interface AuthPacket {
  cmd: 'auth';
  reasonCode: number;
  properties?: AuthProperties;
}

export type MqttPacket =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubAckLikePacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

/** Packets a client sends to a server. */
export type ClientPacket =
  | ConnectPacket
  | PublishPacket
  | PubAckLikePacket
  | SubscribePacket
  | UnsubscribePacket
  | PingreqPacket
  | DisconnectPacket
  | AuthPacket;

/**
 * A frame the parser rejected. `reasonCode` is the MQTT 5 reason code the server should answer with
 * (0x81 Malformed Packet, 0x82 Protocol Error, 0x95 Packet Too Large, 0x84 Unsupported Protocol Version,
 * 0x94 Topic Alias Invalid). Every parse error is fatal: the byte stream can no longer be trusted.
 */
export class MqttParseError extends Error {
  constructor(
    readonly reasonCode: number,
    message: string,
    /** The packet type being parsed when the error occurred, if known. */
    readonly packetType?: string,
    /**
     * The protocol level in force when the error occurred; for a rejected CONNECT, the level byte it carried
     * (bridge bit stripped) once it was read, so the channel can pick the CONNACK format (3.x return code or v5).
     */
    readonly protocolVersion?: number,
  ) {
    super(message);
    this.name = 'MqttParseError';
  }
}
