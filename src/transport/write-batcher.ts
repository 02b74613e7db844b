/**
 * Per-turn write coalescing. A connection that queues its first frame of an event-loop turn joins one global
 * dirty list; a single pass at the end of the turn (after every socket read of its poll phase) flushes every
 * dirty connection, so a fan-out of N frames to one subscriber costs one socket write instead of N, and so do
 * N frames to one subscriber from N different publishers' reads.
 */

/** Something with queued output; `flush` writes it and must not throw. */
export interface Flushable {
  flush(): void;
}

/** Frames above this size are written by reference rather than copied into the batch buffer. */
export const LARGE_FRAME_BYTES = 64 * 1024;

// The dirty list is a slot array with a count rather than an array emptied with `length = 0`: that store
// goes through V8's array-length setter (a runtime call), ~1 % of the broker's CPU under one-client PINGREQ
// ping-pong (perf, 2026-12-04), where every turn flushes one connection. Flushed slots hold NOTHING so the
// list keeps no connection alive.
const NOTHING: Flushable = { flush() {} };
// A pass with more dirty connections than this gives the grown slot array back.
const KEEP_SLOTS = 1024;
let dirty: Flushable[] = [];
let count = 0;
let scheduled = false;
// Inside a socket read callback (see readStarted): the pass is scheduled when the read ends, if still needed.
let readDepth = 0;
// Passes run so far, and the running one's number (0 outside a pass): see passesSince.
let passes = 0;
let runningPass = 0;

// setImmediate rather than process.nextTick: Node drains the tick queue after every read callback, so a
// nextTick pass flushed once per socket read. A round-robin shared group then wrote to a member once per
// publisher read that had a message for it (S3.fixed30k: ~1 write + 1 PUBACK read per message on the member
// side). setImmediate runs once the poll phase has handed over every ready socket, so all the frames a
// connection got in that turn leave in one write. The delay is the rest of the turn, not a timer: libuv
// polls without blocking while an immediate is pending. Promise continuations of the turn still join.
function flushDirty(): void {
  let i = 0;
  runningPass = ++passes;
  try {
    // The list can grow while we walk it (a flush may wake a handler that sends again): those join this pass.
    for (; i < count; i++) {
      const conn = dirty[i];
      dirty[i] = NOTHING;
      conn.flush();
    }
  } finally {
    runningPass = 0;
    if (i + 1 < count) {
      // A flush threw: keep the ones not yet flushed for another pass instead of stranding them.
      const rest = dirty.slice(i + 1, count);
      for (let j = 0; j < rest.length; j++) dirty[j] = rest[j];
      for (let j = rest.length; j < count; j++) dirty[j] = NOTHING;
      count = rest.length;
      setImmediate(flushDirty);
    } else {
      if (count > KEEP_SLOTS) dirty = [];
      count = 0;
      scheduled = false;
    }
  }
}

/** Registers a connection for the next flush pass; the caller ensures it registers once per pass. */
export function markDirty(conn: Flushable): void {
  if (count < dirty.length) dirty[count] = conn;
  else dirty.push(conn);
  count++;
  if (!scheduled && readDepth === 0) {
    scheduled = true;
    setImmediate(flushDirty);
  }
}

/**
 * Brackets one socket read's callback: frames queued during it do not schedule the pass by themselves, so
 * a read whose only output went out at its end (readEnded's caller flushed and `unmarkLast`-ed it) costs
 * no immediate at all. Calls must pair, also when the read throws.
 */
export function readStarted(): void {
  readDepth++;
}

export function readEnded(): void {
  if (--readDepth === 0 && count > 0 && !scheduled) {
    scheduled = true;
    setImmediate(flushDirty);
  }
}

/** The number of the pass running now, 0 outside a pass (a flush records it when the pass wrote for it). */
export function currentPass(): number {
  return runningPass;
}

/** Passes run since pass number `pass`. */
export function passesSince(pass: number): number {
  return passes - pass;
}

/** Takes `conn` off the list when it is the last entry (it was flushed already; its entry would be a no-op). */
export function unmarkLast(conn: Flushable): void {
  if (count > 0 && dirty[count - 1] === conn) dirty[--count] = NOTHING;
}

/**
 * Copies frames[from, to) into one new buffer of `size` bytes, writing each patched frame's packet id
 * (big-endian, at its offset) into the copy only: the source frames may be shared with other connections.
 */
export function packFrames(
  frames: Buffer[],
  offsets: number[],
  ids: number[],
  from: number,
  to: number,
  size: number,
): Buffer {
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = from; i < to; i++) {
    const frame = frames[i];
    const len = frame.length;
    if (len <= 8) {
      // Acks and pings (2-4 bytes): a byte loop beats set()'s call overhead up to about 8 bytes (measured).
      for (let j = 0; j < len; j++) out[pos + j] = frame[j];
    } else {
      out.set(frame, pos);
    }
    const offset = offsets[i];
    if (offset >= 0) {
      const id = ids[i];
      out[pos + offset] = id >>> 8;
      out[pos + offset + 1] = id & 0xff;
    }
    pos += len;
  }
  return out;
}

/** A copy of one shared frame with `packetId` written big-endian at `offset`. */
export function patchedCopy(frame: Buffer, offset: number, packetId: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length);
  out.set(frame, 0);
  out[offset] = packetId >>> 8;
  out[offset + 1] = packetId & 0xff;
  return out;
}
