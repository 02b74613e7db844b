/**
 * The state of one MQTT connection as the packet handlers see it. The channel (./channel.ts) implements
 * MqttClient; handlers and the outgoing publisher depend on this module only, so the channel can import
 * them without an import circle (the Aedes split: client state, one handler per packet, a dispatch table).
 */
import type { AuthzCache } from '../access/authz-cache.js';
import type { LiveChannel } from '../broker/client-registry.js';
import type { Session, SessionOutlet } from '../broker/session.js';
import type { AuthzAction, ClientInfo, ConnInfo } from '../broker/types.js';
import type { Connection } from '../transport/connection.js';
import type { ConnectPacket, MqttPacket, ProtocolVersion, Will } from './codec/packets.js';
import type { MqttHost, MqttListenerInfo } from './host.js';

export enum ChannelState {
  /** Waiting for CONNECT. */
  Idle = 0,
  /** CONNECT received; authentication (possibly enhanced, over AUTH) in progress. */
  Connecting = 1,
  Connected = 2,
  Closed = 3,
}

/** Packet handlers may finish later (an async hook); the channel then holds further packets in order. */
export type HandlerResult = void | Promise<void>;

/** Enhanced authentication in progress (MQTT 5 AUTH exchange). */
export interface EnhancedAuthState {
  method: string;
  state: unknown;
  /** True for re-authentication of a connected client. */
  reauth: boolean;
}

/** CONNACK facts decided before authentication finishes. */
export interface ConnackProps {
  assigned: boolean;
  serverKeepalive: number | undefined;
  expiryCapped: boolean;
  authData?: Buffer;
}

/**
 * Per-client packet and message counters (EMQX recv_pkt, recv_msg.qosN, send_pkt, send_msg.qosN). Plain
 * number fields: the two `[0, 0, 0]` arrays they replace were ~150 B of every idle connection's heap.
 */
export class ClientCounts {
  recvPkt = 0;
  sendPkt = 0;
  private recv0 = 0;
  private recv1 = 0;
  private recv2 = 0;
  private send0 = 0;
  private send1 = 0;
  private send2 = 0;

  /** A PUBLISH received at `qos`. */
  received(qos: number): void {
    if (qos === 0) this.recv0++;
    else if (qos === 1) this.recv1++;
    else this.recv2++;
  }

  /** A PUBLISH sent at `qos`. */
  sent(qos: number): void {
    if (qos === 0) this.send0++;
    else if (qos === 1) this.send1++;
    else this.send2++;
  }

  /** Messages received by QoS 0, 1, 2. */
  get recvMsg(): number[] {
    return [this.recv0, this.recv1, this.recv2];
  }

  /** Messages sent by QoS 0, 1, 2. */
  get sendMsg(): number[] {
    return [this.send0, this.send1, this.send2];
  }
}

/** One MQTT connection: its protocol state and the actions handlers take on it. */
export interface MqttClient extends SessionOutlet, LiveChannel {
  readonly host: MqttHost;
  readonly conn: Connection;
  readonly listener: MqttListenerInfo;
  /** Queues an encoded frame (which may be shared: frames handed to a connection are never modified). */
  sendFrame(frame: Buffer): void;
  readonly namespace: string;
  state: ChannelState;
  version: ProtocolVersion;
  clientInfo: ClientInfo;
  connInfo: ConnInfo;
  session: Session | undefined;
  will: Will | undefined;
  /** Session expiry the client asked for in CONNECT (MQTT 5 forbids raising it from 0 later). */
  connectExpiry: number;
  keepaliveMs: number;
  /** The client's own limits (MQTT 5 CONNECT properties). */
  clientMaxPacketSize: number;
  clientTopicAliasMax: number;
  requestProblemInfo: boolean;
  /** Topic aliases the client set on its PUBLISHes. */
  inboundAliases: Map<number, string> | undefined;
  authzCache: AuthzCache | undefined;
  enhancedAuth: EnhancedAuthState | undefined;
  /** The authentication method of CONNECT; re-authentication must use the same [MQTT-4.12.1-1]. */
  authMethod: string | undefined;
  /** The CONNECT waiting for an enhanced-authentication exchange to finish. */
  pendingConnect: { packet: ConnectPacket; connack: ConnackProps } | undefined;
  readonly counts: ClientCounts;

  /** Serializes and queues one packet. */
  send(packet: MqttPacket): void;
  /** Writes a serialized PUBLISH (packet id patched at `offset` unless -1), or holds it behind an ack. */
  writePublish(frame: Buffer, offset: number, packetId: number): void;
  /**
   * Runs `then(value)` once `value` is there and the publishes read before have run theirs: their folds
   * overlap, their routing and acks keep the read order (channel.ts).
   */
  inPublishOrder<T>(value: T | Promise<T>, then: (value: T) => void): void;
  /** True when no publish read before waits for its fold: a settled value may run its step at once. */
  readonly publishesInOrder: boolean;
  /** Holds outgoing PUBLISH frames until releaseOwnDeliveries: the client's own ack must leave first. */
  holdOwnDeliveries(): void;
  /** Writes the PUBLISH frames held since holdOwnDeliveries, in order. */
  releaseOwnDeliveries(): void;
  /** PUBACK/PUBREC/PUBREL/PUBCOMP with a reason code. */
  sendAck(cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number, rc: number): void;
  /** A reason string, unless the client asked for no problem information. */
  reasonString(text: string): { reasonString: string } | undefined;
  /** Authorizes an action on an unmounted topic. */
  authorize(action: AuthzAction, topic: string): boolean | Promise<boolean>;
  /** Applies the broker's deny_action after a refused action. */
  denied(): void;
  /** Disconnects the client when its authentication expires. */
  armAuthExpiry(expireAtSeconds: number | undefined): void;
  /** Sends DISCONNECT with `rc` (MQTT 5, after CONNACK only) and closes. */
  disconnect(rc: number, reason: string, reasonText?: string): void;
  /** A protocol violation: DISCONNECT (MQTT 5) or just close (3.x), one log line. */
  protocolError(detail: string, rc?: number): void;
  /** Closes the connection (flushing queued frames); `peerDone`: the client sends nothing more. */
  close(reason: string, peerDone?: boolean): void;
}
