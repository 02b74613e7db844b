/**
 * The client side of one HTTP/2 connection (RFC 9113) over a socket Hermod opened (TCP, or TLS with ALPN h2),
 * kept to what a gRPC client needs: streams opened with a pre-encoded header block, DATA both ways under flow
 * control, SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION, padding. Every frame produced in one turn of the
 * event loop leaves in one socket write, and a stream is a plain object with three callbacks: node:http2
 * spends tens of microseconds per stream on Duplex objects, async-hook bindings and a write per stream,
 * which made it the largest cost of a broker with an ExHook or ExProto handler on its message path.
 */
import type { Socket } from 'node:net';
import {
  type AssembledBlock,
  DEFAULT_WINDOW,
  EMPTY,
  FLAG_ACK,
  FLAG_END_STREAM,
  FrameReader,
  FrameType,
  FrameWriter,
  goaway,
  H2Error,
  HeaderBlockAssembler,
  type HeaderList,
  headerOnly,
  MAX_STREAM_ID,
  PREFACE,
  pingAck,
  queueHeaderBlock,
  rstStream,
  SETTINGS_ACK,
  Setting,
  settingsFrame,
  unpad,
  windowUpdate,
} from './h2-frame.js';
import { HpackDecoder, HpackError } from './hpack.js';

export { H2Error, type HeaderList } from './h2-frame.js';

/** What this side receives: 4 MB per stream, 16 MB per connection (hooks may carry whole messages). */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONN_WINDOW = 16 * 1024 * 1024;
/** A header block (HEADERS plus CONTINUATIONs) larger than this closes the connection. */
const MAX_HEADER_BLOCK = 256 * 1024;

/** What a stream tells its owner. Called only until `closed` (or `aborted`) was called. */
export interface StreamSink {
  /** A header block (response headers, or trailers). */
  headers(fields: HeaderList, endStream: boolean): void;
  /** DATA: a view of the socket's chunk (each read gets a fresh one, so it may be kept). */
  data(chunk: Buffer, endStream: boolean): void;
  /** The stream ended without END_STREAM from the peer: its RST_STREAM code, or -1 when the connection went. */
  aborted(code: number, reason: string): void;
}

/** DATA waiting for flow-control window. */
interface Outgoing {
  bytes: Buffer;
  end: boolean;
  /** Called once: when the bytes are handed to the socket, or with an error when the stream ended first. */
  sent?: (err?: Error) => void;
}

/** One stream (a gRPC call). */
export class H2Stream {
  /** 0 until its HEADERS are written (ids are given in the order streams start). */
  id = 0;
  sendWindow = 0;
  /** Bytes received and not yet given back in a WINDOW_UPDATE. */
  received = 0;
  localEnded = false;
  remoteEnded = false;
  /** Reset, or both sides ended, or the connection went: nothing more is sent or reported. */
  done = false;
  readonly queue: Outgoing[] = [];

  constructor(
    readonly sink: StreamSink,
    readonly headerBlock: Buffer,
  ) {}
}

/** What the session tells its owner. */
export interface SessionEvents {
  /** The server's SETTINGS arrived: it speaks HTTP/2. */
  ready(): void;
  /** GOAWAY received (or stream ids exhausted): open new streams on a new session. */
  draining(): void;
  /** The connection is gone (`error` says why, '' for an orderly end). */
  closed(error: string): void;
}

/** One HTTP/2 client connection. */
export class H2Session {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, H2Stream>();
  /** Streams not started because the server's concurrency limit is reached. */
  private readonly waiting: H2Stream[] = [];
  /** Streams with DATA queued for lack of window. */
  private readonly blocked = new Set<H2Stream>();
  private nextId = 1;
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = 16_384;
  private connSendWindow = DEFAULT_WINDOW;
  private connReceived = 0;
  private readonly out: FrameWriter;
  private readonly reader = new FrameReader();
  private readonly assembler = new HeaderBlockAssembler(MAX_HEADER_BLOCK);
  private gotSettings = false;
  private goingAway = false;
  private dead = false;

  constructor(
    private readonly socket: Socket,
    private readonly events: SessionEvents,
  ) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', (err) => this.die(err.message));
    socket.on('close', () => this.die('connection closed'));
    this.out = new FrameWriter(socket);
    this.queue(PREFACE);
    // ENABLE_PUSH 0, MAX_CONCURRENT_STREAMS 0 (the server opens none).
    this.queue(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
        [Setting.MAX_CONCURRENT_STREAMS, 0],
      ]),
    );
    this.queue(windowUpdate(0, CONN_WINDOW - DEFAULT_WINDOW));
  }

  /** Streams open or waiting to open. */
  get active(): number {
    return this.streams.size + this.waiting.length;
  }

  /** True when new streams may be started here. */
  get usable(): boolean {
    return !this.dead && !this.goingAway;
  }

  /**
   * Starts a stream: its HEADERS (`headerBlock`, a complete HPACK block), then `body` if given, END_STREAM
   * after it when `end`. Waits for a free slot when the server's concurrency limit is reached.
   */
  open(sink: StreamSink, headerBlock: Buffer, body: Buffer | undefined, end: boolean): H2Stream {
    const s = new H2Stream(sink, headerBlock);
    if (body !== undefined || end) s.queue.push({ bytes: body ?? EMPTY, end });
    if (this.dead || this.goingAway) {
      s.done = true;
      queueMicrotask(() => sink.aborted(-1, 'connection closed'));
      return s;
    }
    if (this.streams.size >= this.peerMaxStreams) this.waiting.push(s);
    else this.start(s);
    return s;
  }

  /**
   * Queues DATA on a stream (END_STREAM after it when `end`); `sent` is called once it is handed to the
   * socket, or with an error if the stream ends first. False (and `sent` not called) when the stream is over.
   */
  write(s: H2Stream, bytes: Buffer, end: boolean, sent?: (err?: Error) => void): boolean {
    if (s.done || s.localEnded || s.queue.some((o) => o.end)) return false;
    s.queue.push({ bytes, end, sent });
    if (s.id !== 0) this.pump(s);
    return true;
  }

  /** Ends a stream from this side with RST_STREAM (nothing more is reported to its sink). */
  cancel(s: H2Stream, code: number = H2Error.CANCEL): void {
    if (s.done) return;
    if (s.id === 0) {
      const i = this.waiting.indexOf(s);
      if (i >= 0) this.waiting.splice(i, 1);
      s.done = true;
      dropQueue(s);
      return;
    }
    // Cancelled from the sink while the server's END_STREAM is being reported: no reset when both sides ended.
    if (!(s.remoteEnded && s.localEnded))
      this.queue(rstStream(s.id, s.remoteEnded ? H2Error.NO_ERROR : code));
    this.finish(s);
  }

  /** Closes the connection at once; open streams are aborted. */
  destroy(): void {
    this.die('', true);
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- sending

  private start(s: H2Stream): void {
    if (this.nextId > MAX_STREAM_ID) {
      this.waiting.push(s);
      this.drain('stream ids used up');
      return;
    }
    s.id = this.nextId;
    this.nextId += 2;
    s.sendWindow = this.peerInitialWindow;
    this.streams.set(s.id, s);
    // The client's header blocks are small; a larger one is split into CONTINUATION frames.
    const onlyHeaders = s.queue.length === 1 && s.queue[0]!.end && s.queue[0]!.bytes.length === 0;
    queueHeaderBlock(this.out, s.id, s.headerBlock, onlyHeaders, this.peerMaxFrame);
    if (onlyHeaders) {
      s.queue.length = 0;
      s.localEnded = true;
    } else this.pump(s);
  }

  /** Writes as much of a stream's queued DATA as the windows allow. */
  private pump(s: H2Stream): void {
    while (s.queue.length > 0 && !s.done) {
      const o = s.queue[0]!;
      const n = Math.min(o.bytes.length, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
      if (n <= 0 && o.bytes.length > 0) {
        this.blocked.add(s);
        return;
      }
      const last = n === o.bytes.length;
      const end = last && o.end;
      this.queue(headerOnly(n, FrameType.DATA, end ? FLAG_END_STREAM : 0, s.id));
      if (n > 0) this.queue(o.bytes.subarray(0, n));
      s.sendWindow -= n;
      this.connSendWindow -= n;
      if (!last) {
        o.bytes = o.bytes.subarray(n);
        continue;
      }
      s.queue.shift();
      o.sent?.();
      if (end) {
        s.localEnded = true;
        if (s.remoteEnded) this.finish(s);
      }
    }
    this.blocked.delete(s);
  }

  private queue(b: Buffer): void {
    this.out.queue(b);
  }

  // ---------------------------------------------------------------- receiving

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    const tooLarge = this.reader.push(chunk, (type, flags, id, payload) => {
      this.onFrame(type, flags, id, payload);
      return !this.dead;
    });
    if (tooLarge !== undefined) this.fail(H2Error.FRAME_SIZE_ERROR, tooLarge);
  }

  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (!this.gotSettings && type !== FrameType.SETTINGS) {
      this.fail(H2Error.PROTOCOL_ERROR, 'the server did not start with SETTINGS (not HTTP/2?)');
      return;
    }
    if (this.assembler.open && type !== FrameType.CONTINUATION) {
      this.fail(H2Error.PROTOCOL_ERROR, 'header block interrupted');
      return;
    }
    switch (type) {
      case FrameType.DATA: {
        this.onDataFrame(flags, id, p);
        return;
      }
      case FrameType.HEADERS: {
        this.onHeaders(flags, id, p);
        return;
      }
      case FrameType.CONTINUATION: {
        this.onContinuation(flags, id, p);
        return;
      }
      case FrameType.RST_STREAM:
        if (id === 0 || p.length !== 4) {
          this.fail(H2Error.PROTOCOL_ERROR, 'bad RST_STREAM');
          return;
        }
        {
          this.onReset(id, p.readUInt32BE(0));
          return;
        }
      case FrameType.SETTINGS: {
        this.onSettings(flags, id, p);
        return;
      }
      case FrameType.PING:
        if (id !== 0 || p.length !== 8) {
          this.fail(H2Error.PROTOCOL_ERROR, 'bad PING');
          return;
        }
        if ((flags & FLAG_ACK) === 0) this.queue(pingAck(p));
        return;
      case FrameType.GOAWAY:
        if (id !== 0 || p.length < 8) {
          this.fail(H2Error.PROTOCOL_ERROR, 'bad GOAWAY');
          return;
        }
        {
          this.onGoaway(p.readUInt32BE(0) & MAX_STREAM_ID, p.readUInt32BE(4), p.subarray(8));
          return;
        }
      case FrameType.WINDOW_UPDATE:
        if (p.length !== 4) {
          this.fail(H2Error.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
          return;
        }
        {
          this.onWindowUpdate(id, p.readUInt32BE(0) & MAX_STREAM_ID);
          return;
        }
      case FrameType.PUSH_PROMISE: {
        this.fail(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
        return;
      }
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5).
        return;
    }
  }

  private onDataFrame(flags: number, id: number, p: Buffer): void {
    if (id === 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
      return;
    }
    // Flow control counts the whole frame, padding included.
    this.connReceived += p.length;
    if (this.connReceived >= CONN_WINDOW / 2) {
      this.queue(windowUpdate(0, this.connReceived));
      this.connReceived = 0;
    }
    const body = unpad(flags, p);
    if (body === undefined) {
      this.fail(H2Error.PROTOCOL_ERROR, 'bad padding');
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined || s.remoteEnded) return;
    const end = (flags & FLAG_END_STREAM) !== 0;
    s.received += p.length;
    if (!end && s.received >= STREAM_WINDOW / 2) {
      this.queue(windowUpdate(id, s.received));
      s.received = 0;
    }
    if (end) s.remoteEnded = true;
    s.sink.data(body, end);
    if (end) this.remoteEnd(s);
  }

  private onHeaders(flags: number, id: number, p: Buffer): void {
    this.onBlock(this.assembler.headers(flags, id, p));
  }

  private onBlock(r: AssembledBlock | null | string): void {
    if (typeof r === 'string') this.fail(H2Error.PROTOCOL_ERROR, r);
    else if (r !== null) this.headerBlock(r.id, r.endStream, r.block);
  }

  private onContinuation(flags: number, id: number, p: Buffer): void {
    this.onBlock(this.assembler.continue(flags, id, p));
  }

  private headerBlock(id: number, endStream: boolean, block: Buffer): void {
    let fields: HeaderList | undefined;
    try {
      // Decoded even for a stream already gone: the dynamic table must stay in step with the server's.
      fields = this.decoder.decode(block);
      if (fields === undefined) throw new HpackError('header list too large');
    } catch (err) {
      if (err instanceof HpackError) {
        this.fail(H2Error.COMPRESSION_ERROR, err.message);
        return;
      }
      throw err;
    }
    const s = this.streams.get(id);
    if (s === undefined || s.remoteEnded) return;
    if (endStream) s.remoteEnded = true;
    s.sink.headers(fields, endStream);
    if (endStream) this.remoteEnd(s);
  }

  /** The server ended its side: the stream is over once this side ended too (or is reset now). */
  private remoteEnd(s: H2Stream): void {
    if (s.done) return;
    if (s.localEnded) {
      this.finish(s);
      return;
    }
    // A gRPC answer ends the call: what this side still had to send is dropped.
    this.queue(rstStream(s.id, H2Error.NO_ERROR));
    this.finish(s);
  }

  private onReset(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.finish(s);
    s.sink.aborted(code, `stream reset (HTTP/2 code ${code})`);
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
      return;
    }
    if (flags & FLAG_ACK) return;
    if (p.length % 6 !== 0) {
      this.fail(H2Error.FRAME_SIZE_ERROR, 'bad SETTINGS');
      return;
    }
    for (let at = 0; at < p.length; at += 6) {
      const key = p.readUInt16BE(at);
      const value = p.readUInt32BE(at + 2);
      if (key === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = value;
      else if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_STREAM_ID) {
          this.fail(H2Error.FLOW_CONTROL_ERROR, 'initial window too large');
          return;
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) {
          this.fail(H2Error.PROTOCOL_ERROR, 'bad frame size');
          return;
        }
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: this side never indexes, so any size suits it; the rest do not concern a client.
    }
    this.queue(SETTINGS_ACK);
    this.unblock();
    this.startWaiting();
    if (!this.gotSettings) {
      this.gotSettings = true;
      this.events.ready();
    }
  }

  private onWindowUpdate(id: number, increment: number): void {
    if (increment === 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      return;
    }
    if (id === 0) {
      this.connSendWindow += increment;
      this.unblock();
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    s.sendWindow += increment;
    this.pump(s);
  }

  private onGoaway(lastId: number, code: number, debug: Buffer): void {
    const why = `server sent GOAWAY (HTTP/2 code ${code}${debug.length > 0 ? `: ${debug.toString('latin1')}` : ''})`;
    // Streams the server never saw may be retried elsewhere: they are refused.
    for (const s of [...this.streams.values()])
      if (s.id > lastId) {
        this.finish(s);
        s.sink.aborted(H2Error.REFUSED_STREAM, why);
      }
    this.drain(why);
  }

  // ---------------------------------------------------------------- bookkeeping

  private unblock(): void {
    for (const s of [...this.blocked]) {
      if (this.connSendWindow <= 0) return;
      this.pump(s);
    }
  }

  private startWaiting(): void {
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams && !this.goingAway)
      this.start(this.waiting.shift()!);
  }

  private finish(s: H2Stream): void {
    s.done = true;
    dropQueue(s);
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.startWaiting();
    if (this.goingAway && this.streams.size === 0) this.socket.end();
  }

  /** No new streams here (those waiting are refused); the connection closes once its streams are done. */
  private drain(why: string): void {
    if (this.goingAway) return;
    this.goingAway = true;
    for (const s of this.waiting.splice(0)) {
      s.done = true;
      s.sink.aborted(H2Error.REFUSED_STREAM, why);
    }
    this.events.draining();
    if (this.streams.size === 0) this.socket.end();
  }

  /** A connection error: GOAWAY with the code, then the connection is closed. */
  private fail(code: number, reason: string): void {
    if (this.dead) return;
    this.out.end(goaway(this.nextId > 1 ? this.nextId - 2 : 0, code));
    this.die(`protocol error: ${reason}`);
  }

  /** The connection is gone: every stream is aborted. */
  private die(reason: string, quiet = false): void {
    if (this.dead) return;
    this.dead = true;
    const all = [...this.streams.values(), ...this.waiting];
    this.streams.clear();
    this.waiting.length = 0;
    this.blocked.clear();
    for (const s of all) {
      s.done = true;
      dropQueue(s);
      if (!quiet) s.sink.aborted(-1, reason);
    }
    this.events.closed(reason);
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

/** A stream that ended with DATA still queued: the writers learn it was not sent. */
function dropQueue(s: H2Stream): void {
  if (s.queue.length === 0) return;
  const err = new Error('stream closed');
  for (const o of s.queue.splice(0)) o.sent?.(err);
}
