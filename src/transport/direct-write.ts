/**
 * Writing one ready buffer straight to a TCP socket's libuv handle, past the Writable stream.
 *
 * `socket.write(buf)` runs Writable.write → writeOrBuffer → Socket._write → writeGeneric, builds a new native
 * WriteWrap request object, then calls the handle's `writeBuffer`, which tries the write system call at once
 * and only keeps the request when the kernel did not take everything. For lone frames (an ack, a PINGRESP,
 * one delivery per event-loop turn) that layering is paid per message. Calling `writeBuffer` ourselves with
 * one reused request object skips it. Measured 2026-12-04 (Node 20.20, 2-byte frames to a loopback peer on
 * the other core, 1.2 M writes): user CPU 0.34–0.53 µs per write through the stream, 0.14–0.31 µs direct
 * (the write system call itself, ~3 µs of kernel time, is the same); heap allocated per write ~216 B
 * through the stream (the WriteWrap and its properties), ~4 B direct; in the broker under one-client
 * PINGREQ ping-pong that halves the bytes allocated per PINGREQ (~670 → ~340 B, --trace-gc).
 *
 * Used only when nothing is queued anywhere (the socket's stream buffer is empty and no direct write of ours
 * is still in libuv's queue), so bytes leave in the order they were given. A write the kernel cannot take at
 * once stays queued in libuv, in order ahead of anything written later through the stream; its owner counts
 * those bytes as pending until `onDirectWriteDone`.
 *
 * `writeBuffer`, `WriteWrap` and `streamBaseState` are Node internals (process.binding, allow-listed in Node
 * 20). Everything is checked when this module loads: when anything is missing or shaped differently,
 * `writeDirect` is never used and callers write through the stream as before.
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** Symbol-keyed so the completion entry point stays off the owner's public surface. */
export const kDirectWriteDone = Symbol('hermod.direct-write-done');

/** Told when a write that went to libuv's queue has finished (status < 0: it failed; the socket is destroyed). */
export interface DirectWriteOwner {
  [kDirectWriteDone](status: number, bytes: number): void;
}

/** The request object libuv keeps for a write that did not complete at once. */
interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void;
  // Keeps the bytes alive while libuv still points at them.
  buffer: Buffer | null;
  bytes: number;
  owner: DirectWriteOwner | undefined;
  sock: net.Socket | undefined;
}

interface StreamHandle {
  writeBuffer(req: WriteReq, buf: Buffer): number;
}

interface Internals {
  WriteWrap: new () => WriteReq;
  TCP: abstract new (...args: never[]) => StreamHandle;
  state: Int32Array;
  lastWriteWasAsync: number;
}

function loadInternals(): Internals | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    if (typeof binding !== 'function') return undefined;
    const stream = binding('stream_wrap');
    const tcp = binding('tcp_wrap');
    const TCP = tcp.TCP as Internals['TCP'] | undefined;
    if (
      typeof stream.WriteWrap !== 'function' ||
      !(stream.streamBaseState instanceof Int32Array) ||
      typeof stream.kLastWriteWasAsync !== 'number' ||
      typeof TCP !== 'function' ||
      typeof TCP.prototype.writeBuffer !== 'function'
    ) {
      return undefined;
    }
    return {
      WriteWrap: stream.WriteWrap as Internals['WriteWrap'],
      TCP,
      state: stream.streamBaseState,
      lastWriteWasAsync: stream.kLastWriteWasAsync,
    };
  } catch {
    return undefined;
  }
}

const internals = loadInternals();

// What Node's own completion does for a stream write: a failure destroys the socket with the write's error.
function onComplete(this: WriteReq, status: number): void {
  const owner = this.owner;
  const sock = this.sock;
  this.owner = undefined;
  this.sock = undefined;
  this.buffer = null;
  if (status < 0 && sock !== undefined && !sock.destroyed) sock.destroy(writeError(status));
  owner?.[kDirectWriteDone](status, this.bytes);
}

// A request is only taken over by libuv when the write goes async; until then one object serves every write.
let spare: WriteReq | undefined;

function newReq(WriteWrap: Internals['WriteWrap']): WriteReq {
  const req = new WriteWrap();
  req.oncomplete = onComplete;
  req.buffer = null;
  req.bytes = 0;
  req.owner = undefined;
  req.sock = undefined;
  return req;
}

/** The error Node's own write path gives for a failed write (`write EPIPE`, with code, errno and syscall). */
function writeError(err: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(err);
  const e: NodeJS.ErrnoException = new Error(`write ${code}`);
  e.code = code;
  e.errno = err;
  e.syscall = 'write';
  return e;
}

/** The result of `writeDirect` when the socket is not a plain TCP socket or Node lacks the internals. */
export const NOT_DIRECT = -1;

/**
 * Writes `buf` to `sock`'s TCP handle. The caller ensures nothing is queued: the socket's stream buffer is
 * empty and no earlier direct write is pending. Returns the bytes left in libuv's queue (0: the kernel took
 * everything; `owner` is then not called), or NOT_DIRECT (nothing written: use `sock.write`). A failed write
 * destroys the socket with Node's error, which reaches the socket's 'error' and 'close' listeners as usual.
 */
export function writeDirect(sock: net.Socket, buf: Buffer, owner: DirectWriteOwner): number {
  if (internals === undefined) return NOT_DIRECT;
  const handle = (sock as net.Socket & { _handle?: unknown })._handle;
  // TLS sockets have a TLSWrap handle (encryption happens there), WebSocket ones are not sockets at all.
  if (!(handle instanceof internals.TCP) || sock.destroyed) return NOT_DIRECT;
  const req = spare ?? newReq(internals.WriteWrap);
  const err = handle.writeBuffer(req, buf);
  if (err !== 0) {
    // Not reused: a failed uv_write may have bound a native request to it.
    spare = undefined;
    sock.destroy(writeError(err));
    return 0;
  }
  if (internals.state[internals.lastWriteWasAsync] === 0) {
    spare = req;
    return 0;
  }
  spare = undefined;
  req.buffer = buf;
  req.bytes = buf.length;
  req.owner = owner;
  req.sock = sock;
  return buf.length;
}
