/**
 * HTTP/2 framing (RFC 9113 §4–6) shared by Hermod's client (h2-session.ts) and server (h2-server.ts)
 * connections: the constants, builders of the small control frames, the reader that cuts a byte stream
 * into frames, the writer that sends every frame of one event-loop turn in one socket write, and the
 * assembly of a header block from HEADERS + CONTINUATION. Only what both sides do the same way lives here;
 * what differs (who opens streams, who answers SETTINGS how) stays with each side.
 */
import type { Socket } from 'node:net';

/** HTTP/2 error codes used here (RFC 9113 §7). */
export const H2Error = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** The window every stream and the connection start with, before SETTINGS and WINDOW_UPDATE. */
export const DEFAULT_WINDOW = 65_535;
/** The largest frame either side accepts (the default; neither raises it in its SETTINGS). */
export const MAX_FRAME_IN = 16_384;
export const MAX_STREAM_ID = 0x7fffffff;
/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fffffff;

export const EMPTY = Buffer.alloc(0);

/** Header fields as decoded, in order. */
export type HeaderList = Array<[string, string]>;

export function frameHeader(
  b: Buffer,
  at: number,
  len: number,
  type: number,
  flags: number,
  id: number,
): void {
  b[at] = len >>> 16;
  b[at + 1] = (len >>> 8) & 0xff;
  b[at + 2] = len & 0xff;
  b[at + 3] = type;
  b[at + 4] = flags;
  b.writeUInt32BE(id, at + 5);
}

/** A 9-byte frame header on its own (the payload follows as a separate buffer). */
export function headerOnly(len: number, type: number, flags: number, id: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  frameHeader(b, 0, len, type, flags, id);
  return b;
}

export function windowUpdate(id: number, increment: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  frameHeader(b, 0, 4, FrameType.WINDOW_UPDATE, 0, id);
  b.writeUInt32BE(increment, 9);
  return b;
}

export function rstStream(id: number, code: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  frameHeader(b, 0, 4, FrameType.RST_STREAM, 0, id);
  b.writeUInt32BE(code, 9);
  return b;
}

export function goaway(lastId: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'latin1');
  const b = Buffer.alloc(17 + text.length);
  frameHeader(b, 0, 8 + text.length, FrameType.GOAWAY, 0, 0);
  b.writeUInt32BE(lastId, 9);
  b.writeUInt32BE(code, 13);
  text.copy(b, 17);
  return b;
}

/** A SETTINGS frame with the given [identifier, value] pairs. */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = Buffer.alloc(9 + 6 * pairs.length);
  frameHeader(b, 0, 6 * pairs.length, FrameType.SETTINGS, 0, 0);
  for (const [i, [key, value]] of pairs.entries()) {
    b.writeUInt16BE(key, 9 + 6 * i);
    b.writeUInt32BE(value, 11 + 6 * i);
  }
  return b;
}

export const SETTINGS_ACK = headerOnly(0, FrameType.SETTINGS, FLAG_ACK, 0);

export function pingAck(payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(17);
  frameHeader(b, 0, 8, FrameType.PING, FLAG_ACK, 0);
  payload.copy(b, 9);
  return b;
}

/** The payload without its padding, or undefined when the padding is malformed. */
export function unpad(flags: number, p: Buffer): Buffer | undefined {
  if ((flags & FLAG_PADDED) === 0) return p;
  if (p.length < 1 || p[0]! >= p.length) return undefined;
  return p.subarray(1, p.length - p[0]!);
}

/** A HEADERS payload's header block fragment (padding and priority removed), or undefined when malformed. */
export function headersFragment(flags: number, p: Buffer): Buffer | undefined {
  const block = unpad(flags, p);
  if (block === undefined || (flags & FLAG_PRIORITY) === 0) return block;
  return block.length < 5 ? undefined : block.subarray(5);
}

/**
 * Queues a header block as HEADERS plus as many CONTINUATION frames as `maxFrame` needs, END_STREAM on the
 * HEADERS frame when `endStream` (RFC 9113 §6.10: END_STREAM never goes on a CONTINUATION).
 */
export function queueHeaderBlock(
  out: FrameWriter,
  id: number,
  block: Buffer,
  endStream: boolean,
  maxFrame: number,
): void {
  const first = Math.min(block.length, maxFrame);
  const flags = (first === block.length ? FLAG_END_HEADERS : 0) | (endStream ? FLAG_END_STREAM : 0);
  out.queue(headerOnly(first, FrameType.HEADERS, flags, id));
  out.queue(block.subarray(0, first));
  for (let at = first; at < block.length; at += maxFrame) {
    const n = Math.min(block.length - at, maxFrame);
    out.queue(headerOnly(n, FrameType.CONTINUATION, at + n === block.length ? FLAG_END_HEADERS : 0, id));
    out.queue(block.subarray(at, at + n));
  }
}

/** Called for each complete frame; returns false to stop reading (the connection failed). */
export type OnFrame = (type: number, flags: number, id: number, payload: Buffer) => boolean;

/** Cuts the bytes of a connection into frames; keeps an incomplete frame until the rest arrives. */
export class FrameReader {
  private rest: Buffer | undefined;

  /**
   * Reads the frames in `chunk` (after what was kept). Returns an error text when a frame is larger than
   * MAX_FRAME_IN, else undefined. Payloads are views of the chunk (each read gets a fresh one).
   */
  push(chunk: Buffer, onFrame: OnFrame): string | undefined {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let pos = 0;
    while (buf.length - pos >= 9) {
      const len = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (len > MAX_FRAME_IN) return `frame of ${len} bytes`;
      if (buf.length - pos - 9 < len) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const id = buf.readUInt32BE(pos + 5) & MAX_STREAM_ID;
      const payload = buf.subarray(pos + 9, pos + 9 + len);
      pos += 9 + len;
      if (!onFrame(type, flags, id, payload)) return undefined;
    }
    if (pos < buf.length) this.rest = buf.subarray(pos);
    return undefined;
  }
}

/**
 * The frames a connection sends: what one turn of the event loop queues leaves in one socket write (one
 * buffer, or one corked writev for large DATA), so many small calls cost one system call.
 */
export class FrameWriter {
  private out: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly socket: Socket) {}

  queue(b: Buffer): void {
    this.out.push(b);
    this.bytes += b.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    this.scheduled = false;
    const out = this.out;
    if (out.length === 0 || !this.socket.writable) return;
    this.out = [];
    const bytes = this.bytes;
    this.bytes = 0;
    if (bytes <= 65_536 || out.length === 1) {
      this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, bytes));
      return;
    }
    this.socket.cork();
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  }

  /** Sends what is queued and `last` (a GOAWAY), then ends the socket; nothing is queued after this. */
  end(last: Buffer): void {
    const all = Buffer.concat([...this.out, last]);
    this.out = [];
    this.bytes = 0;
    if (!this.socket.destroyed) this.socket.end(all);
  }
}

/** A complete header block of a stream. */
export interface AssembledBlock {
  id: number;
  endStream: boolean;
  block: Buffer;
}

/** A header block being assembled from a HEADERS frame and its CONTINUATIONs. */
export class HeaderBlockAssembler {
  private partial: { id: number; endStream: boolean; parts: Buffer[]; size: number } | undefined;

  constructor(private readonly maxBlock: number) {}

  /** True while CONTINUATION frames are expected (no other frame may come in between). */
  get open(): boolean {
    return this.partial !== undefined;
  }

  /**
   * A HEADERS frame (stream 0 is refused). Returns the whole block when END_HEADERS is set, null when
   * CONTINUATION frames must follow (the fragment is copied: the chunk may be reused), or an error text
   * (the connection must fail).
   */
  headers(flags: number, id: number, p: Buffer): AssembledBlock | null | string {
    if (id === 0) return 'HEADERS on stream 0';
    const block = headersFragment(flags, p);
    if (block === undefined) return 'bad padding or priority';
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (flags & FLAG_END_HEADERS) return { id, endStream, block };
    if (block.length > this.maxBlock) return 'header block too large';
    this.partial = { id, endStream, parts: [Buffer.from(block)], size: block.length };
    return null;
  }

  /**
   * A CONTINUATION frame. Returns the whole block when END_HEADERS ends it, null while more is expected,
   * or an error text (the connection must fail).
   */
  continue(flags: number, id: number, p: Buffer): AssembledBlock | null | string {
    const partial = this.partial;
    if (partial === undefined || partial.id !== id) return 'unexpected CONTINUATION';
    partial.parts.push(Buffer.from(p));
    partial.size += p.length;
    if (partial.size > this.maxBlock) return 'header block too large';
    if ((flags & FLAG_END_HEADERS) === 0) return null;
    this.partial = undefined;
    return { id, endStream: partial.endStream, block: Buffer.concat(partial.parts, partial.size) };
  }
}
