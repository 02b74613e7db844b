import type net from 'node:net';
import type {
  CloseReason,
  Connection,
  ConnectionHandler,
  ConnectionStats,
  PeerCertificate,
  TransportKind,
} from './connection.js';
import { type DirectWriteOwner, kDirectWriteDone, NOT_DIRECT, writeDirect } from './direct-write.js';
import { copyRead, readView } from './shared-read-buffer.js';
import {
  currentPass,
  type Flushable,
  LARGE_FRAME_BYTES,
  markDirty,
  packFrames,
  passesSince,
  patchedCopy,
  readEnded,
  readStarted,
  unmarkLast,
} from './write-batcher.js';

/** Settings every connection of one listener shares: one object per listener, not per connection. */
export interface ConnectionConfig {
  readonly listenerId: string;
  readonly transport: TransportKind;
  /** Unsent bytes above which the connection reports `congested`. */
  readonly highWatermark: number;
  /** ms a write may make no progress before the connection is dropped; 0 disables. */
  readonly sendTimeoutMs: number;
  /** Called once when a connection is gone, so its listener can forget it. */
  release(conn: Connection): void;
}

/** Where a connection comes from, possibly as told by a PROXY header or a forwarding proxy. */
export interface PeerAddress {
  peerhost: string;
  peerport: number;
  sockhost: string;
  sockport: number;
}

/** How long a gracefully closing connection may take before it is destroyed (peer not reading). */
export const CLOSE_GRACE_MS = 5000;

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

// Clears batch slots without changing the arrays' element kind.
const NO_FRAME = Buffer.alloc(0);
// Batches bigger than this give their slot arrays back instead of keeping them for an idle connection.
const KEEP_SLOTS = 64;
// A connection the end-of-turn pass wrote for within this many passes is fed by other reads: its own reads
// leave their frames to the pass too (see kReceiveRead).
const FED_PASSES = 64;

let lastId = 0;

const kOwner = Symbol('hermod.connection');
type Owned = net.Socket & { [kOwner]?: NodeSocketConnection };

// Entry points for the transport event glue: symbol-keyed so they stay off the connection's public surface,
// and called from shared listener functions so an idle connection carries no per-connection closures.
/** Bytes arrived from the peer. */
export const kReceive = Symbol('hermod.receive');
/** The bytes of one socket read system call arrived from the peer (see StreamConnection[kReceiveRead]). */
export const kReceiveRead = Symbol('hermod.receive-read');
/** The peer ended its side (FIN). */
export const kPeerEnded = Symbol('hermod.peer-ended');
/** The transport errored; it closes by itself next. */
export const kTransportError = Symbol('hermod.transport-error');
/** The transport is fully closed. */
export const kTransportClosed = Symbol('hermod.transport-closed');
/** End the connection now because of `error`. */
export const kFail = Symbol('hermod.fail');
/** The transport handed every queued byte on to the OS (a socket's 'drain'). */
export const kDrained = Symbol('hermod.drained');

/**
 * Base of every byte-stream connection: the per-turn write batch, back-pressure, the close protocol and
 * stats. Subclasses only say how bytes reach the wire, how much of them the transport still holds, and how
 * the transport is ended or killed.
 */
export abstract class StreamConnection implements Connection, Flushable {
  readonly id = ++lastId;
  readonly peerhost: string;
  readonly peerport: number;
  readonly sockport: number;
  readonly sockhost: string;
  readonly peerCert: PeerCertificate | undefined;

  private handler: ConnectionHandler | undefined;
  private early: Buffer[] | undefined;
  private state = OPEN;
  private reason: CloseReason | undefined;
  private error: Error | undefined;
  private gone = false;
  private notified = false;
  private timer: NodeJS.Timeout | undefined;
  private progressMark = 0;
  private blocked = false;
  private drainWanted = false;
  // Set once we decided to end (close, destroy, failure): no more data goes to the handler.
  private muted = false;

  // The batch. A lone frame (the common case: an ack, a ping response) sits in the `one*` fields;
  // from the second frame of a turn on, parallel slot arrays are used, created once and then reused.
  private one: Buffer | undefined;
  private oneOffset = -1;
  private oneId = 0;
  private frames: Buffer[] | undefined;
  private offsets: number[] | undefined;
  private ids: number[] | undefined;
  private count = 0;
  private queued = 0;
  private largeCount = 0;
  private dirty = false;
  // The last pass that wrote for this connection; the start value counts as long ago.
  private lastPass = -FED_PASSES - 1;

  private recvOct = 0;
  private recvCnt = 0;
  private sendOct = 0;
  private sendCnt = 0;

  constructor(
    protected readonly config: ConnectionConfig,
    peer: PeerAddress,
    peerCert: PeerCertificate | undefined,
  ) {
    this.peerhost = peer.peerhost;
    this.peerport = peer.peerport;
    this.sockport = peer.sockport;
    this.sockhost = peer.sockhost;
    this.peerCert = peerCert;
  }

  // Getters rather than fields: constant per class, so they cost an idle connection nothing.
  get kind(): 'stream' {
    return 'stream';
  }

  get transport(): TransportKind {
    return this.config.transport;
  }

  get listenerId(): string {
    return this.config.listenerId;
  }

  get closed(): boolean {
    return this.state !== OPEN;
  }

  get pendingBytes(): number {
    return this.queued + this.unsentBytes();
  }

  // Seeing it true arms one onDrain, so a channel that paused on congestion is told when to go on.
  get congested(): boolean {
    if (this.queued + this.unsentBytes() <= this.config.highWatermark) return false;
    this.drainWanted = true;
    return true;
  }

  get stats(): ConnectionStats {
    return { recvOct: this.recvOct, recvCnt: this.recvCnt, sendOct: this.sendOct, sendCnt: this.sendCnt };
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
    const early = this.early;
    if (early !== undefined) {
      this.early = undefined;
      for (const chunk of early) this.deliver(handler, chunk);
    }
    if (this.gone) this.notifyClose();
  }

  send(frame: Buffer): void {
    if (this.state === OPEN) this.enqueue(frame, -1, 0);
  }

  sendPatched(frame: Buffer, offset: number, packetId: number): void {
    // A bad offset would patch bytes of the neighbouring frame in the batch copy.
    if (!(offset >= 0 && offset + 2 <= frame.length)) {
      throw new RangeError(`packet id offset ${offset} outside a ${frame.length}-byte frame`);
    }
    if (this.state === OPEN) this.enqueue(frame, offset, packetId);
  }

  close(peerDone = false): void {
    this.beginClose('local', peerDone);
    this.muted = true;
  }

  destroy(): void {
    this.muted = true;
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.reason ??= 'local';
    this.dropBatch();
    this.clearTimer();
    this.killTransport();
  }

  /** Writes the queued batch: one frame by reference, else one packed copy (large frames by reference). */
  flush(): void {
    this.dirty = false;
    const n = this.count;
    if (n === 0) return;
    const size = this.queued;
    const large = this.largeCount;
    const one = this.one;
    this.count = 0;
    this.queued = 0;
    this.largeCount = 0;
    this.one = undefined;
    const pass = currentPass();
    if (pass !== 0) this.lastPass = pass;
    if (this.state !== CLOSED) {
      try {
        if (n === 1) this.emit(this.oneOffset < 0 ? one! : patchedCopy(one!, this.oneOffset, this.oneId));
        else if (large === 0) this.emit(packFrames(this.frames!, this.offsets!, this.ids!, 0, n, size));
        else this.emitSegments(this.frames!, this.offsets!, this.ids!, n);
      } catch (err) {
        this[kFail]('reset', err as Error);
      }
    }
    if (n > 1) this.releaseSlots(n);
    if (this.state !== CLOSED) this.afterWrite();
  }

  abstract pause(): void;
  abstract resume(): void;
  /** Hands one buffer to the transport. */
  protected abstract writeOne(buf: Buffer): void;
  /** Hands several buffers to the transport as one unit (one WebSocket message). */
  protected abstract writeMany(bufs: Buffer[]): void;
  /**
   * Starts a graceful end (FIN, WebSocket close frame). `peerDone`: the peer sends nothing more (its end of
   * stream or an MQTT DISCONNECT came). Returns true when the transport closed at once, so there is no end
   * of the peer's to wait for (and no close grace to arm).
   */
  protected abstract endTransport(peerDone: boolean): boolean;
  /** Tears the transport down at once. */
  protected abstract killTransport(): void;
  /** Bytes handed to the transport that it has not passed on to the OS yet. */
  protected abstract unsentBytes(): number;
  /** The transport holds more than its own high-water mark: writes are behind (a socket's needDrain). */
  protected abstract writesBehind(): boolean;
  /** Bytes the transport has passed on to the OS so far (progress for the send timeout). */
  protected abstract bytesHandedOn(): number;

  /**
   * One socket read's `n` bytes at the start of `buf` (the shared read buffer, reused by the next read), as
   * the shared-read callback delivers them (one call per read system call).
   * What the read made us owe this same peer (a PINGRESP, the PUBACKs of its PUBLISHes) leaves at the end of
   * the read instead of in the end-of-turn pass: that pass (an immediate, its callback into JS and the
   * immediate-ref toggling) was ~7 % of the broker's CPU per PINGREQ under one-client ping-pong (perf,
   * 2026-12-04), and with nothing else queued the turn then needs no pass at all. Only for a connection that
   * was clean before the read and that the pass has not written for in the last FED_PASSES passes: a
   * connection other reads feed (a shared-group member, a fan-in subscriber, whose own PUBACKs may release
   * queued deliveries) keeps one write per turn with everything the turn's reads queued for it. Frames for
   * other connections always wait for the pass. Not used for WebSocket messages or TLS 'data' events, which
   * can be many per read system call.
   */
  [kReceiveRead](n: number, buf: Buffer): void {
    const early = !this.dirty && passesSince(this.lastPass) > FED_PASSES;
    readStarted();
    try {
      const handler = this.handler;
      // A handler that keeps nothing of what it reads parses the read where it lies (readView): a lone ack
      // or ping then allocates nothing at all.
      if (handler?.onBorrowedData !== undefined && !this.muted) this.receiveBorrowed(handler, n, buf);
      else this[kReceive](copyRead(buf, n));
      if (early && this.dirty) {
        this.flush();
        // Unless the flush itself queued more (a drain handler sending again), its list entry is spent.
        if (!this.dirty) unmarkLast(this);
      }
    } finally {
      readEnded();
    }
  }

  private receiveBorrowed(handler: ConnectionHandler, n: number, buf: Buffer): void {
    this.recvOct += n;
    this.recvCnt++;
    try {
      handler.onBorrowedData!(readView(buf, n));
    } catch (err) {
      // One client's packet must not take the process down: drop that connection, report the error.
      this[kFail]('local', err as Error);
    }
  }

  [kReceive](chunk: Buffer): void {
    this.recvOct += chunk.length;
    this.recvCnt++;
    if (this.muted) return;
    const handler = this.handler;
    if (handler !== undefined) this.deliver(handler, chunk);
    else (this.early ??= []).push(chunk);
  }

  /** Records why the connection is ending; the first cause wins. */
  private noteEnd(reason: CloseReason, error?: Error): void {
    if (this.reason === undefined) {
      this.reason = reason;
      this.error = error;
    }
  }

  // Flush what we owe the peer, then end our side too.
  [kPeerEnded](): void {
    this.beginClose('closed', true);
  }

  [kTransportError](err: Error): void {
    this.noteEnd('reset', err);
  }

  [kTransportClosed](): void {
    if (this.gone) return;
    this.gone = true;
    this.state = CLOSED;
    this.dropBatch();
    this.clearTimer();
    this.config.release(this);
    if (this.handler !== undefined) this.notifyClose();
  }

  [kFail](reason: CloseReason, error: Error): void {
    this.noteEnd(reason, error);
    this.destroy();
  }

  private enqueue(frame: Buffer, offset: number, packetId: number): void {
    const n = this.count;
    if (n === 0) {
      this.one = frame;
      this.oneOffset = offset;
      this.oneId = packetId;
    } else {
      let frames = this.frames;
      let offsets = this.offsets;
      let ids = this.ids;
      if (frames === undefined || offsets === undefined || ids === undefined) {
        frames = this.frames = [];
        offsets = this.offsets = [];
        ids = this.ids = [];
      }
      if (n === 1) {
        frames[0] = this.one!;
        offsets[0] = this.oneOffset;
        ids[0] = this.oneId;
        this.one = undefined;
      }
      frames[n] = frame;
      offsets[n] = offset;
      ids[n] = packetId;
    }
    this.count = n + 1;
    this.queued += frame.length;
    if (offset < 0 && frame.length > LARGE_FRAME_BYTES) this.largeCount++;
    if (!this.dirty) {
      this.dirty = true;
      markDirty(this);
    }
  }

  private emit(buf: Buffer): void {
    this.sendOct += buf.length;
    this.sendCnt++;
    this.writeOne(buf);
  }

  // Runs of small (or patched) frames are packed; large unpatched frames go by reference between them.
  private emitSegments(frames: Buffer[], offsets: number[], ids: number[], n: number): void {
    const parts: Buffer[] = [];
    let start = 0;
    let run = 0;
    for (let i = 0; i < n; i++) {
      const frame = frames[i];
      if (offsets[i] < 0 && frame.length > LARGE_FRAME_BYTES) {
        if (i > start) parts.push(this.packRun(frames, offsets, ids, start, i, run));
        parts.push(frame);
        start = i + 1;
        run = 0;
      } else {
        run += frame.length;
      }
    }
    if (n > start) parts.push(this.packRun(frames, offsets, ids, start, n, run));
    for (const part of parts) this.sendOct += part.length;
    this.sendCnt += parts.length;
    this.writeMany(parts);
  }

  private packRun(
    frames: Buffer[],
    offsets: number[],
    ids: number[],
    from: number,
    to: number,
    size: number,
  ) {
    return to - from === 1 && offsets[from] < 0
      ? frames[from]
      : packFrames(frames, offsets, ids, from, to, size);
  }

  private releaseSlots(n: number): void {
    if (n > KEEP_SLOTS) {
      this.frames = this.offsets = this.ids = undefined;
      return;
    }
    const frames = this.frames;
    if (frames !== undefined) for (let i = 0; i < n; i++) frames[i] = NO_FRAME;
  }

  private dropBatch(): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    this.queued = 0;
    this.largeCount = 0;
    this.one = undefined;
    if (n > 1) this.releaseSlots(n);
  }

  private afterWrite(): void {
    if (this.writesBehind()) {
      if (this.pendingBytes > this.config.highWatermark) this.drainWanted = true;
      if (!this.blocked) {
        this.blocked = true;
        this.armSendTimer();
      }
    } else if (this.drainWanted && !this.congested) {
      this.drainWanted = false;
      this.handler?.onDrain?.();
    }
  }

  private armSendTimer(): void {
    const ms = this.config.sendTimeoutMs;
    if (!(ms > 0) || ms === Number.POSITIVE_INFINITY || this.timer !== undefined) return;
    this.progressMark = this.bytesHandedOn();
    this.timer = setTimeout(StreamConnection.onSendTimer, ms, this).unref();
  }

  private beginClose(reason: CloseReason, peerDone: boolean): void {
    if (this.state !== OPEN) return;
    if (this.count > 0) this.flush();
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    this.noteEnd(reason);
    this.clearTimer();
    if (this.endTransport(peerDone)) return;
    this.timer = setTimeout(StreamConnection.onGraceExpired, CLOSE_GRACE_MS, this).unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private deliver(handler: ConnectionHandler, chunk: Buffer): void {
    if (this.muted) return;
    try {
      handler.onData(chunk);
    } catch (err) {
      // One client's packet must not take the process down: drop that connection, report the error.
      this[kFail]('local', err as Error);
    }
  }

  private notifyClose(): void {
    if (this.notified) return;
    this.notified = true;
    this.handler!.onClose(this.reason ?? 'closed', this.error);
  }

  [kDrained](): void {
    if (this.state === CLOSED) return;
    this.blocked = false;
    if (this.state === OPEN) this.clearTimer();
    if (this.drainWanted && !this.congested) {
      this.drainWanted = false;
      this.handler?.onDrain?.();
    }
  }

  private static onSendTimer(conn: StreamConnection): void {
    conn.timer = undefined;
    if (!conn.blocked || conn.state !== OPEN) return;
    const written = conn.bytesHandedOn();
    if (written > conn.progressMark) {
      conn.armSendTimer();
      return;
    }
    conn.noteEnd('timeout');
    conn.destroy();
  }

  private static onGraceExpired(conn: StreamConnection): void {
    conn.timer = undefined;
    conn.destroy();
  }
}

/** A connection whose transport writes through a Node socket (TCP, TLS, or the socket under a WebSocket). */
export abstract class NodeSocketConnection extends StreamConnection {
  // Bytes written straight to the handle (direct-write.ts) that libuv still holds / that reached the OS.
  protected directPending = 0;
  protected directSent = 0;

  /** `sock` is the byte socket under the transport: its buffer is what back-pressure measures. */
  constructor(
    protected readonly sock: net.Socket,
    config: ConnectionConfig,
    peer: PeerAddress,
    peerCert: PeerCertificate | undefined,
  ) {
    super(config, peer, peerCert);
    (sock as Owned)[kOwner] = this;
    sock.on('drain', onSocketDrain);
    sock.on('error', onSocketError);
  }

  protected unsentBytes(): number {
    return this.sock.writableLength + this.directPending;
  }

  // A pending direct write counts as the stream's own buffer would: behind once past its high-water mark.
  protected writesBehind(): boolean {
    return this.sock.writableNeedDrain || this.directPending >= this.sock.writableHighWaterMark;
  }

  // bytesWritten also counts what is still buffered.
  protected bytesHandedOn(): number {
    return (this.sock.bytesWritten ?? 0) - this.sock.writableLength + this.directSent;
  }
}

/** A connection over a TCP or TLS socket. */
export class SocketConnection extends NodeSocketConnection implements DirectWriteOwner {
  /**
   * Takes over `sock` (which may arrive paused) and starts reading. `sharedRead`: the socket reads into the
   * shared buffer (shared-read-buffer.ts), whose callback delivers the bytes, so Node never emits 'data'.
   */
  constructor(
    sock: net.Socket,
    config: ConnectionConfig,
    peer: PeerAddress,
    peerCert: PeerCertificate | undefined = undefined,
    sharedRead = false,
  ) {
    super(sock, config, peer, peerCert);
    // Sockets are accepted without half-open so a FIN mid-handshake ends them; from here on a peer FIN
    // must not end our side before the queued frames are flushed (see peerEnded).
    sock.allowHalfOpen = true;
    // Without a listener: adding one to a socket that never emits 'data' still runs Readable's flowing
    // setup (a resume and its tick), ~5 µs of broker CPU per CONNECT (profile of 10 000 CONNECTs,
    // 2026-12-04); resume() below starts the reads either way.
    if (!sharedRead) sock.on('data', onSocketData);
    sock.on('end', onSocketEnd);
    sock.on('close', onSocketClose);
    if (sock.destroyed) process.nextTick(closedEarly, this);
    else sock.resume();
  }

  pause(): void {
    this.sock.pause();
  }

  resume(): void {
    if (!this.closed) this.sock.resume();
  }

  protected writeOne(buf: Buffer): void {
    // Straight to the TCP handle when nothing is queued before it (direct-write.ts has the measurement);
    // otherwise, and for TLS, through the stream, behind what is queued.
    const sock = this.sock;
    if (this.directPending === 0 && sock.writableLength === 0 && sock.writable) {
      const pending = writeDirect(sock, buf, this);
      if (pending !== NOT_DIRECT) {
        if (pending === 0) this.directSent += buf.length;
        else this.directPending = pending;
        return;
      }
    }
    sock.write(buf);
  }

  [kDirectWriteDone](status: number, bytes: number): void {
    this.directPending -= bytes;
    if (status < 0) return;
    this.directSent += bytes;
    if (!this.sock.writableNeedDrain) this[kDrained]();
  }

  protected writeMany(bufs: Buffer[]): void {
    // cork/uncork turns the parts into one writev.
    this.sock.cork();
    for (const buf of bufs) this.sock.write(buf);
    this.sock.uncork();
  }

  protected endTransport(): boolean {
    this.sock.end();
    return false;
  }

  protected killTransport(): void {
    this.sock.destroy();
  }
}

function onSocketDrain(this: Owned): void {
  this[kOwner]?.[kDrained]();
}

function onSocketError(this: Owned, err: Error): void {
  this[kOwner]?.[kTransportError](err);
}

function onSocketData(this: Owned, chunk: Buffer): void {
  this[kOwner]![kReceive](chunk);
}

/** The read callback for sockets reading into the shared buffer (see shared-read-buffer.ts). */
export function onSharedRead(this: Owned, n: number, buf: Buffer): void {
  const owner = this[kOwner];
  if (owner === undefined) return;
  owner[kReceiveRead](n, buf);
}

function onSocketEnd(this: Owned): void {
  this[kOwner]![kPeerEnded]();
}

function onSocketClose(this: Owned): void {
  this[kOwner]![kTransportClosed]();
}

/** For a transport that was gone before its connection existed. */
export function closedEarly(conn: StreamConnection): void {
  conn[kTransportError](new Error('connection closed before it was set up'));
  conn[kTransportClosed]();
}
