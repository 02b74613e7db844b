/**
 * The datagram transport for gateway listeners (EMQX esockd udp): one socket, one Connection per peer
 * address, max_connections and max_conn_rate per new peer, `udp_options` and `health_check`.
 *
 * DTLS is refused: no maintained DTLS 1.2 server for Node.js supports the cipher suites constrained devices
 * use. werift-dtls 0.5.8 (the only maintained pure-JS server) offers ECDHE_{ECDSA,RSA}_WITH_AES_128_GCM_SHA256
 * only: with openssl s_client -dtls1_2 those work, but PSK-AES128-CCM8, ECDHE-ECDSA-AES128-CCM8 and
 * PSK-AES128-GCM-SHA256 fail ("cipher suite negotiation failed", no alert sent, the client hangs).
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { GatewayListenerConfig } from '../config/schema/gateway-common.js';
import type { TransportListener, TransportListenerSpec } from './gateway-listener.js';
import type { BindAddress, ListenerEvents, ListenerRefusal } from './listener.js';
import { TokenBucket } from './rate-limiter.js';
import { plainHost } from './stream-listener.js';
import { DatagramConnection, type DatagramOwner } from './udp-connection.js';

export { DatagramConnection } from './udp-connection.js';

/** Why a dtls listener cannot be created (also what the gateway reports when one is configured). */
export const DTLS_UNSUPPORTED =
  'dtls listeners are not supported: no DTLS 1.2 server for Node.js offers the PSK and CCM_8 cipher suites constrained devices use; use a udp listener';

// Refusals are reported at most once per window per reason, with a count of the rest (floods stay one line).
const REFUSAL_WINDOW_MS = 1000;

/** Builds a udp gateway listener; throws for dtls (see DTLS_UNSUPPORTED). */
export function createDatagramListener(
  spec: TransportListenerSpec,
  events: ListenerEvents,
): TransportListener {
  if (spec.type === 'dtls') throw new Error(DTLS_UNSUPPORTED);
  if (spec.type !== 'udp') throw new Error(`the datagram transport serves udp listeners, not ${spec.type}`);
  return new UdpListener(spec, events);
}

/** A UDP listener: routes each datagram to its peer's Connection, creating one for a new peer. */
export class UdpListener implements TransportListener, DatagramOwner {
  readonly listenerId: string;
  readonly transport = 'udp' as const;
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

  /** Does not bind: `start` does. */
  constructor(
    readonly spec: TransportListenerSpec,
    private readonly events: ListenerEvents,
  ) {
    this.listenerId = spec.id;
    const hc = spec.config.health_check;
    if (hc !== undefined && hc.request !== '') {
      this.healthRequest = Buffer.from(hc.request);
      this.healthReply = Buffer.from(hc.reply);
    }
  }

  get socket(): dgram.Socket {
    return this.sock!;
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
    const opts = socketOptions(bind, config);
    const sock = dgram.createSocket(opts.socket);
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: bind.host, port: bind.port }, () => {
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
    if (!this.accepting && this.peers.size === 0) void this.closeSocket();
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const host = plainHost(rinfo.address);
    // A gateway may route by what the datagram says (CoAP: client id, token); a DTLS layer would decrypt
    // before this point, so routing always sees plaintext. The connection keeps answering the address that
    // opened it.
    const route = this.spec.routeDatagram;
    const key = route === undefined ? peerKey(host, rinfo.port) : route(msg, { host, port: rinfo.port });
    if (key === undefined) return;
    const known = this.peers.get(key);
    if (known !== undefined) {
      known.receive(msg);
      return;
    }
    if (!this.accepting) return;
    if (this.healthRequest !== undefined && msg.equals(this.healthRequest)) {
      this.sock?.send(this.healthReply!, rinfo.port, rinfo.address);
      return;
    }
    if (this.peers.size >= this.spec.maxConnections) {
      this.refuse('max_connections', host, 'max_connections reached');
      this.answerRefused(msg, rinfo);
      return;
    }
    // Over the rate the datagram is dropped: the device retries, as it would after a lost datagram.
    if (this.bucket !== undefined && !this.bucket.take()) {
      this.refuse('max_connections', host, 'max_conn_rate exceeded');
      this.answerRefused(msg, rinfo);
      return;
    }
    const conn = new DatagramConnection(this, host, rinfo.port, rinfo.address);
    this.peers.set(key, conn);
    this.keys.set(conn, key);
    this.events.onConnection(conn);
    conn.receive(msg);
  }

  /** Sends a refused peer the gateway's "busy" answer to its datagram, when the gateway has one. */
  private answerRefused(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const reply = this.spec.refusalReply?.(msg);
    if (reply !== undefined) this.sock?.send(reply, rinfo.port, rinfo.address);
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
  }

  private async closeSocket(): Promise<void> {
    const sock = this.sock;
    if (sock === undefined) return;
    this.sock = undefined;
    for (const r of this.refusals.values()) clearTimeout(r.timer);
    this.refusals.clear();
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
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
    socket: { type: isIPv6(bind.host) ? 'udp6' : 'udp4', reuseAddr: u?.reuseaddr ?? true },
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
