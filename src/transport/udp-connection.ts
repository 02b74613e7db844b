/**
 * One UDP peer address as a Connection: every datagram from it is one `onData`, every `send` one datagram.
 * The listener owns the socket and routes datagrams here; this class only keeps per-peer state.
 */
import type {
  CloseReason,
  Connection,
  ConnectionHandler,
  ConnectionStats,
  PeerCertificate,
  TransportKind,
} from './connection.js';

/** What a datagram connection needs from its listener. */
export interface DatagramOwner {
  /** Sends one datagram to the peer (encrypting it on a dtls listener); `done` once the OS took it. */
  transmit(frame: Buffer, conn: DatagramConnection, address: string, done: () => void): void;
  readonly listenerId: string;
  readonly transport: TransportKind;
  readonly sockport: number;
  readonly sockhost: string;
  /** Called once when the connection is gone, so the listener forgets the peer. */
  release(conn: DatagramConnection): void;
}

// Datagrams kept while paused (or before a handler is set); more are dropped, as a full socket buffer would.
const MAX_HELD = 64;
// Bytes handed to the OS and not yet confirmed sent, above which the connection reports `congested`.
const HIGH_WATERMARK = 256 * 1024;
// Stream connections number theirs from 1; this range keeps ids process-unique without a shared counter.
let lastId = 1_000_000_000_000;

/** A UDP peer (host, port) seen by a listener. */
export class DatagramConnection implements Connection {
  readonly id = ++lastId;
  readonly peerCert: PeerCertificate | undefined;
  readonly pskIdentity?: string;
  /** Epoch ms of the last datagram from the peer. */
  lastReceived = Date.now();
  /** True once the handler sent the peer anything (it then owns the peer's lifetime). */
  answered = false;

  private handler: ConnectionHandler | undefined;
  private held: Buffer[] | undefined;
  private paused = false;
  private isClosed = false;
  private reason: CloseReason | undefined;
  private notified = false;
  private inFlight = 0;
  private drainWanted = false;
  private readonly counters: ConnectionStats = { recvOct: 0, recvCnt: 0, sendOct: 0, sendCnt: 0 };
  /** Datagrams dropped because the handler was paused too long. */
  droppedWhilePaused = 0;

  constructor(
    private readonly owner: DatagramOwner,
    readonly peerhost: string,
    readonly peerport: number,
    /** The address exactly as the socket reported it (IPv4-mapped form kept), to send back to. */
    private readonly address: string,
    /** What a DTLS handshake proved about the peer. */
    security?: { peerCert?: PeerCertificate; pskIdentity?: string },
  ) {
    this.peerCert = security?.peerCert;
    if (security?.pskIdentity !== undefined) this.pskIdentity = security.pskIdentity;
  }

  get kind(): 'datagram' {
    return 'datagram';
  }

  get transport(): TransportKind {
    return this.owner.transport;
  }

  get listenerId(): string {
    return this.owner.listenerId;
  }

  get sockport(): number {
    return this.owner.sockport;
  }

  get sockhost(): string {
    return this.owner.sockhost;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get pendingBytes(): number {
    return this.inFlight;
  }

  // Seeing it true arms one onDrain, as stream connections do.
  get congested(): boolean {
    if (this.inFlight <= HIGH_WATERMARK) return false;
    this.drainWanted = true;
    return true;
  }

  get stats(): ConnectionStats {
    return { ...this.counters };
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
    if (!this.paused) this.flushHeld();
    if (this.isClosed) this.notifyClose();
  }

  /** A datagram from the peer (called by the listener). */
  receive(data: Buffer): void {
    if (this.isClosed) return;
    this.lastReceived = Date.now();
    this.counters.recvOct += data.length;
    this.counters.recvCnt++;
    if (this.handler === undefined || this.paused || this.held !== undefined) {
      this.hold(data);
      return;
    }
    this.handler.onData(data);
  }

  send(frame: Buffer): void {
    if (this.isClosed) return;
    this.answered = true;
    this.counters.sendOct += frame.length;
    this.counters.sendCnt++;
    this.inFlight += frame.length;
    const size = frame.length;
    this.owner.transmit(frame, this, this.address, () => this.sent(size));
  }

  sendPatched(frame: Buffer, offset: number, packetId: number): void {
    if (!(offset >= 0 && offset + 2 <= frame.length)) {
      throw new RangeError(`packet id offset ${offset} outside a ${frame.length}-byte frame`);
    }
    const copy = Buffer.from(frame);
    copy.writeUInt16BE(packetId, offset);
    this.send(copy);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flushHeld();
  }

  /** Datagrams already went to the OS one by one, so closing needs no flush. */
  close(): void {
    this.end('local');
  }

  destroy(): void {
    this.end('local');
  }

  /** Forgets the peer for idleness (called by the listener). */
  expire(): void {
    this.end('timeout');
  }

  /** The peer ended its DTLS association (close_notify or a fatal alert). */
  peerClosed(): void {
    this.end('closed');
  }

  private end(reason: CloseReason): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reason = reason;
    this.held = undefined;
    this.owner.release(this);
    if (this.handler !== undefined) this.notifyClose();
  }

  private notifyClose(): void {
    if (this.notified) return;
    this.notified = true;
    this.handler!.onClose(this.reason ?? 'local');
  }

  private hold(data: Buffer): void {
    const held = (this.held ??= []);
    if (held.length >= MAX_HELD) {
      this.droppedWhilePaused++;
      return;
    }
    held.push(data);
  }

  private flushHeld(): void {
    const handler = this.handler;
    while (handler !== undefined && this.held !== undefined && !this.paused && !this.isClosed) {
      const next = this.held.shift();
      if (this.held.length === 0) this.held = undefined;
      if (next !== undefined) handler.onData(next);
    }
  }

  private sent(size: number): void {
    this.inFlight -= size;
    if (this.drainWanted && this.inFlight <= HIGH_WATERMARK) {
      this.drainWanted = false;
      if (!this.isClosed) this.handler?.onDrain?.();
    }
  }
}
