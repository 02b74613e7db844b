/**
 * A plain TCP connection driven straight through the libuv handle the listening socket accepted, with no
 * net.Socket around it.
 *
 * A net.Socket is a Duplex stream: per accepted connection Node builds the Socket, its ReadableState and
 * WritableState (with their buffer arrays), an `_events` object, a bound `onwrite` function, asks the kernel
 * for the peer address, and wires the handle's callbacks through stream_base_commons. Hermod already reads
 * into one shared buffer and writes lone frames straight to the handle (shared-read-buffer.ts,
 * direct-write.ts), so none of that machinery does any work after set-up. Measured 2026-12-05 on Node 20.20
 * (a bare server answering CONNECT with CONNACK, 10 000 loopback connections 256 at a time, server pinned to
 * one core, CPU of all its threads): ~52–57 µs per connection with a net.Socket built on the accepted
 * handle as Hermod did, ~19–25 µs driving the handle itself. The handle's own events map onto the
 * StreamConnection entry points: a read → kReceiveRead, end of stream → kPeerEnded, a read or write error →
 * kFail, the handle closed → kTransportClosed.
 *
 * The handle's methods (`readStart`, `writeBuffer`, `shutdown`, …), `WriteWrap`/`ShutdownWrap` and
 * `streamBaseState` are Node internals (process.binding, allow-listed in Node 20), the same ones Node's own
 * net.Socket calls. `handleTransport` checks them when this module loads; when anything is missing the
 * listener builds a net.Socket as before.
 */
import { getSystemErrorName } from 'node:util';
import { readIntoSharedBuffer, sharedReadBuffer } from './shared-read-buffer.js';
import {
  type ConnectionConfig,
  kDrained,
  kFail,
  kPeerEnded,
  kReceiveRead,
  kTransportClosed,
  type PeerAddress,
  StreamConnection,
} from './stream-connection.js';

/** An address as Node's handles report it (`getpeername` / `getsockname` fill such an object). */
export interface HandleAddress {
  address?: string;
  port?: number;
  family?: string;
}

/** A libuv write request: kept by libuv while a write it could not finish at once is queued. */
interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  // Keeps the bytes alive while libuv still points at them.
  buffer: Buffer | Buffer[] | null;
  bytes: number;
  owner: HandleConnection | undefined;
}

interface ShutdownReq {
  oncomplete: (this: ShutdownReq, status: number) => void;
  owner: HandleConnection | undefined;
}

/** The parts of Node's TCP handle (TCPWrap) driven here. */
export interface TcpHandle {
  onread: ((this: TcpHandle) => void) | undefined;
  useUserBuffer(buf: Uint8Array): void;
  readStart(): number;
  readStop(): number;
  writeBuffer(req: WriteReq, buf: Buffer): number;
  writev(req: WriteReq, chunks: Buffer[], allBuffers: boolean): number;
  shutdown(req: ShutdownReq): number;
  /** Without a callback Node calls nothing back when libuv has closed the handle. */
  close(callback?: () => void): void;
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySeconds: number): number;
  getpeername(out: HandleAddress): number;
  getsockname(out: HandleAddress): number;
}

interface Internals {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  state: Int32Array;
  readBytes: number;
  lastWriteWasAsync: number;
  eof: number;
  TCP: abstract new (...args: never[]) => object;
}

const HANDLE_METHODS = [
  'useUserBuffer',
  'readStart',
  'readStop',
  'writeBuffer',
  'writev',
  'shutdown',
  'close',
  'setNoDelay',
  'setKeepAlive',
  'getpeername',
  'getsockname',
] as const;

function loadInternals(): Internals | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    if (typeof binding !== 'function') return undefined;
    const stream = binding('stream_wrap');
    const tcp = binding('tcp_wrap');
    const uv = binding('uv');
    const TCP = tcp.TCP as Internals['TCP'] | undefined;
    if (
      typeof stream.WriteWrap !== 'function' ||
      typeof stream.ShutdownWrap !== 'function' ||
      !(stream.streamBaseState instanceof Int32Array) ||
      typeof stream.kReadBytesOrError !== 'number' ||
      typeof stream.kLastWriteWasAsync !== 'number' ||
      typeof uv.UV_EOF !== 'number' ||
      typeof TCP !== 'function'
    ) {
      return undefined;
    }
    const proto = TCP.prototype as Record<string, unknown>;
    if (HANDLE_METHODS.some((m) => typeof proto[m] !== 'function')) return undefined;
    return {
      WriteWrap: stream.WriteWrap as Internals['WriteWrap'],
      ShutdownWrap: stream.ShutdownWrap as Internals['ShutdownWrap'],
      state: stream.streamBaseState,
      readBytes: stream.kReadBytesOrError,
      lastWriteWasAsync: stream.kLastWriteWasAsync,
      eof: uv.UV_EOF as number,
      TCP,
    };
  } catch {
    return undefined;
  }
}

const internals = loadInternals();

/** True when `handle` (an accepted connection's handle) can be driven by a HandleConnection. */
export function handleTransport(handle: unknown): handle is TcpHandle {
  return internals !== undefined && handle instanceof internals.TCP;
}

// A socket's default writable high-water mark: past it the writes are behind, as `writableNeedDrain` says.
const WRITE_HIGH_WATER = 16 * 1024;

const kOwner = Symbol('hermod.handle-connection');
// Entry points for the handle's callbacks, symbol-keyed so they stay off the connection's public surface.
const kRead = Symbol('hermod.handle-read');
const kWriteDone = Symbol('hermod.handle-write-done');
const kShutdownDone = Symbol('hermod.handle-shutdown-done');
const kHandleGone = Symbol('hermod.handle-gone');
const kCloseNow = Symbol('hermod.handle-close-now');
type Owned = TcpHandle & { [kOwner]?: HandleConnection };

// A request is only taken over by libuv when the write goes async; until then one object serves every write.
let spare: WriteReq | undefined;

/**
 * The error Node gives for a failed stream call (`read ECONNRESET`, with code, errno and syscall), without
 * a stack: it comes from a libuv callback, so the stack would only name onHandleRead, and capturing it was
 * 18 % of the broker's busy time while 19 000 clients reset at once (connect-rate.ts --profile, the
 * teardown, 2026-12-05; 6.5-8.9 µs per error with the stack against 0.4-0.6 µs without, micro-benchmark).
 * Its readers (the channels' onClose) log only the message.
 */
function uvError(err: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(err);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const e: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  Error.stackTraceLimit = limit;
  e.code = code;
  e.errno = err;
  e.syscall = syscall;
  return e;
}

export interface HandleOptions {
  noDelay: boolean;
  keepAlive: boolean;
}

/** A connection over an accepted TCP handle (see the module comment). */
export class HandleConnection extends StreamConnection {
  private reading = false;
  private peerEnded = false;
  private shutDown = false;
  private handleClosed = false;
  // Bytes in writes libuv still holds / bytes handed on to the OS.
  private pending = 0;
  private sent = 0;

  /** Takes over `handle` (accepted, not reading yet) and starts reading into the shared buffer. */
  constructor(
    private readonly handle: TcpHandle,
    config: ConnectionConfig,
    peer: PeerAddress,
    opts: HandleOptions,
  ) {
    super(config, peer, undefined);
    (handle as Owned)[kOwner] = this;
    handle.onread = onHandleRead;
    readIntoSharedBuffer(handle);
    if (opts.noDelay) handle.setNoDelay(true);
    if (opts.keepAlive) handle.setKeepAlive(true, 0);
    this.resume();
  }

  pause(): void {
    if (!this.reading) return;
    this.reading = false;
    if (!this.handleClosed) this.handle.readStop();
  }

  resume(): void {
    if (this.closed) return;
    this.startReading();
  }

  private startReading(): void {
    if (this.reading || this.peerEnded || this.handleClosed) return;
    this.reading = true;
    const err = this.handle.readStart();
    if (err !== 0) this[kFail]('reset', uvError(err, 'read'));
  }

  protected writeOne(buf: Buffer): void {
    const req = spare ?? newWriteReq();
    const err = this.handle.writeBuffer(req, buf);
    this.afterWriteCall(req, err, buf, buf.length);
  }

  protected writeMany(bufs: Buffer[]): void {
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    const req = spare ?? newWriteReq();
    const err = this.handle.writev(req, bufs, true);
    this.afterWriteCall(req, err, bufs, bytes);
  }

  private afterWriteCall(req: WriteReq, err: number, data: Buffer | Buffer[], bytes: number): void {
    if (err !== 0) {
      // Not reused: a failed uv_write may have bound a native request to it.
      spare = undefined;
      this[kFail]('reset', uvError(err, 'write'));
      return;
    }
    if (internals!.state[internals!.lastWriteWasAsync] === 0) {
      spare = req;
      this.sent += bytes;
      return;
    }
    spare = undefined;
    req.buffer = data;
    req.bytes = bytes;
    req.owner = this;
    this.pending += bytes;
  }

  /** A write that went to libuv's queue finished. */
  [kWriteDone](status: number, bytes: number): void {
    this.pending -= bytes;
    if (status < 0) {
      this[kFail]('reset', uvError(status, 'write'));
      return;
    }
    this.sent += bytes;
    if (this.pending === 0) this[kDrained]();
  }

  protected unsentBytes(): number {
    return this.pending;
  }

  protected writesBehind(): boolean {
    return this.pending >= WRITE_HIGH_WATER;
  }

  protected bytesHandedOn(): number {
    return this.sent;
  }

  // FIN after the queued writes (libuv orders the shutdown behind them); the handle closes once the peer's
  // FIN has arrived too, or when the close grace runs out. Reading goes on (muted) so that FIN is seen.
  // When the peer sends nothing more (its FIN came, or its MQTT DISCONNECT) and libuv holds no write of
  // ours, close(2) at once does the same: the kernel sends what it holds, then the FIN, and with nothing
  // unread in its receive queue it sends no reset, so our last bytes still arrive. That skips the
  // shutdown(2), the wait for the peer's FIN (a read wake-up) and the close grace timer: CPU per
  // DISCONNECT + close went from 41 to 25 µs (bench/connect-rate.ts --n 10000, 2026-12-05); Mosquitto
  // closes the same way.
  protected endTransport(peerDone: boolean): boolean {
    if (this.handleClosed) return true;
    if ((peerDone || this.peerEnded) && this.pending === 0) {
      this.killTransport();
      return true;
    }
    this.startReading();
    const req = new internals!.ShutdownWrap();
    req.oncomplete = onShutdownDone;
    req.owner = this;
    const err = this.handle.shutdown(req);
    if (err !== 0) this[kFail]('reset', uvError(err, 'shutdown'));
    return this.handleClosed;
  }

  /** Our FIN is out (status < 0: the shutdown failed, the connection is dropped). */
  [kShutdownDone](status: number): void {
    if (status < 0) {
      this[kFail]('reset', uvError(status, 'shutdown'));
      return;
    }
    this.shutDown = true;
    // Both ends are done: the handle closes as Node's socket would close itself (no destroy(), which would
    // also drop data still held for a handler not set yet).
    if (this.peerEnded) this.killTransport();
  }

  protected killTransport(): void {
    if (this.handleClosed) return;
    this.handleClosed = true;
    // Stopped now (libuv would otherwise read on after this callback), closed with the batch (closeLater).
    if (this.reading) this.handle.readStop();
    this.reading = false;
    closeLater(this);
  }

  /**
   * Closes the handle (closeBatch). With no write held by libuv the close reports nothing late, and uv_close
   * has closed the descriptor by the time it returns: the connection ends here, without the close callback,
   * whose call into JavaScript from the loop's close phase (callback scope, async hooks, tick queue) was
   * ~2 800 of ~17 000 instructions per DISCONNECT + close (valgrind --tool=callgrind, 2026-12-05).
   * A write still held is cancelled by the close and reported (ECANCELED) before the callback: then the
   * callback is kept, so the connection ends after that report as before.
   */
  [kCloseNow](): void {
    if (this.pending !== 0) {
      this.handle.close(onHandleClosed);
      return;
    }
    this.handle.close();
    this[kHandleGone]();
  }

  /** The handle is closed: the connection is gone. */
  [kHandleGone](): void {
    (this.handle as Owned)[kOwner] = undefined;
    this[kTransportClosed]();
  }

  /** One read's result: `n` bytes in the shared buffer, 0 (nothing), end of stream or an error. */
  [kRead](n: number): void {
    if (n > 0) {
      this[kReceiveRead](n, sharedReadBuffer());
      return;
    }
    if (n === 0) return;
    if (n !== internals!.eof) {
      this[kFail]('reset', uvError(n, 'read'));
      return;
    }
    // libuv stops reading at end of stream by itself.
    this.peerEnded = true;
    this.reading = false;
    if (!this.closed) this[kPeerEnded]();
    else if (this.shutDown) this.killTransport();
  }
}

/**
 * Handles to close once the current batch of socket events is handled. libuv's close of a handle inside an
 * event callback scans the whole batch of events its poll returned (up to 1 024) to invalidate the ones of
 * that descriptor: with many clients closing at once, that scan was 17 % of the broker's instructions per
 * DISCONNECT + close (~7 000 of ~41 000, valgrind --tool=callgrind, 3 000 clients closing 64 at a time,
 * 2026-12-05). Closed from setImmediate, after the poll phase of the same loop iteration, there is no batch
 * to scan; the close callbacks still run in that iteration's close phase, so nothing waits longer.
 */
let toClose: HandleConnection[] = [];

function closeLater(conn: HandleConnection): void {
  if (toClose.length === 0) setImmediate(closeBatch);
  toClose.push(conn);
}

function closeBatch(): void {
  const batch = toClose;
  toClose = [];
  for (const conn of batch) conn[kCloseNow]();
}

function newWriteReq(): WriteReq {
  const req = new internals!.WriteWrap();
  req.oncomplete = onWriteDone;
  req.buffer = null;
  req.bytes = 0;
  req.owner = undefined;
  return req;
}

function onWriteDone(this: WriteReq, status: number): void {
  const owner = this.owner;
  this.owner = undefined;
  this.buffer = null;
  owner?.[kWriteDone](status, this.bytes);
}

function onShutdownDone(this: ShutdownReq, status: number): void {
  const owner = this.owner;
  this.owner = undefined;
  owner?.[kShutdownDone](status);
}

function onHandleRead(this: Owned): void {
  this[kOwner]?.[kRead](internals!.state[internals!.readBytes]!);
}

// Node calls a handle's close callback with the handle as `this`.
function onHandleClosed(this: Owned): void {
  this[kOwner]?.[kHandleGone]();
}
