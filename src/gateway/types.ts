/**
 * The gateway contract (EMQX's gateway behaviours, in TypeScript). A gateway module declares its name,
 * listener types, config schema, codec and channel factory; the framework owns listeners, the connection
 * driver, enable/disable, config updates, the per-gateway client namespace, authentication, mountpoints,
 * metrics and the API. A channel speaks one protocol and never touches a socket: it gets a ChannelContext
 * for everything shared and returns Replies (frames to send, timers, close) that the driver carries out.
 * Stream (tcp/ssl) and datagram (udp/dtls) transports look the same to a channel: a UDP peer address is a
 * Connection of kind 'datagram' and each datagram is one `feed` call.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { KickReason } from '../broker/client-registry.js';
import type { Hooks } from '../broker/hooks.js';
import type { Message } from '../broker/message.js';
import type { AwaitRelResult, SessionSettings } from '../broker/session.js';
import type {
  AuthnErrorReason,
  AuthzAction,
  ClientInfo,
  ConnInfo,
  MessageHeaders,
  MessageProperties,
  QoS,
  SubOpts,
} from '../broker/types.js';
import type {
  GatewayCommonConfig,
  GatewayListenerConfig,
  GatewayListenerDefaults,
  GatewayListenerType,
} from '../config/schema/gateway-common.js';
import type { Logger } from '../log.js';
import type { ConnectionStats, PeerCertificate, TransportKind } from '../transport/connection.js';
import type {
  DatagramPeer,
  DatagramRouter,
  RefusalReply,
  TransportFactory,
  TransportListener,
  TransportListenerSpec,
} from '../transport/gateway-listener.js';

/** Config and kick types a gateway module needs, re-exported so it imports one file. */
export type {
  DatagramPeer,
  DatagramRouter,
  GatewayCommonConfig,
  GatewayListenerConfig,
  GatewayListenerType,
  KickReason,
  TransportFactory,
  TransportListener,
  TransportListenerSpec,
};

// ---------------------------------------------------------------- the module a gateway exports

/** What a gateway is, without its code: enough to list it and to validate its config. */
export interface GatewayDescriptor {
  /** Config key, API and CLI name, client registry namespace: 'stomp', 'mqttsn'. */
  readonly name: string;
  /** ClientInfo.protocol and the authentication chain prefix: 'stomp', 'mqtt-sn'. */
  readonly protocol: string;
  /** One line for listings. */
  readonly description: string;
  /** Listener types this gateway accepts (EMQX: stomp tcp|ssl, mqttsn udp|dtls, exproto all four). */
  readonly listenerTypes: readonly GatewayListenerType[];
  /** This gateway's own listener defaults (its schema is built with them); unset = the common ones. */
  readonly listenerDefaults?: GatewayListenerDefaults;
  /**
   * Authenticator ids this gateway can use ('password_based:http', 'jwt'); unset = every password-based
   * backend and JWT. Its protocol decides: MQTT-SN carries no password, so only HTTP (by client id) fits.
   * The dashboard offers these; the API does not refuse others.
   */
  readonly authnBackends?: readonly string[];
  /** Schema of `gateway.<name>` (gatewayCommonFields + own keys + gatewayListeners); also composed into the root. */
  readonly schema: TSchema;
}

/**
 * A catalogue entry (`src/gateway/<name>/manifest.ts`): the descriptor and how to load the code. The
 * config layer composes the root schema from manifests, so it never loads a gateway's implementation.
 */
export interface GatewayManifest extends GatewayDescriptor {
  /** Loads the implementation (a dynamic import: listing and config validation do not need it). */
  load(): Promise<GatewayModule>;
  /**
   * Loads only the gateway's REST routes (the same function as `routes` of load()), for a gateway whose
   * routes live apart from its codecs and channels: the management API mounts every gateway's routes when it
   * starts, and this keeps it from loading every gateway's code for that. Absent: the API uses load().
   */
  loadRoutes?(): Promise<GatewayModule['routes']>;
}

/** What a gateway module exports (e.g. `stompGateway` from src/gateway/stomp/index.ts). */
export interface GatewayModule<F = unknown, C extends GatewayCommonConfig = GatewayCommonConfig>
  extends GatewayDescriptor {
  /** Builds one connection's codec (parse state lives inside it). */
  createCodec(config: C): FrameCodec<F>;
  /** Builds one connection's channel. */
  createChannel(ctx: ChannelContext<C>): GatewayChannel<F>;
  /**
   * Gateway-wide state for as long as the gateway runs (e.g. MQTT-SN's ADVERTISE broadcaster). Its `stop`
   * runs when the gateway is disabled or unloaded; `update` when its config changes at runtime.
   */
  start?(rt: GatewayRuntime<C>): GatewayService | Promise<GatewayService>;
  /**
   * The gateway's own REST routes, mounted under `/api/v5/gateways/<name>` behind the API's authentication
   * (a Fastify plugin: its hooks and decorators stay inside its scope). Registered once, when the API
   * starts; `api.runtime()` finds the running gateway per request.
   */
  routes?(app: FastifyInstance, api: GatewayApi<C>): Promise<void> | void;
  /**
   * Which connection a datagram belongs to (udp/dtls listeners); absent = one connection per peer address.
   * CoAP connection mode routes by client id or token, so a device keeps its connection across addresses.
   */
  routeDatagram?: DatagramRouter;
  /** The answer a udp/dtls listener sends a new peer it refuses because it is full (absent: silence). */
  refusalReply?: RefusalReply;
  /**
   * What ends a new connection's idle_timeout: its login (default), or its first frame, as EMQX has it
   * (ExProto: the handler may serve a device that never logs in, e.g. a plain echo).
   */
  idleTimeoutEnds?: 'login' | 'first_frame';
}

/** What a gateway's REST routes get. */
export interface GatewayApi<C extends GatewayCommonConfig = GatewayCommonConfig> {
  readonly name: string;
  /** The gateway while it runs; undefined when unloaded or disabled (answer 404 then). */
  runtime(): GatewayRuntime<C> | undefined;
}

/** Something a gateway runs beside its channels. */
export interface GatewayService {
  update?(config: GatewayCommonConfig): void;
  stop(): void | Promise<void>;
}

/** What `GatewayModule.start` gets: the gateway's identity and the node services a background task may need. */
export interface GatewayRuntime<C extends GatewayCommonConfig = GatewayCommonConfig> {
  readonly name: string;
  readonly node: string;
  /** Live config (replaced on update). */
  readonly config: C;
  readonly log: Logger;
  /** Publishes as the broker itself (no client, no authorization), e.g. MQTT-SN QoS −1 publishes. */
  publish(msg: Message): number | Promise<number>;
  /** The live connection of a logged-in client of this gateway (with or without a broker session). */
  connection(clientid: string): LiveConnection | undefined;
}

/** A live gateway connection as services and API routes see it. */
export interface LiveConnection {
  readonly clientid: string;
  /**
   * Asks the channel (`handleCall`) in the connection's serial queue, after any pending login or hook
   * answer: the result comes back, the replies are carried out like any others. A connection that is not
   * (or no longer) logged in answers `{ok: false, status: 404}`.
   */
  call(req: ChannelCall): Promise<CallResult>;
  /** Closes the client as the API's kick does. */
  kick(reason: KickReason): void;
}

// ---------------------------------------------------------------- codec

/** A codec refused input. `reason` is a stable token (counted, e.g. 'too_long_body'); `message` is for people. */
export interface FrameError {
  reason: string;
  message: string;
}

/** Frames completed by one `feed`, and the error that stopped parsing, if any. */
export interface ParseOutput<F> {
  frames: F[];
  error?: FrameError;
}

/** One connection's codec: incremental parsing (frames split anywhere, several per chunk) and serialization. */
export interface FrameCodec<F> {
  /** Feeds a TCP segment or one whole datagram. After an error on a stream the driver stops feeding. */
  feed(chunk: Buffer): ParseOutput<F>;
  serialize(frame: F): Buffer;
}

// ---------------------------------------------------------------- channel

/** What a channel asks its driver to do, carried out in order. */
export type Reply<F> =
  /** Serialize and send a frame. */
  | { type: 'send'; frame: F }
  /** Send bytes as they are (e.g. a STOMP heart-beat newline). */
  | { type: 'send_bytes'; data: Buffer }
  /**
   * Login finished and the client was told so: the driver runs client.connected, counts the client, arms
   * authentication expiry and attaches the session (queued deliveries follow this reply, never precede it).
   */
  | { type: 'connected' }
  /**
   * (Re)arms a timer; `handleTimeout(name, data)` runs when it fires. Timers are told apart by name and
   * key, so one name can run many at once (CoAP: a retransmission timer per message, keyed by message id).
   */
  | { type: 'timer'; name: string; ms: number; key?: string | number; data?: unknown }
  | { type: 'cancel_timer'; name: string; key?: string | number }
  /** Flushes what was sent and closes; `reason` is what client.disconnected and $SYS report. */
  | { type: 'close'; reason: string };

/** Replies, sync when every step was (a Promise only when a hook or authenticator answered asynchronously). */
export type Replies<F> = Reply<F>[] | Promise<Reply<F>[]>;

/** One message the session hands to the client. */
export interface Delivery {
  msg: Message;
  /** The message topic with the client's mountpoint removed. */
  topic: string;
  qos: QoS;
  /** 0 for QoS 0. */
  packetId: number;
  retain: boolean;
  dup: boolean;
  /** The subscription's options: the very object the channel passed to `ctx.subscribe` (identity is stable). */
  opts: SubOpts;
}

/**
 * Requests made of a live channel through `LiveConnection.call`: the API's subscription requests, and a
 * gateway's own commands (from its API routes or its service), whose names and data it defines.
 */
export type ChannelCall =
  | { type: 'subscribe'; topic: string; opts: SubOpts; subProps: Record<string, unknown> }
  | { type: 'unsubscribe'; topic: string }
  | { type: 'command'; name: string; data?: unknown };

/**
 * Answer to a ChannelCall: for subscriptions the mounted topic and options, for a command its data; or an
 * error status and text shown to the API caller.
 */
export type CallResult =
  | { ok: true; topic?: string; opts?: SubOpts; data?: unknown }
  | { ok: false; status: 400 | 404 | 409 | 503 | 504; message: string };

/** What `handleCall` answers: the result for the caller and the replies the driver carries out. */
export interface CallAnswer<F> {
  result: CallResult;
  replies: Reply<F>[];
}

/**
 * A protocol state machine for one connection. Every handler returns what to do; none may throw for bad
 * input (return an error reply instead). The driver serializes calls: while an async answer is pending,
 * further frames wait.
 */
export interface GatewayChannel<F> {
  /** One parsed frame from the client. */
  handleIn(frame: F): Replies<F>;
  /** The codec refused input (stream parsing stops after this): answer and/or close. */
  handleFrameError(err: FrameError): Replies<F>;
  /** A message from the session; undefined refuses it (counted as dropped). Must answer synchronously. */
  handleDeliver(d: Delivery): Reply<F>[] | undefined;
  /** The session asks to (re)send PUBREL for an outgoing QoS 2 message (protocols with QoS 2 only). */
  handlePubrel?(packetId: number): Reply<F>[];
  /** A timer armed by a `timer` reply fired; `data` is what the reply carried. */
  handleTimeout(name: string, data: unknown): Replies<F>;
  /**
   * The broker closes this client: 'discarded'/'takenover' (same client id logged in again), 'kicked'
   * (API/CLI), 'expired' (authentication expire_at), 'shutdown'. Must end with a `close` reply.
   */
  handleKick(reason: KickReason): Reply<F>[];
  /** The connection is gone, whatever the reason; called once, after the session is released. */
  handleClosed(reason: string): void;
  /**
   * A call on this client (runs in the driver's queue, only once logged in). Absent, or answering
   * undefined = the framework serves it: subscribe/unsubscribe through the context, commands refused.
   */
  handleCall?(call: ChannelCall): CallAnswer<F> | Promise<CallAnswer<F>> | undefined;
}

// ---------------------------------------------------------------- the context a channel gets

/** A gateway listener's identity and the settings that shape its clients. */
export interface GatewayListenerInfo {
  /** '<gateway>:<type>:<name>', e.g. 'stomp:tcp:default' (also the listener's authentication chain). */
  readonly id: string;
  readonly type: GatewayListenerType;
  readonly name: string;
  /** Mountpoint template: the listener's own when set, else the gateway's. */
  readonly mountpoint: string;
  readonly enableAuthn: boolean;
}

/** What a channel may know about its connection (never the socket). */
export interface ConnectionFacts {
  readonly transport: TransportKind;
  readonly kind: 'stream' | 'datagram';
  readonly peerhost: string;
  readonly peerport: number;
  readonly sockport: number;
  /** The local address the peer reached. */
  readonly sockhost: string;
  readonly peerCert: PeerCertificate | undefined;
  /** The PSK identity of a DTLS peer (it becomes the username when the protocol gives none). */
  readonly pskIdentity?: string;
  /** Live byte/packet counters (heart-beat checks compare them between ticks). */
  readonly stats: ConnectionStats;
}

/** Identity and connection facts a protocol gives at login (before clientinfo_override). */
export interface LoginRequest {
  /** '' = none (a random id is assigned unless clientinfo_override sets one). */
  clientid: string;
  username?: string;
  password?: string | Buffer;
  /** What `${Packet.*}` placeholders of clientinfo_override read (STOMP: `{headers: {...}}`). */
  packet: Record<string, unknown>;
  proto_name: string;
  proto_ver: string | number;
  /** Seconds. */
  keepalive: number;
  clean_start: boolean;
  /** Seconds the session outlives the connection (0 = ends with it). */
  expiry_interval: number;
  /**
   * A mountpoint template the protocol itself gives this client (ExProto's handler); it replaces the
   * listener's or gateway's. Unset = theirs.
   */
  mountpoint?: string;
  /** Protocol extras added to ClientInfo (LwM2M endpoint_name, lifetime); also mountpoint placeholders. */
  extra?: Record<string, unknown>;
  /** Session settings that differ from the gateway defaults (e.g. MQTT-SN maxInflight 1). */
  session?: Partial<SessionSettings>;
  /**
   * 'broker' (default): a session in the gateway's namespace, as MQTT clients have (subscriptions,
   * queue, takeover). 'none': the client is authenticated and may publish, but has no session, no
   * subscriptions and no deliveries (connectionless requests, e.g. CoAP without connection mode).
   */
  sessionMode?: 'broker' | 'none';
}

/** Login outcome. On failure the channel answers in its protocol and closes. */
export type LoginResult =
  /** `present`: an earlier session was resumed; `subscriptions`: its mounted topic filters. */
  | {
      ok: true;
      clientInfo: ClientInfo;
      connInfo: ConnInfo;
      present: boolean;
      subscriptions: readonly string[];
    }
  | {
      ok: false;
      reason: AuthnErrorReason | 'refused_by_hook' | 'client_identifier_not_valid';
      message: string;
    };

/** A publish on behalf of the client; `topic` is as the client wrote it (unmounted). */
export interface PublishRequest {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** Protocol data travelling with the message (e.g. STOMP headers); merged into Message.headers. */
  headers?: MessageHeaders;
  props?: MessageProperties;
  /** Publisher client id when not the logged-in client (MQTT-SN QoS −1 publishes as 'NegQoS-Client'). */
  from?: string;
  /** Skip authorization (a will already checked, or a gateway-internal publish). */
  skipAuthz?: boolean;
  /** Before login: who the publish is authorized as (MQTT-SN qos3_identity); default anonymous. */
  identity?: { clientid: string; username?: string };
}

/** 'ok' with how many subscriptions got it; 'denied' by authorization; 'invalid' topic; 'dropped' by a hook. */
export type PublishResult =
  | { result: 'ok'; delivered: number }
  | { result: 'denied' | 'invalid' | 'dropped'; message: string };

/** Subscribe outcome; `topic` is the mounted filter stored in the session. */
export type SubscribeResult =
  | { result: 'ok'; topic: string; isNew: boolean }
  | { result: 'denied' | 'invalid' | 'refused' | 'quota_exceeded'; message: string };

/**
 * Everything shared a channel needs, bound to its connection. Broker-side steps (authentication,
 * clientinfo_override, mountpoints, session, authorization, hooks, metrics) happen here, so a channel
 * contains only its protocol.
 */
export interface ChannelContext<C extends GatewayCommonConfig = GatewayCommonConfig> {
  /** Gateway name ('stomp'): the client registry namespace. */
  readonly gateway: string;
  /** ClientInfo.protocol ('stomp', 'mqtt-sn'). */
  readonly protocol: string;
  readonly node: string;
  /** The gateway's live config (replaced on update; read it per use). */
  readonly config: C;
  readonly listener: GatewayListenerInfo;
  readonly conn: ConnectionFacts;
  readonly hooks: Hooks;
  readonly metrics: GatewayMetricsSink;
  /** Child logger naming the gateway, listener and peer. */
  readonly log: Logger;
  /** Set by a successful login. */
  readonly clientInfo: ClientInfo | undefined;
  readonly connInfo: ConnInfo | undefined;

  /**
   * Runs client.connect, builds ClientInfo/ConnInfo, applies clientinfo_override, checks bans,
   * authenticates (listener chain, else gateway chain; none ⇒ allow), renders the mountpoint, opens the
   * session in the gateway's namespace (an older login with the same id is kicked; none when
   * `sessionMode` is 'none') and runs client.connack. The channel then sends its own "connected" answer
   * followed by a `connected` reply.
   */
  login(req: LoginRequest): LoginResult | Promise<LoginResult>;
  /** Authorizes an action on an unmounted topic (superusers pass; cached per connection). */
  authorize(action: AuthzAction, topic: string): boolean | Promise<boolean>;
  /** Authorizes (unless skipped), mounts, and publishes through message.publish. */
  publish(req: PublishRequest): PublishResult | Promise<PublishResult>;
  /** Validates, authorizes, runs the client.subscribe fold, mounts and subscribes the session. */
  subscribe(topic: string, opts: SubOpts): SubscribeResult | Promise<SubscribeResult>;
  /** Runs the client.unsubscribe fold and removes the (unmounted) topic; false when it was not subscribed. */
  unsubscribe(topic: string): boolean | Promise<boolean>;
  /** The client's mountpoint prefixed / stripped. */
  mount(topic: string): string;
  unmount(topic: string): string;
  /**
   * Holds deliveries in the session queue (true) or lets them flow again (false), e.g. an MQTT-SN client
   * asleep or waiting for REGACK. Also usable from inside handleDeliver.
   */
  holdDeliveries(hold: boolean): void;
  /** Updates ConnInfo.keepalive (seconds) as the API shows it. */
  setKeepalive(seconds: number): void;
  /**
   * Queues a `command` call to this channel's own `handleCall`, logged in or not, behind whatever the
   * connection is doing: how a gateway-wide service acts for one connection (ExProto's adapter rpcs send
   * bytes, log in and close through it). Answers `{ok: false, status: 404}` once the connection is closed.
   */
  callSelf(name: string, data?: unknown): Promise<CallResult>;

  // Acknowledgements. A channel reports what its client acknowledged here and never drives the session
  // itself, so a gateway without a session (or with another kind) keeps the same channel code.

  /** The client acknowledged a QoS 1 delivery (PUBACK); false when the id was not in flight. */
  acked(packetId: number): boolean;
  /** The client received a QoS 2 delivery (PUBREC): the session asks for PUBREL through handlePubrel. */
  received(packetId: number): boolean;
  /** The client completed a QoS 2 delivery (PUBCOMP). */
  completed(packetId: number): boolean;
  /** A QoS 1/2 delivery will never reach the client (refused, no topic id): it leaves the inflight window. */
  abandoned(packetId: number, qos: QoS): void;
  /** An incoming QoS 2 publish: 'duplicate' must not be published again, 'full' is refused. */
  awaitRelease(packetId: number): AwaitRelResult;
  /** The client released an incoming QoS 2 publish (PUBREL), or its publish was refused. */
  released(packetId: number): boolean;
  /** Deliveries sent and not yet acknowledged, ready to resend (dup set), in the order they were sent. */
  unacked(): Delivery[];
  /** One unacknowledged delivery by packet id. */
  unackedDelivery(packetId: number): Delivery | undefined;
  /** Messages waiting to be sent or acknowledged (queued plus in flight); 0 when there is no session. */
  pendingCount(): number;
  /** Sends what the session holds now (after `holdDeliveries(false)`), instead of on the next tick. */
  flush(): void;
}

/** Per-gateway counters a channel bumps (EMQX gateway metrics). */
export interface GatewayMetricsSink {
  inc(name: GatewayMetricName, by?: number): void;
}

/** Counter names kept per gateway. */
export const GATEWAY_METRIC_NAMES = [
  'bytes.received',
  'bytes.sent',
  'packets.received',
  'packets.sent',
  'packets.malformed',
  'packets.too_large',
  /** Well-formed packets with no meaning in the connection's state (e.g. MQTT-SN SUBSCRIBE before CONNECT). */
  'packets.dropped',
  'messages.received',
  'messages.sent',
  'messages.dropped',
  'client.connect',
  'client.connected',
  'client.disconnected',
  'client.auth.failure',
  'client.authz.deny',
  'client.idle_timeout',
  'client.keepalive_timeout',
  'client.max_connections_exceeded',
  'client.access_denied',
] as const;

/** One per-gateway counter name. */
export type GatewayMetricName = (typeof GATEWAY_METRIC_NAMES)[number];
