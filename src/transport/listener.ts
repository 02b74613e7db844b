import type { Connection, TransportKind } from './connection.js';

/** Host and port a listener binds; host '0.0.0.0' or '::' means every interface. */
export interface BindAddress {
  host: string;
  port: number;
}

/** Server-side TLS settings, named as EMQX's `ssl_options`. Paths are files on disk. */
export interface TlsOptions {
  certfile: string;
  keyfile: string;
  cacertfile?: string;
  /** Passphrase of an encrypted key file. */
  password?: string;
  /** 'verify_peer' asks the client for a certificate and checks it against cacertfile. */
  verify: 'verify_peer' | 'verify_none';
  /** With verify_peer: refuse a client that presents no certificate. */
  failIfNoPeerCert: boolean;
  /** e.g. ['tlsv1.3', 'tlsv1.2']. */
  versions?: string[];
  /** OpenSSL cipher list, comma or colon separated. */
  ciphers?: string[];
  /** Maximum certificate chain depth. */
  depth?: number;
  handshakeTimeoutMs?: number;
  honorCipherOrder?: boolean;
}

/** WebSocket settings, named as EMQX's `websocket` block. */
export interface WebSocketOptions {
  /** Path the upgrade must target (default '/mqtt'). */
  path: string;
  /** Subprotocols accepted in Sec-WebSocket-Protocol. */
  supportedSubprotocols: string[];
  /** Refuse an upgrade that names no subprotocol. */
  failIfNoSubprotocol: boolean;
  /** Largest WebSocket message accepted, bytes (Infinity = unlimited). */
  maxFrameSize: number;
  checkOriginEnable: boolean;
  allowOriginAbsence: boolean;
  checkOrigins: string[];
  /** Header carrying the real client address behind a proxy (e.g. 'x-forwarded-for'); '' disables. */
  proxyAddressHeader: string;
  proxyPortHeader: string;
  /** permessage-deflate. */
  compress: boolean;
}

export interface TcpSocketOptions {
  nodelay: boolean;
  backlog: number;
  /** Bytes of unsent output above which the connection reports `congested`. */
  highWatermark: number;
  /** ms a write may stay blocked before the connection is dropped (EMQX send_timeout). */
  sendTimeoutMs: number;
  keepalive: boolean;
}

export interface ListenerOptions {
  /** `<type>:<name>`, e.g. 'tcp:default', or '<gateway>:<type>:<name>' for gateway listeners. */
  id: string;
  type: Extract<TransportKind, 'tcp' | 'ssl' | 'ws' | 'wss'>;
  bind: BindAddress;
  /** Concurrent connections allowed (Infinity = unlimited). Extra connections are closed at once. */
  maxConnections: number;
  /** New connections accepted per second (Infinity = unlimited). Extra ones wait their turn. */
  maxConnRate: number;
  /** Expect a PROXY protocol v1/v2 header before the first byte of payload. */
  proxyProtocol: boolean;
  proxyProtocolTimeoutMs: number;
  tcp: TcpSocketOptions;
  tls?: TlsOptions;
  ws?: WebSocketOptions;
}

/** Events a listener reports about refused connections, so the broker can count and log them. */
export type ListenerRefusal = 'max_connections' | 'tls_handshake' | 'proxy_protocol' | 'ws_upgrade';

export interface ListenerEvents {
  /** A connection was accepted and is ready for a protocol handler. */
  onConnection(conn: Connection): void;
  /** A connection was refused before reaching a protocol handler. */
  onRefused?(reason: ListenerRefusal, peerhost: string, detail?: string): void;
  /** A listener-level error after start (e.g. accept failing with EMFILE); the listener keeps running. */
  onError?(error: Error): void;
}

export interface Listener {
  readonly id: string;
  readonly type: ListenerOptions['type'];
  readonly options: ListenerOptions;
  /** True between a successful start and stop. */
  readonly running: boolean;
  /** Live connections accepted by this listener. */
  readonly currentConnections: number;
  /** The address actually bound (port resolved when 0 was asked). */
  address(): BindAddress | undefined;
  start(): Promise<void>;
  /** Stops accepting; existing connections are left to their owners unless `closeConnections`. */
  stop(closeConnections?: boolean): Promise<void>;
}
