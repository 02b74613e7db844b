/**
 * The listener contract between the gateway framework and the transports: what the framework asks a
 * transport to listen with, how a datagram transport maps a datagram to its connection, and the running
 * listener it gets back. It lives in the transport layer so transports never import gateway code.
 */
import type { GatewayListenerConfig, GatewayListenerType } from '../config/schema/gateway-common.js';
import type { PskLookup } from './dtls/psk.js';
import type { BindAddress, ListenerEvents } from './listener.js';

/** Where a datagram came from. */
export interface DatagramPeer {
  readonly host: string;
  readonly port: number;
}

/**
 * Maps one datagram to the key of its connection: datagrams with the same key share one Connection and
 * one channel; undefined drops the datagram. A DTLS layer sits in front of this: it decrypts per peer
 * address and hands the router plaintext, so a router never sees ciphertext.
 */
export type DatagramRouter = (datagram: Buffer, peer: DatagramPeer) => string | undefined;

/**
 * What a datagram listener sends a new peer it refuses at max_connections or max_conn_rate, built from the
 * peer's first datagram; undefined sends nothing. A protocol with a "busy" answer (MQTT-SN CONNACK 0x01
 * congestion) tells its device to back off instead of retrying into silence.
 */
export type RefusalReply = (datagram: Buffer) => Buffer | undefined;

/** What the framework asks a transport to listen with. */
export interface TransportListenerSpec {
  /** '<gateway>:<type>:<name>'; becomes Connection.listenerId. */
  id: string;
  type: GatewayListenerType;
  bind: BindAddress;
  /** Infinity = unlimited. */
  maxConnections: number;
  maxConnRate: number;
  /** The listener's decoded config (tcp_options, ssl_options, udp_options, dtls_options, health_check). */
  config: GatewayListenerConfig;
  /** ms after which a datagram peer with no traffic may be forgotten by the transport (the gateway's idle_timeout). */
  idleTimeoutMs: number;
  /** Datagram transports: which connection a datagram belongs to (default: its peer address). */
  routeDatagram?: DatagramRouter;
  /** Datagram transports: the answer to a new peer refused because the listener is full (none: silence). */
  refusalReply?: RefusalReply;
  /** dtls listeners: the pre-shared keys of `psk_authentication` (absent: PSK suites are not offered). */
  psk?: PskLookup;
}

/** A running listener as the framework uses it (src/transport's Listener satisfies it). */
export interface TransportListener {
  readonly running: boolean;
  readonly currentConnections: number;
  address(): BindAddress | undefined;
  start(): Promise<void>;
  stop(closeConnections?: boolean): Promise<void>;
}

/**
 * Builds a listener of one type. tcp/ssl use src/transport's createListener; udp/dtls come from
 * src/transport/udp.ts, whose export `createDatagramListener` must have this signature (see
 * src/gateway/transports.ts: it is loaded lazily, so either side can land first).
 */
export type TransportFactory = (spec: TransportListenerSpec, events: ListenerEvents) => TransportListener;
