/**
 * The server side of one HTTP/2 connection (RFC 9113) over a socket a listener accepted (TCP, or TLS with
 * ALPN h2), kept to what a gRPC server needs: the client preface, SETTINGS both ways, streams the client
 * opens with HEADERS (+ CONTINUATION), DATA both ways under flow control, PING, RST_STREAM and GOAWAY.
 * Like the client side (h2-session.ts) a stream is a plain object and every frame produced in one turn of
 * the event loop leaves in one socket write: node:http2 and grpc-js spend 100–200 µs of CPU per unary call
 * on per-stream Duplex objects, async hooks and a write per frame, which is the cost this file avoids.
 *
 * Anything the peer gets wrong at the connection level (not HTTP/2, a bad frame, a header block that does
 * not decode or is too large, a flow-control violation) ends the connection with GOAWAY and closes it;
 * nothing the peer sends can throw out of this file (an internal error destroys the connection and is
 * reported to the owner).
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
  MAX_FRAME_IN,
  MAX_WINDOW,
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

/** What a server connection accepts; the first three are announced in its SETTINGS. */
export interface H2ServerLimits {
  maxConcurrentStreams: number;
  /** Names and values of one request's header fields together, in bytes. */
  maxHeaderListSize: number;
  /** The receive window of each stream. */
  streamWindow: number;
  /** The receive window of the connection. */
  connWindow: number;
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
  /** The connection is gone. `protocolError` when the peer broke HTTP/2 (GOAWAY was sent). */
  closed(reason: string, protocolError: boolean): void;
  /** A bug of this side surfaced while reading the peer's bytes: the connection was destroyed. */
  internalError(err: Error): void;
}

/** What a stream still has to send: DATA (flow controlled) or a header block (trailers). */
interface Outgoing {
  bytes: Buffer;
  headers: boolean;
  end: boolean;
}

/** One stream (a call) the client opened. */
export class H2ServerStream {
  sendWindow: number;
  /** What this side still accepts before the client must wait for a WINDOW_UPDATE. */
  recvWindow: number;
  /** Bytes received and not yet given back in a WINDOW_UPDATE. */
  received = 0;
  remoteEnded = false;
  localEnded = false;
  /** Reset, or both sides ended, or the connection went. */
  done = false;
  sink: ServerStreamSink | undefined;
  readonly queue: Outgoing[] = [];

  constructor(
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}

/** One HTTP/2 server connection. */
export class H2ServerConnection {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, H2ServerStream>();
  private readonly blocked = new Set<H2ServerStream>();
  private readonly out: FrameWriter;
  private readonly reader = new FrameReader();
  private readonly assembler: HeaderBlockAssembler;
  /** Bytes of the client preface still expected (it may arrive split). */
  private preface: Buffer | undefined = PREFACE;
  private gotSettings = false;
  private lastStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = MAX_FRAME_IN;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvWindow: number;
  private connReceived = 0;
  private goingAway = false;
  private dead = false;
  private prefaceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly limits: H2ServerLimits,
    private readonly events: ServerConnectionEvents,
  ) {
    this.out = new FrameWriter(socket);
    // A header block may be spread over CONTINUATIONs; HPACK rarely compresses below a quarter of the list.
    this.assembler = new HeaderBlockAssembler(limits.maxHeaderListSize + 16_384);
    this.connRecvWindow = limits.connWindow;
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', (err) => this.die(err.message, false));
    socket.on('close', () => this.die('connection closed', false));
    this.out.queue(
      settingsFrame([
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, limits.streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, limits.maxHeaderListSize],
      ]),
    );
    if (limits.connWindow > DEFAULT_WINDOW)
      this.out.queue(windowUpdate(0, limits.connWindow - DEFAULT_WINDOW));
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
    s.queue.push({ bytes: block, headers: true, end });
    this.pump(s);
  }

  /** Queues DATA on a stream, END_STREAM after it when `end`. */
  sendData(s: H2ServerStream, bytes: Buffer, end: boolean): void {
    if (s.done || s.localEnded) return;
    s.queue.push({ bytes, headers: false, end });
    this.pump(s);
  }

  /** Ends a stream with RST_STREAM; its sink hears nothing more. */
  reset(s: H2ServerStream, code: number): void {
    if (s.done) return;
    this.out.queue(rstStream(s.id, code));
    this.finish(s);
  }

  /**
   * Graceful close: GOAWAY tells the client that no new stream will be served, streams already open run to
   * their end, then the connection closes.
   */
  shutdown(): void {
    if (this.dead || this.goingAway) return;
    this.goingAway = true;
    this.out.queue(goaway(this.lastStreamId, H2Error.NO_ERROR));
    if (this.streams.size === 0) this.closeWhenFlushed();
  }

  /** Closes the connection at once; open streams are aborted. */
  destroy(): void {
    this.die('server closed', false);
  }

  // ---------------------------------------------------------------- sending

  /** Writes as much of a stream's queue as the windows allow. */
  private pump(s: H2ServerStream): void {
    while (s.queue.length > 0 && !s.done) {
      const o = s.queue[0]!;
      if (o.headers) {
        queueHeaderBlock(this.out, s.id, o.bytes, o.end, this.peerMaxFrame);
        s.queue.shift();
        if (o.end) this.localEnd(s);
        continue;
      }
      const n = Math.min(o.bytes.length, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
      if (n <= 0 && o.bytes.length > 0) {
        this.blocked.add(s);
        return;
      }
      const last = n === o.bytes.length;
      this.out.queue(headerOnly(n, FrameType.DATA, last && o.end ? FLAG_END_STREAM : 0, s.id));
      if (n > 0) this.out.queue(o.bytes.subarray(0, n));
      s.sendWindow -= n;
      this.connSendWindow -= n;
      if (!last) {
        o.bytes = o.bytes.subarray(n);
        continue;
      }
      s.queue.shift();
      if (o.end) this.localEnd(s);
    }
    this.blocked.delete(s);
  }

  /** This side sent END_STREAM: an answer before the whole request ends the request too (RFC 9113 §8.1). */
  private localEnd(s: H2ServerStream): void {
    s.localEnded = true;
    if (!s.remoteEnded) this.out.queue(rstStream(s.id, H2Error.NO_ERROR));
    this.finish(s);
  }

  private unblock(): void {
    for (const s of [...this.blocked]) {
      if (this.connSendWindow <= 0) return;
      this.pump(s);
    }
  }

  // ---------------------------------------------------------------- receiving

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    try {
      let c = chunk;
      if (this.preface !== undefined) {
        c = this.readPreface(c);
        if (this.dead || c.length === 0) return;
      }
      const tooLarge = this.reader.push(c, (type, flags, id, payload) => {
        this.onFrame(type, flags, id, payload);
        return !this.dead;
      });
      if (tooLarge !== undefined) this.fail(H2Error.FRAME_SIZE_ERROR, tooLarge);
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

  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (!this.gotSettings && type !== FrameType.SETTINGS) {
      this.fail(H2Error.PROTOCOL_ERROR, 'the client did not start with SETTINGS');
      return;
    }
    if (this.assembler.open && type !== FrameType.CONTINUATION) {
      this.fail(H2Error.PROTOCOL_ERROR, 'header block interrupted');
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(flags, id, p);
        return;
      case FrameType.HEADERS:
        this.onHeaders(flags, id, p);
        return;
      case FrameType.CONTINUATION:
        this.onBlock(this.assembler.continue(flags, id, p));
        return;
      case FrameType.RST_STREAM:
        if (id === 0 || p.length !== 4) this.fail(H2Error.PROTOCOL_ERROR, 'bad RST_STREAM');
        else if (id > this.lastStreamId) this.fail(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        else this.onReset(id, p.readUInt32BE(0));
        return;
      case FrameType.SETTINGS:
        this.onSettings(flags, id, p);
        return;
      case FrameType.PING:
        if (id !== 0 || p.length !== 8) this.fail(H2Error.PROTOCOL_ERROR, 'bad PING');
        else if ((flags & FLAG_ACK) === 0) this.out.queue(pingAck(p));
        return;
      case FrameType.GOAWAY:
        if (id !== 0 || p.length < 8) this.fail(H2Error.PROTOCOL_ERROR, 'bad GOAWAY');
        else this.shutdown();
        return;
      case FrameType.WINDOW_UPDATE:
        if (p.length !== 4) this.fail(H2Error.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
        else this.onWindowUpdate(id, p.readUInt32BE(0) & MAX_WINDOW);
        return;
      case FrameType.PUSH_PROMISE:
        this.fail(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
        return;
      case FrameType.PRIORITY:
        if (id === 0 || p.length !== 5) this.fail(H2Error.PROTOCOL_ERROR, 'bad PRIORITY');
        return;
      default:
        // Unknown frame types are ignored (RFC 9113 §5.5).
        return;
    }
  }

  private onDataFrame(flags: number, id: number, p: Buffer): void {
    if (id === 0 || id > this.lastStreamId) {
      this.fail(H2Error.PROTOCOL_ERROR, 'DATA on stream 0 or an idle stream');
      return;
    }
    // Flow control counts the whole frame, padding included, and DATA of streams already closed too.
    this.connRecvWindow -= p.length;
    if (this.connRecvWindow < 0) {
      this.fail(H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
      return;
    }
    this.connReceived += p.length;
    if (this.connReceived >= this.limits.connWindow / 2) {
      this.out.queue(windowUpdate(0, this.connReceived));
      this.connRecvWindow += this.connReceived;
      this.connReceived = 0;
    }
    const body = unpad(flags, p);
    if (body === undefined) {
      this.fail(H2Error.PROTOCOL_ERROR, 'bad padding');
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined || s.done) return;
    if (s.remoteEnded) {
      this.reset(s, H2Error.STREAM_CLOSED);
      return;
    }
    s.recvWindow -= p.length;
    if (s.recvWindow < 0) {
      this.abort(s, H2Error.FLOW_CONTROL_ERROR, 'DATA beyond the stream window');
      return;
    }
    const end = (flags & FLAG_END_STREAM) !== 0;
    s.received += p.length;
    if (!end && s.received >= this.limits.streamWindow / 2) {
      this.out.queue(windowUpdate(id, s.received));
      s.recvWindow += s.received;
      s.received = 0;
    }
    if (end) s.remoteEnded = true;
    s.sink?.data(body, end);
    if (end && s.localEnded) this.finish(s);
  }

  private onHeaders(flags: number, id: number, p: Buffer): void {
    this.onBlock(this.assembler.headers(flags, id, p));
  }

  private onBlock(r: AssembledBlock | null | string): void {
    if (typeof r === 'string') this.fail(H2Error.PROTOCOL_ERROR, r);
    else if (r !== null) this.headerBlock(r.id, r.endStream, r.block);
  }

  private headerBlock(id: number, endStream: boolean, block: Buffer): void {
    let fields: HeaderList | undefined;
    try {
      // Decoded even when the stream is refused: the dynamic table must stay in step with the client's.
      fields = this.decoder.decode(block, this.limits.maxHeaderListSize);
      if (fields === undefined) throw new HpackError('header list too large');
    } catch (err) {
      if (err instanceof HpackError) {
        this.fail(H2Error.COMPRESSION_ERROR, err.message);
        return;
      }
      throw err;
    }
    if (id <= this.lastStreamId) {
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
      s.remoteEnded = true;
      s.sink?.data(EMPTY, true);
      if (s.localEnded) this.finish(s);
      return;
    }
    if (id % 2 === 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'a client opened an even-numbered stream');
      return;
    }
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= this.limits.maxConcurrentStreams) {
      this.out.queue(rstStream(id, H2Error.REFUSED_STREAM));
      return;
    }
    const s = new H2ServerStream(id, this.peerInitialWindow, this.limits.streamWindow);
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    s.sink = this.events.request(s, fields, endStream);
  }

  private onReset(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.finish(s);
    s.sink?.aborted(`stream reset by the client (HTTP/2 code ${code})`);
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
      return;
    }
    if (flags & FLAG_ACK) {
      if (p.length !== 0) this.fail(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ack with a payload');
      else if (!this.gotSettings) this.fail(H2Error.PROTOCOL_ERROR, 'the client did not start with SETTINGS');
      return;
    }
    if (p.length % 6 !== 0) {
      this.fail(H2Error.FRAME_SIZE_ERROR, 'bad SETTINGS');
      return;
    }
    for (let at = 0; at < p.length; at += 6) {
      const key = p.readUInt16BE(at);
      const value = p.readUInt32BE(at + 2);
      if (key === Setting.ENABLE_PUSH && value > 1) {
        this.fail(H2Error.PROTOCOL_ERROR, 'bad ENABLE_PUSH');
        return;
      }
      if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          this.fail(H2Error.FLOW_CONTROL_ERROR, 'initial window too large');
          return;
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < MAX_FRAME_IN || value > 16_777_215) {
          this.fail(H2Error.PROTOCOL_ERROR, 'bad frame size');
          return;
        }
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: this side never indexes what it sends; the others do not bind a server.
    }
    this.out.queue(SETTINGS_ACK);
    if (!this.gotSettings) {
      this.gotSettings = true;
      clearTimeout(this.prefaceTimer);
    }
    this.unblock();
  }

  private onWindowUpdate(id: number, increment: number): void {
    if (increment === 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      return;
    }
    if (id === 0) {
      this.connSendWindow += increment;
      if (this.connSendWindow > MAX_WINDOW)
        this.fail(H2Error.FLOW_CONTROL_ERROR, 'connection window overflow');
      else this.unblock();
      return;
    }
    if (id > this.lastStreamId) {
      this.fail(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) this.abort(s, H2Error.FLOW_CONTROL_ERROR, 'stream window overflow');
    else this.pump(s);
  }

  // ---------------------------------------------------------------- bookkeeping

  /** A stream error: RST_STREAM with the code, and its sink learns why. */
  private abort(s: H2ServerStream, code: number, reason: string): void {
    this.reset(s, code);
    s.sink?.aborted(reason);
  }

  private finish(s: H2ServerStream): void {
    s.done = true;
    s.queue.length = 0;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    if (this.goingAway && this.streams.size === 0) this.closeWhenFlushed();
  }

  private closeWhenFlushed(): void {
    this.out.flush();
    if (!this.socket.destroyed) this.socket.end();
  }

  /** A connection error: GOAWAY with the code, then the connection is closed. */
  private fail(code: number, reason: string): void {
    if (this.dead) return;
    this.out.end(goaway(this.lastStreamId, code, reason));
    this.die(`protocol error: ${reason}`, true);
  }

  /** The connection is gone: every stream is aborted. */
  private die(reason: string, protocolError: boolean): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.prefaceTimer);
    const all = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of all) {
      s.done = true;
      s.sink?.aborted(reason);
    }
    this.events.closed(reason, protocolError);
    // After a GOAWAY the socket ends once it is written; a peer that never reads is cut off by the timer.
    if (protocolError) setTimeout(() => this.socket.destroy(), 1000).unref();
    else this.socket.destroy();
  }
}
