import net from 'node:net';
import type tls from 'node:tls';
import type { Connection } from './connection.js';
import { fdBudget } from './fd-reserve.js';
import type { HandleAddress, TcpHandle } from './handle-connection.js';
import { bindHost } from './listen-host.js';
import type {
  BindAddress,
  Listener,
  ListenerEvents,
  ListenerOptions,
  ListenerRefusal,
  TlsOptions,
} from './listener.js';
import { readProxyHeader } from './proxy-protocol.js';
import { TokenBucket } from './rate-limiter.js';
import type { ConnectionConfig, PeerAddress } from './stream-connection.js';
import { verifyPeer } from './tls-context.js';

/** `tcp.highWatermark` when the options give 0. */
export const DEFAULT_HIGH_WATERMARK = 1024 * 1024;
// Node's own socket mark: below it a congested socket might never emit 'drain', so onDrain could not fire.
const MIN_HIGH_WATERMARK = 16 * 1024;
// Connections held back by max_conn_rate, in seconds' worth of the rate, before extras are refused.
const HELD_SECONDS = 5;

/** A socket accepted but not handed over yet: held by the rate limit, reading PROXY, in a TLS/WS handshake. */
export interface Inflight {
  readonly raw: net.Socket;
  peer: PeerAddress;
  /** Set while a wrapper (TLS, HTTP) owns the socket and we can only find it again by its address. */
  key: string | undefined;
  /** The TLS handshake under a WSS upgrade is done. */
  secured: boolean;
  readonly owner: StreamListener;
}

const kInflight = Symbol('hermod.inflight');
const kForget = Symbol('hermod.forget');
type Tracked = net.Socket & { [kInflight]?: Inflight };

/**
 * The object every accepted handle's getpeername fills, made once with the properties Node writes. On a fresh
 * `{}` each of Node's three property writes (address, family, port) took V8's slow path that adds a property:
 * ~4 200 of ~54 000 instructions per CONNECT; on an object that already has them the three cost ~2 400
 * (valgrind --tool=callgrind, bench server, 3 000 connections, 2026-12-05). Read at once, never kept.
 */
const peerScratch: HandleAddress = { address: undefined, family: undefined, port: undefined };

/**
 * Everything the four stream listeners share: the accepting TCP server, max_connections, max_conn_rate
 * smoothing, the PROXY header, and bookkeeping of live connections. Subclasses turn an admitted socket
 * into a Connection (`accept`).
 */
export abstract class StreamListener implements Listener {
  readonly id: string;
  readonly type: ListenerOptions['type'];
  protected readonly config: ConnectionConfig;
  private server: net.Server | undefined;
  /** The local address of every accepted socket, when the listener is bound to one address. */
  private localEnd: { host: string; port: number } | undefined;
  private readonly live = new Set<Connection>();
  private readonly inflight = new Set<net.Socket>();
  private readonly byKey = new Map<string, Inflight>();
  private readonly held: net.Socket[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private bucket: TokenBucket | undefined;

  /** Does not bind: `start` does. */
  constructor(
    readonly options: ListenerOptions,
    protected readonly events: ListenerEvents,
  ) {
    this.id = options.id;
    this.type = options.type;
    this.config = {
      listenerId: options.id,
      transport: options.type,
      highWatermark: Math.max(MIN_HIGH_WATERMARK, options.tcp.highWatermark || DEFAULT_HIGH_WATERMARK),
      sendTimeoutMs: options.tcp.sendTimeoutMs,
      release: (conn) => {
        this.live.delete(conn);
      },
    };
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  get currentConnections(): number {
    return this.live.size;
  }

  address(): BindAddress | undefined {
    const addr = this.server?.address();
    if (addr === undefined || addr === null || typeof addr === 'string') return undefined;
    return { host: addr.address, port: addr.port };
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    await this.prepare();
    const { bind, tcp, maxConnRate } = this.options;
    const server = net.createServer({ noDelay: tcp.nodelay, keepAlive: tcp.keepalive });
    server.on('connection', (raw: net.Socket) => this.onSocket(raw));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(
          { host: bindHost(bind.host), port: bind.port, backlog: tcp.backlog || undefined },
          () => {
            server.off('error', reject);
            resolve();
          },
        );
      });
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    server.on('error', (err) => this.events.onError?.(err));
    // Bound to one address, every accepted socket's local end is that address: no getsockname per socket
    // (2.3 % of the broker's CPU in S4's CONNECT flood, 2026-12-04).
    const a = server.address();
    this.localEnd =
      a !== null && typeof a === 'object' && a.address !== '0.0.0.0' && a.address !== '::'
        ? { host: plainHost(a.address), port: a.port }
        : undefined;
    this.bucket = maxConnRate > 0 && Number.isFinite(maxConnRate) ? new TokenBucket(maxConnRate) : undefined;
    // Nothing to wait for between accept and hand-over: a listener that can take accepted sockets straight
    // from the listening handle does, without the 'connection' bookkeeping below (see onSocket).
    if (!this.options.proxyProtocol && this.bucket === undefined) this.acceptDirectly(server);
    this.server = server;
  }

  /** Idempotent; a later `stop(true)` still closes the connections an earlier `stop()` left open. */
  async stop(closeConnections = false): Promise<void> {
    if (closeConnections) for (const conn of [...this.live]) conn.destroy();
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    // Only the listening socket closes here; node's close callback would wait for every connection.
    server.close();
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.held.length = 0;
    // Not handed over yet, so nobody else owns them.
    for (const raw of [...this.inflight]) raw.destroy();
    await this.shutdown();
  }

  /** Loads what the listener needs before it binds (key material, HTTP server). */
  protected abstract prepare(): Promise<void>;
  /** Releases what `prepare` built. */
  protected abstract shutdown(): Promise<void>;
  /** Turns an admitted socket (rate limit and PROXY header passed) into a Connection. */
  protected abstract accept(entry: Inflight): void;

  /** Called when a socket not yet handed over closes. */
  protected abandoned(_entry: Inflight): void {}

  /**
   * Called by `start` when no PROXY header and no max_conn_rate stand between accept and hand-over: a
   * listener that can build its connection from the accepted socket at once hooks into `server` here and
   * passes each socket to `admitDirect` (plain TCP does). The default keeps the 'connection' path.
   */
  protected acceptDirectly(_server: net.Server): void {}

  /**
   * The checks `onSocket` makes, for a socket taken straight from the listening handle: its peer when it
   * may become a connection (then `register` it), undefined when it was closed.
   */
  protected admitDirect(sock: net.Socket): PeerAddress | undefined {
    const peer = this.peerOf(sock);
    if (this.mayOpen(peer)) return peer;
    sock.destroy();
    return undefined;
  }

  /** `admitDirect` for an accepted handle with no socket around it (the handle is closed when refused). */
  protected admitHandle(handle: TcpHandle): PeerAddress | undefined {
    const remote = peerScratch;
    remote.address = undefined;
    remote.port = undefined;
    handle.getpeername(remote);
    let local = this.localEnd;
    if (local === undefined) {
      const own: HandleAddress = {};
      handle.getsockname(own);
      local = { host: plainHost(own.address), port: own.port ?? 0 };
    }
    const peer: PeerAddress = {
      peerhost: plainHost(remote.address),
      peerport: remote.port ?? 0,
      sockhost: local.host,
      sockport: local.port,
    };
    if (this.mayOpen(peer)) return peer;
    handle.close(ignoreClosed);
    return undefined;
  }

  /** Registers a connection made from `entry` and gives it to the broker. */
  protected handOver(entry: Inflight, conn: Connection): void {
    this.settle(entry);
    this.register(conn);
  }

  /** Tracks a new connection and gives it to the broker. */
  protected register(conn: Connection): void {
    if (this.server === undefined) {
      conn.destroy();
      return;
    }
    this.live.add(conn);
    this.events.onConnection(conn);
  }

  /** Makes `entry` findable from the socket a wrapper (TLS, HTTP) will hand back later. */
  protected expectWrapped(entry: Inflight): void {
    const key = addressKey(entry.raw);
    if (key === undefined) return;
    entry.key = key;
    this.byKey.set(key, entry);
  }

  /** The entry behind a socket a wrapper handed back; undefined once the socket is gone. */
  protected wrappedEntry(sock: net.Socket): Inflight | undefined {
    const key = addressKey(sock);
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** Stops tracking `entry` (handed over or refused). */
  protected settle(entry: Inflight): void {
    this.inflight.delete(entry.raw);
    if (entry.key !== undefined) this.byKey.delete(entry.key);
    (entry.raw as Tracked)[kInflight] = undefined;
    entry.raw.off('close', onRawClose);
  }

  /** Refuses a tracked socket: reports it and drops it (and `sock` wrapping it). */
  protected refuseEntry(entry: Inflight, reason: ListenerRefusal, detail?: string, sock?: net.Socket): void {
    this.settle(entry);
    sock?.destroy();
    entry.raw.destroy();
    this.refuse(reason, entry.peer.peerhost, detail);
  }

  protected refuse(reason: ListenerRefusal, peerhost: string, detail?: string): void {
    this.events.onRefused?.(reason, peerhost, detail);
  }

  /** Checks a finished TLS handshake; returns its entry when the client may go on. */
  protected secured(sock: tls.TLSSocket, opts: TlsOptions): Inflight | undefined {
    const entry = this.wrappedEntry(sock);
    if (entry === undefined) {
      sock.destroy();
      return undefined;
    }
    const refusal = verifyPeer(sock, opts);
    if (refusal !== undefined) {
      this.refuseEntry(entry, 'tls_handshake', refusal, sock);
      return undefined;
    }
    entry.secured = true;
    return entry;
  }

  /** A TLS handshake failed (node's tlsClientError). */
  protected handshakeFailed(err: Error, sock: tls.TLSSocket): void {
    const entry = this.wrappedEntry(sock);
    // OpenSSL errors carry a short `reason`; the message adds library paths.
    const detail = (err as { reason?: string }).reason ?? err.message;
    if (entry !== undefined) this.refuseEntry(entry, 'tls_handshake', detail, sock);
    // Already closed: its address is gone with it, and `abandoned` has reported it.
    else sock.destroy();
  }

  private onSocket(raw: net.Socket): void {
    raw.on('error', ignoreError);
    const peer = this.peerOf(raw);
    if (!this.mayOpen(peer)) {
      raw.destroy();
      return;
    }
    const entry: Inflight = { raw, peer, key: undefined, secured: false, owner: this };
    (raw as Tracked)[kInflight] = entry;
    this.inflight.add(raw);
    raw.on('close', onRawClose);
    const bucket = this.bucket;
    if (bucket !== undefined && (this.held.length > 0 || !bucket.take())) this.hold(entry, bucket);
    else this.admit(entry);
  }

  private peerOf(raw: net.Socket): PeerAddress {
    const local = this.localEnd;
    return {
      peerhost: plainHost(raw.remoteAddress),
      peerport: raw.remotePort ?? 0,
      sockhost: local !== undefined ? local.host : plainHost(raw.localAddress),
      sockport: local !== undefined ? local.port : (raw.localPort ?? 0),
    };
  }

  /**
   * False when the listener is stopping, descriptors run short or it is full: the caller closes the socket
   * at once, before any buffering, so the descriptor goes back to the reserve the API accepts from.
   */
  private mayOpen(peer: PeerAddress): boolean {
    if (this.server === undefined) return false;
    if (!fdBudget.admit(this.id, peer.peerhost)) return false;
    if (this.live.size + this.inflight.size >= this.options.maxConnections) {
      this.refuse('max_connections', peer.peerhost);
      return false;
    }
    return true;
  }

  // Over the rate: keep the socket paused, unanswered, until a token frees up.
  private hold(entry: Inflight, bucket: TokenBucket): void {
    const max = Math.max(1, Math.ceil(this.options.maxConnRate * HELD_SECONDS));
    if (this.held.length >= max) this.compactHeld();
    if (this.held.length >= max) {
      this.refuseEntry(entry, 'max_connections', 'max_conn_rate backlog full');
      return;
    }
    entry.raw.pause();
    this.held.push(entry.raw);
    if (this.heldTimer === undefined) {
      this.heldTimer = setTimeout(() => this.releaseHeld(), bucket.waitMs());
    }
  }

  private releaseHeld(): void {
    this.heldTimer = undefined;
    const bucket = this.bucket;
    if (bucket === undefined) return;
    while (this.held.length > 0) {
      const entry = (this.held[0] as Tracked)[kInflight];
      if (entry === undefined) {
        this.held.shift();
        continue;
      }
      if (!bucket.take()) break;
      this.held.shift();
      this.admit(entry);
    }
    if (this.held.length > 0) this.heldTimer = setTimeout(() => this.releaseHeld(), bucket.waitMs());
  }

  private compactHeld(): void {
    let n = 0;
    for (const raw of this.held) if ((raw as Tracked)[kInflight] !== undefined) this.held[n++] = raw;
    this.held.length = n;
  }

  private admit(entry: Inflight): void {
    if (!this.options.proxyProtocol) {
      this.accept(entry);
      return;
    }
    readProxyHeader(entry.raw, this.options.proxyProtocolTimeoutMs, (err, address) => {
      // Closed meanwhile (or the listener stopped): nothing to refuse.
      if (!this.inflight.has(entry.raw)) return;
      if (err !== undefined) {
        this.refuseEntry(entry, 'proxy_protocol', err.message);
        return;
      }
      if (address !== undefined) {
        entry.peer = {
          peerhost: plainHost(address.srcHost),
          peerport: address.srcPort,
          sockhost: plainHost(address.dstHost),
          sockport: address.dstPort,
        };
      }
      this.accept(entry);
    });
  }

  // A socket closed before it was handed over.
  [kForget](entry: Inflight): void {
    this.settle(entry);
    this.abandoned(entry);
  }
}

function onRawClose(this: Tracked): void {
  const entry = this[kInflight];
  if (entry !== undefined) entry.owner[kForget](entry);
}

// Socket errors before an owner attaches its own listener must not crash the process; 'close' follows.
function ignoreError(): void {}

function ignoreClosed(): void {}

/** An address as people write it: IPv4-mapped IPv6 ('::ffff:10.0.0.1') becomes plain IPv4. */
export function plainHost(addr: string | undefined): string {
  if (addr === undefined) return '';
  if (addr.startsWith('::ffff:') && net.isIPv4(addr.slice(7))) return addr.slice(7);
  return addr;
}

// Both ends of a TCP connection; the same for a raw socket and for a TLS socket wrapped around it.
function addressKey(sock: net.Socket): string | undefined {
  const remote = sock.remoteAddress;
  if (remote === undefined) return undefined;
  return `${remote}|${sock.remotePort}|${sock.localAddress}|${sock.localPort}`;
}
