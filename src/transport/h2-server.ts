/**
 * The server side of one HTTP/2 connection (RFC 9113) over a socket a listener accepted (TCP, or TLS with
 * ALPN h2), kept to what a gRPC server needs: the client preface, SETTINGS both ways, streams the client
 * opens with HEADERS (+ CONTINUATION), DATA both ways under flow control, PING, RST_STREAM and GOAWAY.
 * Like the client side (h2-session.ts) a stream is a plain object and every frame produced in one turn of
 * the event loop leaves in one socket write: node:http2 and grpc-js spend 100–200 µs of CPU per unary call
 * on per-stream Duplex objects, async hooks and a write per frame, which is the cost this file avoids.
 *
 * The connection-level frames, flow control and HPACK decoding are shared with the client (h2-connection.ts).
 *
 * Anything the peer gets wrong at the connection level (not HTTP/2, a bad frame, a header block that does
 * not decode or is too large to hold, a flow-control violation) ends the connection with GOAWAY and closes
 * it; a request that is too much for this side but well formed (a header list over maxHeaderListSize, too
 * many bytes of incomplete requests) fails its stream only. Nothing the peer sends can throw out of this
 * file (an internal error destroys the connection and is reported to the owner).
 */
import type { Socket } from 'node:net';
import { H2Connection, H2StreamState } from './h2-connection.js';
import { EMPTY, goaway, H2Error, type HeaderList, PREFACE, rstStream, Setting } from './h2-frame.js';

/** What a server connection accepts; the first three are announced in its SETTINGS. */
export interface H2ServerLimits {
  maxConcurrentStreams: number;
  /** Names and values of one request's header fields together, in bytes. */
  maxHeaderListSize: number;
  /** The receive window of each stream. */
  streamWindow: number;
  /** The receive window of the connection. */
  connWindow: number;
  /**
   * Request bytes one connection may hold for requests not yet complete (DATA handed to sinks of streams
   * whose END_STREAM has not come) before its window is held back; see H2ServerConnection.deliver.
   */
  maxBufferedBytes: number;
  /** A connection that has not sent its preface and SETTINGS by then is closed (ms). */
  prefaceTimeout: number;
}

/** What a stream tells its owner. Called only until the stream is done. */
export interface ServerStreamSink {
  /** DATA: a view of the socket's chunk (each read gets a fresh one, so it may be kept). */
  data(chunk: Buffer, endStream: boolean): void;
  /** The client reset the stream, or the connection went: nothing can be sent on it any more. */
  aborted(reason: string): void;
}

/** What the connection tells its owner. */
export interface ServerConnectionEvents {
  /** A client opened a stream with these request headers; the returned sink gets the rest of it. */
  request(stream: H2ServerStream, headers: HeaderList, endStream: boolean): ServerStreamSink;
  /**
   * A client opened a stream whose header list (decoded fine) is larger than maxHeaderListSize: the owner
   * answers it (the stream is open, its headers dropped); the returned sink gets the rest of it.
   */
  requestTooLarge(stream: H2ServerStream, endStream: boolean): ServerStreamSink;
  /** A stream was reset to keep a limit of this side (for counting and the log). */
  limited(kind: 'buffer' | 'headers', reason: string): void;
  /** The connection is gone. `protocolError` when the peer broke HTTP/2 (GOAWAY was sent). */
  closed(reason: string, protocolError: boolean): void;
  /** A bug of this side surfaced while reading the peer's bytes: the connection was destroyed. */
  internalError(err: Error): void;
}

/** One stream (a call) the client opened. */
export class H2ServerStream extends H2StreamState {
  sink: ServerStreamSink | undefined;
  /** DATA handed to the sink while the request is not complete (counted in the connection's total). */
  buffered = 0;

  constructor(id: number, sendWindow: number, recvWindow: number) {
    super();
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}

/** One HTTP/2 server connection. */
export class H2ServerConnection extends H2Connection<H2ServerStream> {
  /** Bytes of the client preface still expected (it may arrive split). */
  private preface: Buffer | undefined = PREFACE;
  private prefaceTimer: NodeJS.Timeout | undefined;
  /** The sum of the streams' `buffered`. */
  private buffered = 0;

  constructor(
    socket: Socket,
    private readonly limits: H2ServerLimits,
    private readonly events: ServerConnectionEvents,
  ) {
    super(
      socket,
      {
        streamWindow: limits.streamWindow,
        connWindow: limits.connWindow,
        maxHeaderListSize: limits.maxHeaderListSize,
        // An encoder's block is rarely larger than its list, so a block of up to four times the limit is still
        // decoded and only its stream fails; a larger one is not worth holding, and closes the connection.
        maxHeaderBlock: 4 * limits.maxHeaderListSize,
      },
      'client',
    );
    this.sendPreface(undefined, [
      [Setting.ENABLE_PUSH, 0],
      [Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
      [Setting.MAX_HEADER_LIST_SIZE, limits.maxHeaderListSize],
    ]);
    this.prefaceTimer = setTimeout(
      () => this.fail(H2Error.PROTOCOL_ERROR, 'no HTTP/2 preface and SETTINGS in time'),
      limits.prefaceTimeout,
    );
    this.prefaceTimer.unref();
  }

  /** Streams open now. */
  get active(): number {
    return this.streams.size;
  }

  /** Queues a header block (response headers or trailers) behind what the stream already queued. */
  sendHeaders(s: H2ServerStream, block: Buffer, end: boolean): void {
    if (s.done || s.localEnded) return;
    s.queue.push({ bytes: block, headers: true, end, sent: undefined });
    this.pump(s);
  }

  /** Queues DATA on a stream, END_STREAM after it when `end`. */
  sendData(s: H2ServerStream, bytes: Buffer, end: boolean): void {
    if (s.done || s.localEnded) return;
    s.queue.push({ bytes, headers: false, end, sent: undefined });
    this.pump(s);
  }

  /** Ends a stream with RST_STREAM; its sink hears nothing more. */
  override reset(s: H2ServerStream, code: number): void {
    super.reset(s, code);
  }

  /**
   * Graceful close: GOAWAY tells the client that no new stream will be served, streams already open run to
   * their end, then the connection closes.
   */
  shutdown(): void {
    if (this.dead || this.goingAway) return;
    this.goingAway = true;
    this.out.queue(goaway(this.lastPeerStream, H2Error.NO_ERROR));
    if (this.streams.size === 0) this.closeWhenFlushed();
  }

  /** Closes the connection at once; open streams are aborted. */
  destroy(): void {
    this.die('server closed', false);
  }

  // ---------------------------------------------------------------- the hooks of H2Connection

  protected override onSocketData(chunk: Buffer): void {
    if (this.dead) return;
    try {
      let c = chunk;
      if (this.preface !== undefined) {
        c = this.readPreface(c);
        if (this.dead || c.length === 0) return;
      }
      this.readFrames(c);
    } catch (err) {
      // A bug here must not take the process down with it: this connection goes, the others stay.
      this.die(`internal error: ${(err as Error).message}`, false);
      this.events.internalError(err as Error);
    }
  }

  /** Checks the bytes of the client preface; returns what follows it. */
  private readPreface(c: Buffer): Buffer {
    const want = this.preface!;
    const n = Math.min(want.length, c.length);
    if (!c.subarray(0, n).equals(want.subarray(0, n))) {
      this.fail(H2Error.PROTOCOL_ERROR, 'not an HTTP/2 client (bad connection preface)');
      return EMPTY;
    }
    this.preface = n === want.length ? undefined : want.subarray(n);
    return c.subarray(n);
  }

  protected isIdle(id: number): boolean {
    return id > this.lastPeerStream;
  }

  /** An answer sent before the whole request ends the request too (RFC 9113 §8.1). */
  protected localEnd(s: H2ServerStream): void {
    s.localEnded = true;
    if (!s.remoteEnded) this.out.queue(rstStream(s.id, H2Error.NO_ERROR));
    this.finish(s);
  }

  /**
   * Flow control alone does not bound what a connection makes this side hold when the window is handed
   * back as DATA arrives: up to maxConcurrentStreams requests of up to the largest message each may be half
   * sent. Handing it back only as requests are consumed would bound it, but a unary server consumes a
   * request only once it is whole, so a client sending many large requests at once (grpc-js interleaves
   * them) could fill the window with parts of each and stall them all, for good. So the window flows while
   * the connection holds less than maxBufferedBytes of incomplete requests, and is held back past that: the
   * peer's own flow control then stops it at maxBufferedBytes + connWindow, and requests it completes with
   * the window it still has release their bytes and the window. A peer that uses that window up with
   * requests still incomplete would wait forever: the stream holding the most is reset with
   * ENHANCE_YOUR_CALM (gRPC clients report RESOURCE_EXHAUSTED, and do not retry it blindly as they would
   * REFUSED_STREAM), which releases its bytes; the connection and its other streams go on.
   */
  protected deliver(s: H2ServerStream, body: Buffer, end: boolean): void {
    if (end) this.release(s);
    else {
      s.buffered += body.length;
      this.buffered += body.length;
      if (this.buffered >= this.limits.maxBufferedBytes) this.windowHeld = true;
    }
    s.sink?.data(body, end);
    if (end && s.localEnded) this.finish(s);
  }

  /** Resets the streams holding the most bytes of incomplete requests until the window flows again. */
  protected override windowUsedUp(): void {
    const reason = `more than ${this.limits.maxBufferedBytes} bytes of incomplete requests on one connection, and its window used up`;
    while (this.windowHeld) {
      let most: H2ServerStream | undefined;
      for (const s of this.streams.values()) if (most === undefined || s.buffered > most.buffered) most = s;
      if (most === undefined || most.buffered === 0) {
        // Nothing left to release (cannot happen while `buffered` is over the cap): let the window flow.
        this.windowHeld = false;
        this.returnConnWindow();
        return;
      }
      this.abort(most, H2Error.ENHANCE_YOUR_CALM, reason);
      this.events.limited('buffer', reason);
    }
  }

  /** The request is complete or gone: its bytes are the sink's concern now. */
  private release(s: H2ServerStream): void {
    if (s.buffered === 0) return;
    this.buffered -= s.buffered;
    s.buffered = 0;
    if (this.windowHeld && this.buffered < this.limits.maxBufferedBytes) {
      this.windowHeld = false;
      this.returnConnWindow();
    }
  }

  protected headerList(id: number, endStream: boolean, fields: HeaderList | undefined): void {
    if (id <= this.lastPeerStream) {
      // Trailers of a request (a gRPC client sends none for unary calls): they end the request.
      const s = this.streams.get(id);
      if (s === undefined) {
        this.fail(H2Error.STREAM_CLOSED, 'HEADERS on a closed stream');
        return;
      }
      if (!endStream || s.remoteEnded) {
        this.fail(H2Error.PROTOCOL_ERROR, 'trailers without END_STREAM');
        return;
      }
      if (fields === undefined) {
        const reason = `request trailers larger than ${this.limits.maxHeaderListSize} bytes`;
        this.abort(s, H2Error.ENHANCE_YOUR_CALM, reason);
        this.events.limited('headers', reason);
        return;
      }
      s.remoteEnded = true;
      this.release(s);
      s.sink?.data(EMPTY, true);
      if (s.localEnded) this.finish(s);
      return;
    }
    if (id % 2 === 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'a client opened an even-numbered stream');
      return;
    }
    this.lastPeerStream = id;
    if (this.goingAway || this.streams.size >= this.limits.maxConcurrentStreams) {
      this.out.queue(rstStream(id, H2Error.REFUSED_STREAM));
      return;
    }
    const s = new H2ServerStream(id, this.peerInitialWindow, this.limits.streamWindow);
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    // A list over the limit fails this stream only: the block was decoded, the connection is in step.
    s.sink =
      fields === undefined
        ? this.events.requestTooLarge(s, endStream)
        : this.events.request(s, fields, endStream);
  }

  protected streamAborted(s: H2ServerStream, _code: number, reason: string): void {
    s.sink?.aborted(reason);
  }

  /** A GOAWAY from the client: it opens nothing more, so the connection ends once its streams are done. */
  protected onGoaway(): void {
    this.shutdown();
  }

  protected settingsApplied(first: boolean): void {
    if (first) clearTimeout(this.prefaceTimer);
  }

  protected streamFinished(s: H2ServerStream): void {
    this.release(s);
    if (this.goingAway && this.streams.size === 0) this.closeWhenFlushed();
  }

  protected closed(reason: string, protocolError: boolean): void {
    clearTimeout(this.prefaceTimer);
    this.events.closed(reason, protocolError);
  }
}
