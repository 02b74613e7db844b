/**
 * The datagram transport for gateway listeners (EMQX esockd udp/dtls): one socket, one Connection per peer
 * address, max_connections and max_conn_rate per new peer, `udp_options` and `health_check`.
 *
 * A dtls listener puts src/transport/dtls's server between the socket and the routing: datagrams are
 * decrypted per peer address, only established sessions reach the router, and a connection's frames are
 * encrypted on the way out. The DTLS implementation is this project's own (see src/transport/dtls/README.md
 * for why no library was used).
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { GatewayListenerConfig } from '../config/schema/gateway-common.js';
import { logger } from '../log.js';
import type { PeerCertificate } from './connection.js';
import { datagramRole } from './datagram-role.js';
import { type DtlsListenerSetup, dtlsServerSetup } from './dtls/options.js';
import { DtlsServer, type DtlsSession } from './dtls/server.js';
import type { TransportListener, TransportListenerSpec } from './gateway-listener.js';
import { bindHost } from './listen-host.js';
import type { BindAddress, ListenerEvents, ListenerRefusal } from './listener.js';
import { TokenBucket } from './rate-limiter.js';
import { plainHost } from './stream-listener.js';
import { certificateIdentity } from './tls-context.js';
import { DatagramConnection, type DatagramOwner } from './udp-connection.js';

export { DatagramConnection } from './udp-connection.js';

// Refusals are reported at most once per window per reason, with a count of the rest (floods stay one line).
const REFUSAL_WINDOW_MS = 1000;

/** Builds a udp or dtls gateway listener. */
export function createDatagramListener(
  spec: TransportListenerSpec,
  events: ListenerEvents,
): TransportListener {
  if (spec.type !== 'udp' && spec.type !== 'dtls')
    throw new Error(`the datagram transport serves udp and dtls listeners, not ${spec.type}`);
  return new UdpListener(spec, events);
}

/** A UDP listener: routes each datagram to its peer's Connection, creating one for a new peer. */
export class UdpListener implements TransportListener, DatagramOwner {
  readonly listenerId: string;
  readonly transport: 'udp' | 'dtls';
  sockport = 0;
  sockhost = '';
  private sock: dgram.Socket | undefined;
  private accepting = false;
  /** Connections by routing key (the peer address unless the gateway routes datagrams itself). */
  private readonly peers = new Map<string, DatagramConnection>();
  private readonly keys = new Map<DatagramConnection, string>();
  private bucket: TokenBucket | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly healthRequest: Buffer | undefined;
  private readonly healthReply: Buffer | undefined;
  private readonly refusals = new Map<ListenerRefusal, { count: number; timer: NodeJS.Timeout }>();
  /** The DTLS layer of a dtls listener. */
  private dtls: DtlsServer | undefined;
  /**
   * On a dtls listener, the connections each session opened (one, unless the gateway routes by what the
   * datagram says), so a close on either side finds its counterparts without scanning every connection.
   */
  private readonly sessionConns = new Map<DtlsSession, Set<DatagramConnection>>();
  private readonly connSession = new Map<DatagramConnection, DtlsSession>();

  /** Does not bind: `start` does. */
  constructor(
    readonly spec: TransportListenerSpec,
    private readonly events: ListenerEvents,
  ) {
    this.listenerId = spec.id;
    this.transport = spec.type === 'dtls' ? 'dtls' : 'udp';
    const hc = spec.config.health_check;
    if (hc !== undefined && hc.request !== '') {
      this.healthRequest = Buffer.from(hc.request);
      this.healthReply = Buffer.from(hc.reply);
    }
  }

  /** DatagramOwner: one frame of a connection, encrypted on a dtls listener. */
  transmit(frame: Buffer, conn: DatagramConnection, address: string, done: () => void): void {
    if (this.dtls === undefined) {
      this.sock?.send(frame, conn.peerport, address, done);
      return;
    }
    this.dtls.session(conn.peerhost, conn.peerport)?.send(frame);
    done();
  }

  get running(): boolean {
    return this.accepting;
  }

  get currentConnections(): number {
    return this.peers.size;
  }

  address(): BindAddress | undefined {
    if (this.sock === undefined) return undefined;
    try {
      const a = this.sock.address();
      return { host: a.address, port: a.port };
    } catch {
      return undefined;
    }
  }

  async start(): Promise<void> {
    if (this.sock !== undefined) return;
    const { bind, config } = this.spec;
    const role = datagramRole();
    if (role === 'skip') {
      // Another worker owns UDP (see datagram-role.ts): this one stays unbound and reports not running.
      logger.info({ listener: this.listenerId }, 'udp listener is served by worker 1');
      return;
    }
    const opts = socketOptions(bind, config);
    const setup =
      this.transport === 'dtls' ? await dtlsServerSetup(config.dtls_options, this.spec.psk) : undefined;
    const sock = dgram.createSocket(opts.socket);
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: bindHost(bind.host), port: bind.port, exclusive: role === 'own' }, () => {
        sock.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      sock.close();
      throw err;
    });
    // Socket errors (e.g. ICMP port unreachable surfacing as ECONNREFUSED) must not crash the node.
    sock.on('error', (err) => this.events.onError?.(err));
    if (opts.recbuf !== undefined) sock.setRecvBufferSize(opts.recbuf);
    if (opts.sndbuf !== undefined) sock.setSendBufferSize(opts.sndbuf);
    const rate = this.spec.maxConnRate;
    this.bucket = rate > 0 && Number.isFinite(rate) ? new TokenBucket(rate) : undefined;
    this.sock = sock;
    if (setup !== undefined) this.dtls = this.dtlsServer(setup, sock);
    this.sockport = sock.address().port;
    this.sockhost = plainHost(sock.address().address);
    this.accepting = true;
    const idle = this.spec.idleTimeoutMs;
    if (idle > 0 && Number.isFinite(idle)) {
      this.sweepTimer = setInterval(() => this.sweep(), Math.min(5000, Math.max(100, idle / 2)));
      this.sweepTimer.unref();
    }
  }

  /**
   * Stops taking new peers. Existing peers keep the socket (so a gateway can still say DISCONNECT) until
   * they close or `closeConnections` ends them; the socket closes with the last one.
   */
  async stop(closeConnections = false): Promise<void> {
    this.accepting = false;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    if (closeConnections) for (const c of [...this.peers.values()]) c.destroy();
    if (this.peers.size === 0) await this.closeSocket();
  }

  /** DatagramOwner: a connection ended. */
  release(conn: DatagramConnection): void {
    const key = this.keys.get(conn);
    this.keys.delete(conn);
    if (key !== undefined && this.peers.get(key) === conn) this.peers.delete(key);
    // The channel is done with the peer: say close_notify unless another connection still uses the session.
    const session = this.connSession.get(conn);
    if (session !== undefined) {
      this.connSession.delete(conn);
      const conns = this.sessionConns.get(session);
      conns?.delete(conn);
      if (conns === undefined || conns.size === 0) {
        this.sessionConns.delete(session);
        session.close();
      }
    }
    if (!this.accepting && this.peers.size === 0) void this.closeSocket();
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const host = plainHost(rinfo.address);
    const dtls = this.dtls;
    if (dtls === undefined) {
      this.route(msg, host, rinfo.port, rinfo.address, undefined);
      return;
    }
    // A load balancer's probe is plaintext even on a dtls listener.
    if (this.healthRequest !== undefined && msg.equals(this.healthRequest)) {
      this.sock?.send(this.healthReply!, rinfo.port, rinfo.address);
      return;
    }
    dtls.receive(msg, host, rinfo.port, rinfo.address);
  }

  /** A plaintext datagram (as received on udp, decrypted on dtls) to its peer's connection. */
  private route(
    msg: Buffer,
    host: string,
    port: number,
    address: string,
    session: DtlsSession | undefined,
  ): void {
    // A gateway may route by what the datagram says (CoAP: client id, token). The connection keeps
    // answering the address that opened it.
    const route = this.spec.routeDatagram;
    const key = route === undefined ? peerKey(host, port) : route(msg, { host, port });
    if (key === undefined) return;
    const known = this.peers.get(key);
    if (known !== undefined) {
      known.receive(msg);
      return;
    }
    if (!this.accepting) return;
    if (session === undefined && this.healthRequest !== undefined && msg.equals(this.healthRequest)) {
      this.sock?.send(this.healthReply!, port, address);
      return;
    }
    if (this.peers.size >= this.spec.maxConnections) {
      this.refuse('max_connections', host, 'max_connections reached');
      this.answerRefused(msg, port, address, session);
      return;
    }
    // Over the rate the datagram is dropped: the device retries, as it would after a lost datagram.
    if (this.bucket !== undefined && !this.bucket.take()) {
      this.refuse('max_connections', host, 'max_conn_rate exceeded');
      this.answerRefused(msg, port, address, session);
      return;
    }
    const conn = new DatagramConnection(this, host, port, address, session && securityOf(session));
    if (session !== undefined) {
      session.inUse = true;
      this.connSession.set(conn, session);
      const conns = this.sessionConns.get(session);
      if (conns === undefined) this.sessionConns.set(session, new Set([conn]));
      else conns.add(conn);
    }
    this.peers.set(key, conn);
    this.keys.set(conn, key);
    this.events.onConnection(conn);
    conn.receive(msg);
  }

  /** Sends a refused peer the gateway's "busy" answer to its datagram, when the gateway has one. */
  private answerRefused(msg: Buffer, port: number, address: string, session: DtlsSession | undefined): void {
    const reply = this.spec.refusalReply?.(msg);
    if (reply === undefined) return;
    if (session !== undefined) session.send(reply);
    else this.sock?.send(reply, port, address);
  }

  /** The DTLS layer: established sessions feed the router; a session's end ends its connections. */
  private dtlsServer(setup: DtlsListenerSetup, sock: dgram.Socket): DtlsServer {
    return new DtlsServer(
      {
        ...setup,
        maxSessions: this.spec.maxConnections,
        transmit: (d, port, address) => sock.send(d, port, address),
      },
      {
        onSession: (s) => {
          s.onData = (d) => this.route(d, s.host, s.port, s.address, s);
          s.onClose = () => {
            const conns = this.sessionConns.get(s);
            if (conns === undefined) return;
            this.sessionConns.delete(s);
            for (const c of [...conns]) c.peerClosed();
          };
        },
        // Failed handshakes are a peer's problem, reported like refused TLS handshakes: one line per window,
        // so a flood of bad ClientHellos cannot flood the log.
        onFailure: (peer, reason) =>
          this.refuse('tls_handshake', peer.split('|')[0]!, `dtls handshake: ${reason}`),
      },
    );
  }

  /** Reports the first refusal of a window at once and the rest of that window as one summary. */
  private refuse(reason: ListenerRefusal, peerhost: string, detail: string): void {
    const pending = this.refusals.get(reason);
    if (pending !== undefined) {
      pending.count++;
      return;
    }
    this.events.onRefused?.(reason, peerhost, detail);
    const entry = {
      count: 0,
      timer: setTimeout(() => {
        this.refusals.delete(reason);
        if (entry.count > 0)
          this.events.onRefused?.(reason, '*', `${detail}: ${entry.count} more peers refused`);
      }, REFUSAL_WINDOW_MS),
    };
    entry.timer.unref();
    this.refusals.set(reason, entry);
  }

  // A peer the handler never answered is forgotten after idleTimeoutMs of silence; one it answered is the
  // handler's to close (its login deadline, keepalive or sleep timer does), so a quiet device is not cut off.
  private sweep(): void {
    const limit = Date.now() - this.spec.idleTimeoutMs;
    for (const c of [...this.peers.values()]) if (!c.answered && c.lastReceived <= limit) c.expire();
    this.dtls?.sweep(limit);
  }

  private async closeSocket(): Promise<void> {
    const sock = this.sock;
    if (sock === undefined) return;
    this.sock = undefined;
    this.dtls?.closeAll();
    this.dtls = undefined;
    for (const r of this.refusals.values()) clearTimeout(r.timer);
    this.refusals.clear();
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

/** What a DTLS session proved, as a connection reports it. */
function securityOf(s: DtlsSession): { peerCert?: PeerCertificate; pskIdentity?: string } {
  const cert = s.identity.certificate;
  return {
    ...(cert === undefined ? {} : { peerCert: certificateIdentity(cert) }),
    ...(s.identity.pskIdentity === undefined ? {} : { pskIdentity: s.identity.pskIdentity }),
  };
}

function peerKey(host: string, port: number): string {
  return `${host}|${port}`;
}

interface UdpSocketOptions {
  socket: dgram.SocketOptions;
  recbuf: number | undefined;
  sndbuf: number | undefined;
}

/** dgram options from the listener's bind and `udp_options`. */
export function socketOptions(bind: BindAddress, config: GatewayListenerConfig): UdpSocketOptions {
  const u = config.udp_options;
  return {
    socket: { type: isIPv6(bindHost(bind.host)) ? 'udp6' : 'udp4', reuseAddr: u?.reuseaddr ?? true },
    recbuf: parseSize(u?.recbuf),
    sndbuf: parseSize(u?.sndbuf),
  };
}

const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** "2KB" → 2048; undefined or unparsable → undefined (the OS default stays). */
export function parseSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+)\s*([KMG]?B?)\s*$/i.exec(text);
  if (m === null) return undefined;
  const unit = m[2]!.toUpperCase();
  const mult = UNITS[unit.endsWith('B') || unit === '' ? unit : `${unit}B`];
  return mult === undefined ? undefined : Number(m[1]) * mult;
}
