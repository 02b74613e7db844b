/**
 * Reading accepted TCP sockets into one shared buffer instead of through the stream machinery.
 *
 * By default Node allocates a fresh backing store for every socket read and passes it through the Readable
 * stream (push, buffer state, 'data' event, a read-more tick). Fan-in from many devices means many small
 * reads, so that is paid per message or two. Node's `onread` option reads into a caller's buffer and calls
 * one function instead, but `net.Server` offers it only for sockets we create ourselves: so the accepted
 * socket's handle is moved onto a new `net.Socket` built with `onread`.
 *
 * One buffer serves every socket: a read's callback runs to completion before libuv reads the next socket,
 * and the callback copies the bytes it keeps, so reads never see each other's data.
 */
import net from 'node:net';

/** Big enough for any read libuv makes by default (it asks for 64 KB). */
const SHARED_READ_BYTES = 64 * 1024;
const sharedBuffer = Buffer.allocUnsafe(SHARED_READ_BYTES);

// Views of the shared buffer's first n bytes for small n, each made once and reused by every read of that
// size. Copying a read out with Buffer#copy builds such a view on every call (Builtins_CreateTypedArray, ~200
// instructions of the ~9 500 a PINGREQ costs the broker in user space, callgrind 2026-12-04), and a handler
// that parses in place (readView) needs one per read. Lone acks and pings are 2-4 bytes, a lone PUBLISH of
// a small payload well under 1 KB; at most SMALL_READ views (~100 B each) are ever made.
const SMALL_READ = 1024;
const heads: Array<Buffer | undefined> = new Array<Buffer | undefined>(SMALL_READ + 1).fill(undefined);

function head(n: number): Buffer {
  let view = heads[n];
  if (view === undefined) {
    view = Buffer.from(sharedBuffer.buffer, sharedBuffer.byteOffset, n);
    heads[n] = view;
  }
  return view;
}

/**
 * The first `n` bytes of `buf` without a copy: valid only until the callback of the read returns (the next
 * read overwrites them, and small views are themselves reused), so only for a consumer that keeps nothing
 * of them (ConnectionHandler.onBorrowedData).
 */
export function readView(buf: Buffer, n: number): Buffer {
  if (n <= SMALL_READ && buf === sharedBuffer) return head(n);
  return n === buf.length ? buf : buf.subarray(0, n);
}

/**
 * A copy of the first `n` bytes of `buf` (a read's bytes in the shared buffer), from Node's buffer pool when
 * small, for a consumer that keeps what it is given.
 */
export function copyRead(buf: Buffer, n: number): Buffer {
  // allocUnsafe takes small sizes from the pool; Buffer.copyBytesFrom would allocate a backing store each time.
  const chunk = Buffer.allocUnsafe(n);
  if (n <= SMALL_READ && buf === sharedBuffer) {
    chunk.set(head(n));
  } else {
    buf.copy(chunk, 0, 0, n);
  }
  return chunk;
}

/** Makes a raw TCP handle (handle-connection.ts) read into the shared buffer. */
export function readIntoSharedBuffer(handle: { useUserBuffer(buf: Uint8Array): void }): void {
  handle.useUserBuffer(sharedBuffer);
}

/** The buffer a raw handle's reads land in (handle-connection.ts hands it to kReceiveRead). */
export function sharedReadBuffer(): Buffer {
  return sharedBuffer;
}

/** Called with `this` = the socket, `n` bytes valid at the start of `buf` (which is reused afterwards). */
export type SharedReadCallback = (this: net.Socket, n: number, buf: Buffer) => void;

/** The parts of Node's TCP handle this relies on; checked at run time so a Node without them falls back. */
interface TcpHandle {
  useUserBuffer?: unknown;
}

type WithHandle = net.Socket & { _handle?: TcpHandle | null };

export interface Adopted {
  sock: net.Socket;
  /** Bytes `raw` had already read before the switch, in order: deliver them first. */
  early: Buffer[];
}

/**
 * Moves `raw`'s connection onto a new socket that reads into the shared buffer, or returns undefined (and
 * leaves `raw` untouched) when this Node's socket internals are not what is expected. `raw` is destroyed
 * without closing the connection, which keeps `net.Server`'s connection count right.
 */
export function adoptWithSharedBuffer(raw: net.Socket, onRead: SharedReadCallback): Adopted | undefined {
  const handle = (raw as WithHandle)._handle;
  if (
    handle === undefined ||
    handle === null ||
    typeof handle.useUserBuffer !== 'function' ||
    raw.destroyed
  ) {
    return undefined;
  }
  // No read can land between here and the new socket: reads only happen when the event loop turns. The
  // new socket's pauseOnCreate stops the handle; the connection object starts it again once wired up.
  const early: Buffer[] = [];
  for (let chunk = raw.read() as Buffer | null; chunk !== null; chunk = raw.read() as Buffer | null) {
    early.push(chunk);
  }
  (raw as WithHandle)._handle = null;
  // `handle` and `pauseOnCreate` are constructor options Node's own server uses but does not document.
  const options = {
    handle,
    pauseOnCreate: true,
    onread: { buffer: sharedBuffer, callback: onRead },
  };
  const sock = new net.Socket(options as unknown as net.SocketConstructorOpts);
  raw.destroy();
  return { sock, early };
}

/** The listening handle's part this relies on: Node calls `onconnection` on it for every accepted handle. */
interface ServerHandle {
  onconnection?: unknown;
}

type AcceptCallback = (this: ServerHandle, err: number, client: TcpHandle | undefined) => void;

/** Takes accepted handles whole, with no socket built around them (handle-connection.ts). */
export interface AcceptedHandle {
  /** True when `handle` can be taken. */
  accepts(handle: unknown): boolean;
  take(handle: unknown): void;
}

export interface DirectAcceptOptions {
  noDelay: boolean;
  keepAlive: boolean;
}

/**
 * Makes `server` build the socket of each accepted connection itself, reading into the shared buffer, and
 * give it to `onSocket` instead of emitting 'connection'. Adopting a socket Node already built
 * (adoptWithSharedBuffer) constructs two sockets and destroys one per connection: about 20 % of the
 * broker's CPU per CONNECT in a flood of 10 000 (bench/results/2026-12-04-connect.md). Returns false and
 * leaves the server alone when this Node's listening handle is not what is expected; a connection whose
 * handle cannot read into a user buffer goes through Node's own accept ('connection') as before.
 *
 * Sockets made here are not counted in `server._connections` (adopted ones were not either: destroying
 * Node's socket took them off), so `server.close()` does not wait for them; Node's `server.maxConnections`
 * and its 'net.server.socket' diagnostics channel do not see them (the listener enforces its own limit).
 *
 * With `onHandle`, a handle it accepts is given to it whole and no socket is built at all.
 */
export function acceptWithSharedBuffer(
  server: net.Server,
  opts: DirectAcceptOptions,
  onRead: SharedReadCallback,
  onSocket: (sock: net.Socket) => void,
  onHandle?: AcceptedHandle,
): boolean {
  const handle = (server as net.Server & { _handle?: ServerHandle | null })._handle;
  if (handle === undefined || handle === null || typeof handle.onconnection !== 'function') return false;
  const nodeAccept = handle.onconnection as AcceptCallback;
  const direct: AcceptCallback = function (this: ServerHandle, err, client) {
    if (err || client === undefined || typeof client.useUserBuffer !== 'function') {
      nodeAccept.call(this, err, client);
      return;
    }
    if (onHandle?.accepts(client)) {
      onHandle.take(client);
      return;
    }
    const options = {
      handle: client,
      pauseOnCreate: true,
      readable: true,
      writable: true,
      onread: { buffer: sharedBuffer, callback: onRead },
    };
    const sock = new net.Socket(options as unknown as net.SocketConstructorOpts);
    if (opts.noDelay) sock.setNoDelay(true);
    if (opts.keepAlive) sock.setKeepAlive(true);
    onSocket(sock);
  };
  handle.onconnection = direct;
  return true;
}
