/**
 * An in-memory Connection and the peer at its other end (a duplex pair, as Aedes tests its clients): what
 * the peer writes reaches the handler as `onData`, what the server sends collects in `peer.received`. No
 * socket, no port, no timing: a protocol handler runs exactly as it does on a real transport.
 */
import type {
  CloseReason,
  Connection,
  ConnectionHandler,
  ConnectionStats,
  PeerCertificate,
  TransportKind,
} from '../../src/transport/connection.js';

let lastId = 2_000_000_000_000;

/** The client's end of a MemoryConnection. */
export class MemoryPeer {
  /** Every frame (stream) or datagram the server sent, in order. */
  readonly received: Buffer[] = [];
  /** Resolves when the server closes or destroys the connection. */
  readonly closed: Promise<CloseReason>;
  private onClosed!: (r: CloseReason) => void;
  private waiters: Array<() => void> = [];

  constructor(private readonly conn: MemoryConnection) {
    this.closed = new Promise((resolve) => {
      this.onClosed = resolve;
    });
  }

  /** Sends bytes (one datagram on a datagram connection) to the server. */
  write(data: Buffer | string): void {
    this.conn.deliver(typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** The peer goes away (a socket closed by the other side). */
  end(): void {
    this.conn.peerClosed();
  }

  /** Waits until the server has sent at least `n` frames in total. */
  async receivedAtLeast(n: number): Promise<Buffer[]> {
    while (this.received.length < n) {
      if (this.conn.closed) throw new Error(`connection closed after ${this.received.length} frames`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.received;
  }

  /** @internal called by the connection. */
  got(frame: Buffer): void {
    this.received.push(frame);
    this.wake();
  }

  /** @internal called by the connection. */
  ended(reason: CloseReason): void {
    this.onClosed(reason);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** A Connection with no transport under it. */
export class MemoryConnection implements Connection {
  readonly id = ++lastId;
  readonly peer: MemoryPeer;
  readonly peerCert: PeerCertificate | undefined = undefined;
  readonly congested = false;
  readonly pendingBytes = 0;
  readonly stats: ConnectionStats = { recvOct: 0, recvCnt: 0, sendOct: 0, sendCnt: 0 };
  private handler: ConnectionHandler | undefined;
  private held: Buffer[] = [];
  private paused = false;
  private isClosed = false;

  constructor(
    readonly kind: 'stream' | 'datagram' = 'stream',
    readonly listenerId = 'test:tcp:default',
    readonly peerhost = '127.0.0.1',
    readonly peerport = 50000,
    readonly sockport = 1,
    readonly sockhost = '127.0.0.1',
  ) {
    this.peer = new MemoryPeer(this);
  }

  get transport(): TransportKind {
    return this.kind === 'stream' ? 'tcp' : 'udp';
  }

  get closed(): boolean {
    return this.isClosed;
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
    this.flushHeld();
  }

  send(frame: Buffer): void {
    if (this.isClosed) return;
    this.stats.sendOct += frame.length;
    this.stats.sendCnt++;
    this.peer.got(frame);
  }

  sendPatched(frame: Buffer, offset: number, packetId: number): void {
    const copy = Buffer.from(frame);
    copy.writeUInt16BE(packetId, offset);
    this.send(copy);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flushHeld();
  }

  close(): void {
    this.end('local');
  }

  destroy(): void {
    this.end('local');
  }

  /** @internal the peer wrote. */
  deliver(data: Buffer): void {
    if (this.isClosed) return;
    if (this.handler === undefined || this.paused) {
      this.held.push(data);
      return;
    }
    this.stats.recvOct += data.length;
    this.stats.recvCnt++;
    this.handler.onData(data);
  }

  /** @internal the peer went away. */
  peerClosed(): void {
    this.end('closed');
  }

  private end(reason: CloseReason): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handler?.onClose(reason);
    this.peer.ended(reason);
  }

  private flushHeld(): void {
    while (this.held.length > 0 && !this.paused && this.handler !== undefined && !this.isClosed)
      this.deliver(this.held.shift()!);
  }
}
