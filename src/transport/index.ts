import type { Listener, ListenerEvents, ListenerOptions } from './listener.js';
import { TcpListener } from './tcp.js';
import { TlsListener } from './tls.js';
import { WsListener } from './ws.js';

export type {
  CloseReason,
  Connection,
  ConnectionHandler,
  ConnectionStats,
  PeerCertificate,
  TransportKind,
} from './connection.js';
export type {
  BindAddress,
  Listener,
  ListenerEvents,
  ListenerOptions,
  ListenerRefusal,
  TcpSocketOptions,
  TlsOptions,
  WebSocketOptions,
} from './listener.js';
export { type ProxyAddress, type ProxyParse, parseProxyHeader, readProxyHeader } from './proxy-protocol.js';
export { TokenBucket } from './rate-limiter.js';
export {
  CLOSE_GRACE_MS,
  type ConnectionConfig,
  type PeerAddress,
  SocketConnection,
  StreamConnection,
} from './stream-connection.js';
export { DEFAULT_HIGH_WATERMARK, plainHost, StreamListener } from './stream-listener.js';
export { TcpListener } from './tcp.js';
export { TlsListener } from './tls.js';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  loadTlsServerOptions,
  peerCertificateOf,
  verifyPeer,
} from './tls-context.js';
export { LARGE_FRAME_BYTES } from './write-batcher.js';
export { DEFAULT_WEBSOCKET_OPTIONS, pickSubprotocol, WsListener } from './ws.js';
export { WsConnection } from './ws-connection.js';

/** Builds the listener for `options.type`; call `start()` on it to bind. */
export function createListener(options: ListenerOptions, events: ListenerEvents): Listener {
  switch (options.type) {
    case 'tcp':
      return new TcpListener(options, events);
    case 'ssl':
      return new TlsListener(options, events);
    case 'ws':
    case 'wss':
      return new WsListener(options, events);
    default:
      throw new Error(`unsupported stream listener type ${String((options as ListenerOptions).type)}`);
  }
}
