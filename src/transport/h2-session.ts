/**
 * The client side of one HTTP/2 connection (RFC 9113) over a socket Hermod opened (TCP, or TLS with ALPN h2),
 * kept to what a gRPC client needs: streams opened with a pre-encoded header block, DATA both ways under flow
 * control, SETTINGS, PING, GOAWAY, RST_STREAM, CONTINUATION, padding. Every frame produced in one turn of the
 * event loop leaves in one socket write, and a stream is a plain object with three callbacks: node:http2
 * spends tens of microseconds per stream on Duplex objects, async-hook bindings and a write per stream,
 * which made it the largest cost of a broker with an ExHook or ExProto handler on its message path.
 */
import type { Socket } from 'node:net';
import { H2Connection, H2StreamState } from './h2-connection.js';
import {
  EMPTY,
  H2Error,
  type HeaderList,
  MAX_STREAM_ID,
  PREFACE,
  queueHeaderBlock,
  Setting,
} from './h2-frame.js';

export { H2Error, type HeaderList } from './h2-frame.js';

/** What this side receives: 4 MB per stream, 16 MB per connection (hooks may carry whole messages). */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONN_WINDOW = 16 * 1024 * 1024;
/** The largest response header list (RFC 9113 §6.5.2 counting) and header block (more closes the connection). */
const MAX_HEADER_LIST = 64 * 1024;
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

/** One stream (a gRPC call). */
export class H2Stream extends H2StreamState {
  constructor(
    readonly sink: StreamSink,
    readonly headerBlock: Buffer,
  ) {
    super();
  }
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
export class H2Session extends H2Connection<H2Stream> {
  /** Streams not started because the server's concurrency limit is reached. */
  private readonly waiting: H2Stream[] = [];
  private nextId = 1;

  constructor(
    socket: Socket,
    private readonly events: SessionEvents,
  ) {
    super(
      socket,
      {
        streamWindow: STREAM_WINDOW,
        connWindow: CONN_WINDOW,
        maxHeaderListSize: MAX_HEADER_LIST,
        maxHeaderBlock: MAX_HEADER_BLOCK,
      },
      'server',
    );
    // MAX_CONCURRENT_STREAMS 0: the server opens none.
    this.sendPreface(PREFACE, [
      [Setting.ENABLE_PUSH, 0],
      [Setting.MAX_CONCURRENT_STREAMS, 0],
    ]);
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
    if (body !== undefined || end)
      s.queue.push({ bytes: body ?? EMPTY, headers: false, end, sent: undefined });
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
    s.queue.push({ bytes, headers: false, end, sent });
    if (s.id !== 0) this.pump(s);
    return true;
  }

  /** Ends a stream from this side with RST_STREAM (nothing more is reported to its sink). */
  cancel(s: H2Stream, code: number = H2Error.CANCEL): void {
    if (s.done) return;
    if (s.id === 0) {
      const i = this.waiting.indexOf(s);
      if (i >= 0) this.waiting.splice(i, 1);
      this.finish(s);
      return;
    }
    // Cancelled from the sink while the server's END_STREAM is being reported: no reset when both sides ended.
    if (s.remoteEnded && s.localEnded) this.finish(s);
    else this.reset(s, s.remoteEnded ? H2Error.NO_ERROR : code);
  }

  /** Closes the connection at once; open streams are aborted. */
  destroy(): void {
    this.die('', false, true);
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
    s.recvWindow = STREAM_WINDOW;
    this.streams.set(s.id, s);
    // The client's header blocks are small; a larger one is split into CONTINUATION frames.
    const onlyHeaders = s.queue.length === 1 && s.queue[0]!.end && s.queue[0]!.bytes.length === 0;
    queueHeaderBlock(this.out, s.id, s.headerBlock, onlyHeaders, this.peerMaxFrame);
    if (onlyHeaders) {
      s.queue.length = 0;
      s.localEnded = true;
    } else this.pump(s);
  }

  private startWaiting(): void {
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams && !this.goingAway)
      this.start(this.waiting.shift()!);
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
    if (this.streams.size === 0) this.closeWhenFlushed();
  }

  // ---------------------------------------------------------------- the hooks of H2Connection

  /** Streams this side has not opened yet, and even ones: the server opens none (push is disabled). */
  protected isIdle(id: number): boolean {
    return id >= this.nextId || id % 2 === 0;
  }

  protected localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (s.remoteEnded) this.finish(s);
  }

  protected deliver(s: H2Stream, body: Buffer, end: boolean): void {
    s.sink.data(body, end);
    if (end) this.remoteEnd(s);
  }

  protected headerList(id: number, endStream: boolean, fields: HeaderList | undefined): void {
    const s = this.streams.get(id);
    if (s === undefined || s.remoteEnded) return;
    if (fields === undefined) {
      // Decoded, so the connection is in step: only this call fails.
      this.abort(s, H2Error.ENHANCE_YOUR_CALM, `response header list larger than ${MAX_HEADER_LIST} bytes`);
      return;
    }
    if (endStream) s.remoteEnded = true;
    s.sink.headers(fields, endStream);
    if (endStream) this.remoteEnd(s);
  }

  /** The server ended its side: the stream is over once this side ended too (or is reset now). */
  private remoteEnd(s: H2Stream): void {
    if (s.done) return;
    // A gRPC answer ends the call: what this side still had to send is dropped.
    if (s.localEnded) this.finish(s);
    else this.reset(s, H2Error.NO_ERROR);
  }

  protected streamAborted(s: H2Stream, code: number, reason: string): void {
    s.sink.aborted(code, reason);
  }

  protected onGoaway(lastId: number, code: number, debug: Buffer): void {
    const why = `server sent GOAWAY (HTTP/2 code ${code}${debug.length > 0 ? `: ${debug.toString('latin1')}` : ''})`;
    // Streams the server never saw may be retried elsewhere: they are refused.
    for (const s of [...this.streams.values()])
      if (s.id > lastId) {
        this.finish(s);
        s.sink.aborted(H2Error.REFUSED_STREAM, why);
      }
    this.drain(why);
  }

  protected settingsApplied(first: boolean): void {
    this.startWaiting();
    if (first) this.events.ready();
  }

  protected streamFinished(): void {
    this.startWaiting();
    if (this.goingAway && this.streams.size === 0) this.closeWhenFlushed();
  }

  protected override unstarted(): H2Stream[] {
    return this.waiting.splice(0);
  }

  protected closed(reason: string): void {
    this.events.closed(reason);
  }
}
