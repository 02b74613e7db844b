import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';
import type { WebSocketServer } from 'ws';
import type { WebSocketOptions } from './listener.js';
import type { PeerAddress } from './stream-connection.js';
import { type Inflight, plainHost, StreamListener } from './stream-listener.js';
import { loadTlsServerOptions, peerCertificateOf } from './tls-context.js';
import { WsConnection } from './ws-connection.js';

/** WebSocket settings used when a ws/wss listener gives none (EMQX's defaults). */
export const DEFAULT_WEBSOCKET_OPTIONS: WebSocketOptions = {
  path: '/mqtt',
  supportedSubprotocols: ['mqtt', 'mqttv3.1', 'mqtt-v3', 'mqtt-v3.1.1', 'mqtt-v5'],
  failIfNoSubprotocol: true,
  maxFrameSize: Number.POSITIVE_INFINITY,
  checkOriginEnable: false,
  allowOriginAbsence: true,
  checkOrigins: [],
  proxyAddressHeader: 'x-forwarded-for',
  proxyPortHeader: 'x-forwarded-port',
  compress: false,
};

/**
 * The `ws` package, loaded when a ws/wss listener starts: a node without one (or before it, the tcp
 * listener) does not pay its module loading (~60 ms of CPU, 2026-12-04).
 */
function loadWs(): Promise<typeof import('ws')> {
  return import('ws');
}

// A socket that has not sent a complete upgrade request after this long (idle) is dropped.
const UPGRADE_IDLE_MS = 15_000;

/**
 * MQTT over WebSocket, plain (`ws`) or over TLS (`wss`). As with TLS, our TCP server admits the socket
 * and then hands it to an HTTP(S) server that never listens itself; `ws` runs in noServer mode on it.
 */
export class WsListener extends StreamListener {
  private http: http.Server | https.Server | undefined;
  private wss: WebSocketServer | undefined;

  protected async prepare(): Promise<void> {
    const { WebSocketServer } = await loadWs();
    const ws = this.options.ws ?? DEFAULT_WEBSOCKET_OPTIONS;
    const tlsOpts = this.options.tls;
    let server: http.Server | https.Server;
    if (this.options.type === 'wss') {
      if (tlsOpts === undefined) throw new Error(`listener ${this.id}: type wss needs tls options`);
      const secure = https.createServer(await loadTlsServerOptions(tlsOpts));
      secure.on('secureConnection', (sock: tls.TLSSocket) => this.secured(sock, tlsOpts));
      secure.on('tlsClientError', (err, sock) => this.handshakeFailed(err, sock));
      server = secure;
    } else {
      server = http.createServer();
    }
    server.timeout = UPGRADE_IDLE_MS;
    server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) =>
      this.onUpgrade(ws, req, sock, head),
    );
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
      this.onRequest(ws, req, res),
    );
    server.on('clientError', (err: NodeJS.ErrnoException, sock: net.Socket) => this.onClientError(err, sock));
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: Number.isFinite(ws.maxFrameSize) && ws.maxFrameSize > 0 ? ws.maxFrameSize : 0,
      perMessageDeflate: ws.compress,
      handleProtocols: (offered) => pickSubprotocol([...offered], ws.supportedSubprotocols) ?? false,
    });
    wss.on('wsClientError', (err, sock, req) => {
      const entry = this.wrappedEntry(req.socket);
      if (entry !== undefined) this.settle(entry);
      this.refuse('ws_upgrade', entry?.peer.peerhost ?? plainHost(req.socket.remoteAddress), err.message);
      rejectHttp(sock as net.Socket, 400);
    });
    this.http = server;
    this.wss = wss;
  }

  protected async shutdown(): Promise<void> {
    this.http = undefined;
    const wss = this.wss;
    this.wss = undefined;
    await new Promise<void>((resolve) => (wss === undefined ? resolve() : wss.close(() => resolve())));
  }

  protected accept(entry: Inflight): void {
    const server = this.http;
    if (server === undefined) {
      entry.raw.destroy();
      return;
    }
    this.expectWrapped(entry);
    // The PROXY reader or the rate limit may have paused it; HTTP reads through the stream.
    entry.raw.resume();
    server.emit('connection', entry.raw);
  }

  protected override abandoned(entry: Inflight): void {
    // A client going away before the upgrade is not refused; one dropping out of a TLS handshake is.
    if (this.options.type === 'wss' && entry.key !== undefined && !entry.secured) {
      this.refuse('tls_handshake', entry.peer.peerhost, 'closed during handshake');
    }
  }

  private onUpgrade(ws: WebSocketOptions, req: http.IncomingMessage, sock: net.Socket, head: Buffer): void {
    const entry = this.wrappedEntry(sock);
    const wss = this.wss;
    if (entry === undefined || wss === undefined) {
      sock.destroy();
      return;
    }
    const refusal = checkUpgrade(ws, req);
    if (refusal !== undefined) {
      this.settle(entry);
      this.refuse('ws_upgrade', entry.peer.peerhost, refusal.detail);
      rejectHttp(sock, refusal.status);
      return;
    }
    const peer = forwardedPeer(ws, req, entry.peer);
    const cert = this.options.type === 'wss' ? peerCertificateOf(sock as tls.TLSSocket) : undefined;
    wss.handleUpgrade(req, sock, head, (socket) => {
      this.handOver(entry, new WsConnection(socket, sock, this.config, peer, cert));
    });
  }

  private onRequest(ws: WebSocketOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
    const entry = this.wrappedEntry(req.socket);
    const status = pathOf(req) === ws.path ? 426 : 404;
    res.writeHead(status, { Connection: 'close', 'Content-Length': 0 });
    res.end();
    if (entry !== undefined) {
      this.settle(entry);
      this.refuse('ws_upgrade', entry.peer.peerhost, `${req.method} ${pathOf(req)} without upgrade`);
    }
  }

  private onClientError(err: NodeJS.ErrnoException, sock: net.Socket): void {
    // Parse errors are refusals worth reporting; resets and timeouts are clients going away.
    const entry = this.wrappedEntry(sock);
    if (entry !== undefined && err.code?.startsWith('HPE_')) {
      this.settle(entry);
      this.refuse('ws_upgrade', entry.peer.peerhost, err.message);
      rejectHttp(sock, 400);
      return;
    }
    sock.destroy();
  }
}

/** The first subprotocol the client offers that we support (any, when we list none). */
export function pickSubprotocol(offered: string[], supported: string[]): string | undefined {
  if (supported.length === 0) return offered[0];
  return offered.find((p) => supported.includes(p));
}

function checkUpgrade(
  ws: WebSocketOptions,
  req: http.IncomingMessage,
): { status: number; detail: string } | undefined {
  const path = pathOf(req);
  if (path !== ws.path) return { status: 404, detail: `upgrade on ${path}, expected ${ws.path}` };
  if (ws.checkOriginEnable) {
    const origin = req.headers.origin;
    if (origin === undefined ? !ws.allowOriginAbsence : !ws.checkOrigins.includes(origin)) {
      return { status: 403, detail: `origin ${origin ?? '(none)'} not allowed` };
    }
  }
  const header = req.headers['sec-websocket-protocol'];
  const offered =
    header === undefined
      ? []
      : header
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== '');
  if (offered.length === 0) {
    return ws.failIfNoSubprotocol ? { status: 400, detail: 'no subprotocol offered' } : undefined;
  }
  if (pickSubprotocol(offered, ws.supportedSubprotocols) === undefined) {
    return { status: 400, detail: `unsupported subprotocols ${offered.join(',')}` };
  }
  return undefined;
}

// The client's address as told by a forwarding proxy's headers, when configured and well formed.
function forwardedPeer(ws: WebSocketOptions, req: http.IncomingMessage, peer: PeerAddress): PeerAddress {
  const host = ws.proxyAddressHeader
    ? firstValue(req.headers[ws.proxyAddressHeader.toLowerCase()])
    : undefined;
  const port = ws.proxyPortHeader ? firstValue(req.headers[ws.proxyPortHeader.toLowerCase()]) : undefined;
  if (host === undefined && port === undefined) return peer;
  const out = { ...peer };
  if (host !== undefined && net.isIP(host) !== 0) out.peerhost = plainHost(host);
  const portNum = port === undefined ? Number.NaN : Number(port);
  if (Number.isInteger(portNum) && portNum > 0 && portNum < 65536) out.peerport = portNum;
  return out;
}

// x-forwarded-for lists the client first, then each proxy on the way.
function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const first = text.split(',')[0].trim();
  return first === '' ? undefined : first;
}

function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function rejectHttp(sock: net.Socket, status: number): void {
  if (!sock.writable) {
    sock.destroy();
    return;
  }
  // A peer that does not read could keep 'finish' from ever coming.
  const timer = setTimeout(() => sock.destroy(), 2000);
  sock.once('close', () => clearTimeout(timer));
  sock.once('finish', () => sock.destroy());
  sock.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  );
}
