/**
 * What an HTTP/2 connection (RFC 9113) does the same on both ends, for Hermod's client (h2-session.ts) and
 * server (h2-server.ts): reading frames and checking them, the connection-level frames (SETTINGS and its
 * ack, PING, WINDOW_UPDATE, RST_STREAM, GOAWAY), flow control both ways, HPACK decoding of header blocks,
 * writing a stream's queue as its windows allow, and how a connection fails and dies. What differs stays
 * in the subclasses, behind the abstract hooks below: who opens streams, what a header block means, what
 * a GOAWAY from the peer does, and how a stream's owner is told.
 *
 * Hooks are plain methods of one class per side, so the calls stay monomorphic and a stream costs no more
 * objects than before the split: the client runs on the broker's message path (ExHook, ExProto handlers).
 */
import type { Socket } from 'node:net';
import {
  type AssembledBlock,
  DEFAULT_WINDOW,
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
  MAX_STREAM_ID,
  MAX_WINDOW,
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

/** What a stream still has to send: DATA (flow controlled) or a header block (sent whole). */
export interface Outgoing {
  bytes: Buffer;
  headers: boolean;
  end: boolean;
  /** Called once: when the bytes are handed to the socket, or with an error when the stream ended first. */
  sent: ((err?: Error) => void) | undefined;
}

/** The state of one stream that both sides keep. */
export class H2StreamState {
  /** 0 on the client until its HEADERS are written (ids are given in the order streams start). */
  id = 0;
  sendWindow = 0;
  /** What this side still accepts before the peer must wait for a WINDOW_UPDATE. */
  recvWindow = 0;
  /** Bytes received and not yet given back in a WINDOW_UPDATE. */
  received = 0;
  localEnded = false;
  remoteEnded = false;
  /** Reset, or both sides ended, or the connection went: nothing more is sent or reported. */
  done = false;
  readonly queue: Outgoing[] = [];
}

/** The receive windows this side announces, and the largest header list it takes. */
export interface H2ReceiveLimits {
  streamWindow: number;
  connWindow: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: names and values plus 32 bytes a field (RFC 9113 §6.5.2). */
  maxHeaderListSize: number;
  /** The largest compressed header block (HEADERS + CONTINUATIONs); more is a connection error. */
  maxHeaderBlock: number;
}

/** One HTTP/2 connection; `S` is the side's stream. */
export abstract class H2Connection<S extends H2StreamState> {
  protected readonly streams = new Map<number, S>();
  /** Streams with DATA queued for lack of window. */
  protected readonly blocked = new Set<S>();
  protected readonly out: FrameWriter;
  private readonly reader = new FrameReader();
  private readonly decoder = new HpackDecoder();
  protected readonly assembler: HeaderBlockAssembler;
  protected peerInitialWindow = DEFAULT_WINDOW;
  protected peerMaxFrame = MAX_FRAME_IN;
  protected peerMaxStreams = Number.POSITIVE_INFINITY;
  protected connSendWindow = DEFAULT_WINDOW;
  /** What the peer may still send on the connection before it must wait for a WINDOW_UPDATE. */
  protected connRecvWindow = DEFAULT_WINDOW;
  private connReceived = 0;
  /** While set, what the peer sends is not given back in WINDOW_UPDATEs (the server holds too much). */
  protected windowHeld = false;
  /** The highest stream the peer opened (what a GOAWAY from this side names). */
  protected lastPeerStream = 0;
  protected gotSettings = false;
  protected goingAway = false;
  protected dead = false;

  constructor(
    protected readonly socket: Socket,
    protected readonly recv: H2ReceiveLimits,
    /** 'client' or 'server': the peer, in error texts. */
    private readonly peerName: string,
  ) {
    this.out = new FrameWriter(socket);
    this.assembler = new HeaderBlockAssembler(recv.maxHeaderBlock);
    socket.on('data', (c: Buffer) => this.onSocketData(c));
    socket.on('error', (err) => this.die(err.message, false));
    socket.on('close', () => this.die('connection closed', false));
  }

  /** Queues what opens the connection: the client preface if given, SETTINGS, the connection window. */
  protected sendPreface(
    preface: Buffer | undefined,
    settings: ReadonlyArray<readonly [number, number]>,
  ): void {
    if (preface !== undefined) this.out.queue(preface);
    this.out.queue(settingsFrame([...settings, [Setting.INITIAL_WINDOW_SIZE, this.recv.streamWindow]]));
    if (this.recv.connWindow > DEFAULT_WINDOW)
      this.out.queue(windowUpdate(0, this.recv.connWindow - DEFAULT_WINDOW));
    this.connRecvWindow = this.recv.connWindow;
  }

  // ---------------------------------------------------------------- what each side decides

  /** Whether the peer may not yet name this stream (RFC 9113 §5.1: idle). */
  protected abstract isIdle(id: number): boolean;
  /** A decoded header block; `fields` is undefined when the list is larger than maxHeaderListSize. */
  protected abstract headerList(id: number, endStream: boolean, fields: HeaderList | undefined): void;
  /** DATA for an open stream, flow control done; `end` is already in `s.remoteEnded`. */
  protected abstract deliver(s: S, body: Buffer, end: boolean): void;
  /** This side sent END_STREAM on `s`. */
  protected abstract localEnd(s: S): void;
  /** The stream ended abnormally (`code` -1: the connection went); its owner must learn why. */
  protected abstract streamAborted(s: S, code: number, reason: string): void;
  protected abstract onGoaway(lastId: number, code: number, debug: Buffer): void;
  /** The peer's SETTINGS were applied and acknowledged (`first`: the ones of its preface). */
  protected abstract settingsApplied(first: boolean): void;
  /** `s` left `streams` (after `done` was set): room for another. */
  protected abstract streamFinished(s: S): void;
  /** The connection is gone; streams were aborted already. */
  protected abstract closed(reason: string, protocolError: boolean): void;
  /** The window is held back and the peer has less than a frame of it left: it cannot go on by itself. */
  protected windowUsedUp(): void {}
  /** Streams not in `streams` that die() must abort too (the client's waiting ones). */
  protected unstarted(): S[] {
    return [];
  }

  // ---------------------------------------------------------------- sending

  /** Writes as much of a stream's queue as the windows allow. */
  protected pump(s: S): void {
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
      o.sent?.();
      if (o.end) this.localEnd(s);
    }
    this.blocked.delete(s);
  }

  private unblock(): void {
    for (const s of [...this.blocked]) {
      if (this.connSendWindow <= 0) return;
      this.pump(s);
    }
  }

  /** Ends a stream with RST_STREAM. */
  protected reset(s: S, code: number): void {
    if (s.done) return;
    this.out.queue(rstStream(s.id, code));
    this.finish(s);
  }

  /** A stream error: RST_STREAM with the code, and the stream's owner learns why. */
  protected abort(s: S, code: number, reason: string): void {
    if (s.done) return;
    this.reset(s, code);
    this.streamAborted(s, code, reason);
  }

  protected finish(s: S): void {
    s.done = true;
    dropQueue(s);
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.streamFinished(s);
  }

  /** Ends the socket once what is queued is written (an orderly close after GOAWAY). */
  protected closeWhenFlushed(): void {
    this.out.flush();
    if (!this.socket.destroyed) this.socket.end();
  }

  // ---------------------------------------------------------------- receiving

  /** Bytes from the socket; the server overrides it to read the client preface first. */
  protected onSocketData(chunk: Buffer): void {
    if (!this.dead) this.readFrames(chunk);
  }

  protected readFrames(chunk: Buffer): void {
    const tooLarge = this.reader.push(chunk, (type, flags, id, payload) => {
      this.onFrame(type, flags, id, payload);
      return !this.dead;
    });
    if (tooLarge !== undefined) this.fail(H2Error.FRAME_SIZE_ERROR, tooLarge);
  }

  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (!this.gotSettings && type !== FrameType.SETTINGS) {
      this.fail(H2Error.PROTOCOL_ERROR, `the ${this.peerName} did not start with SETTINGS`);
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
        this.onBlock(this.assembler.headers(flags, id, p));
        return;
      case FrameType.CONTINUATION:
        this.onBlock(this.assembler.continue(flags, id, p));
        return;
      case FrameType.RST_STREAM:
        if (id === 0 || p.length !== 4) this.fail(H2Error.PROTOCOL_ERROR, 'bad RST_STREAM');
        else if (this.isIdle(id)) this.fail(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
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
        else this.onGoaway(p.readUInt32BE(0) & MAX_STREAM_ID, p.readUInt32BE(4), p.subarray(8));
        return;
      case FrameType.WINDOW_UPDATE:
        if (p.length !== 4) this.fail(H2Error.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
        else this.onWindowUpdate(id, p.readUInt32BE(0) & MAX_WINDOW);
        return;
      case FrameType.PUSH_PROMISE:
        // Neither side allows push: the client disables it, and a client may never push.
        this.fail(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
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
    if (id === 0 || this.isIdle(id)) {
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
    if (!this.windowHeld) {
      if (this.connReceived >= this.recv.connWindow / 2) this.returnConnWindow();
    } else if (this.connRecvWindow < MAX_FRAME_IN) this.windowUsedUp();
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
    if (!end && s.received >= this.recv.streamWindow / 2) {
      this.out.queue(windowUpdate(id, s.received));
      s.recvWindow += s.received;
      s.received = 0;
    }
    if (end) s.remoteEnded = true;
    this.deliver(s, body, end);
  }

  /** Gives the peer back, in one WINDOW_UPDATE, the connection window its DATA used so far. */
  protected returnConnWindow(): void {
    if (this.connReceived === 0) return;
    this.out.queue(windowUpdate(0, this.connReceived));
    this.connRecvWindow += this.connReceived;
    this.connReceived = 0;
  }

  private onBlock(r: AssembledBlock | null | string): void {
    if (typeof r === 'string') {
      this.fail(H2Error.PROTOCOL_ERROR, r);
      return;
    }
    if (r === null) return;
    let fields: HeaderList | undefined;
    try {
      // Decoded even for a stream that is gone or refused: the dynamic table must stay in step with the peer's.
      fields = this.decoder.decode(r.block, this.recv.maxHeaderListSize);
    } catch (err) {
      if (err instanceof HpackError) {
        this.fail(H2Error.COMPRESSION_ERROR, err.message);
        return;
      }
      throw err;
    }
    this.headerList(r.id, r.endStream, fields);
  }

  private onReset(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.finish(s);
    this.streamAborted(s, code, `stream reset by the ${this.peerName} (HTTP/2 code ${code})`);
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) {
      this.fail(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
      return;
    }
    if (flags & FLAG_ACK) {
      if (p.length !== 0) this.fail(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ack with a payload');
      else if (!this.gotSettings)
        this.fail(H2Error.PROTOCOL_ERROR, `the ${this.peerName} did not start with SETTINGS`);
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
      if (key === Setting.MAX_CONCURRENT_STREAMS) this.peerMaxStreams = value;
      else if (key === Setting.INITIAL_WINDOW_SIZE) {
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
      // HEADER_TABLE_SIZE: this side never indexes what it sends, so any size suits it; the peer's
      // MAX_HEADER_LIST_SIZE is advisory and this side's header blocks are small.
    }
    this.out.queue(SETTINGS_ACK);
    this.unblock();
    const first = !this.gotSettings;
    this.gotSettings = true;
    this.settingsApplied(first);
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
    if (this.isIdle(id)) {
      this.fail(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) this.abort(s, H2Error.FLOW_CONTROL_ERROR, 'stream window overflow');
    else this.pump(s);
  }

  // ---------------------------------------------------------------- the end

  /** A connection error: GOAWAY with the code, then the connection is closed. */
  protected fail(code: number, reason: string): void {
    if (this.dead) return;
    this.out.end(goaway(this.lastPeerStream, code, reason));
    this.die(`protocol error: ${reason}`, true);
  }

  /**
   * The connection is gone: every stream is aborted (its owner told unless `quiet`: the owner closed it).
   * `protocolError`: a GOAWAY was queued, so the socket ends once it is written.
   */
  protected die(reason: string, protocolError: boolean, quiet = false): void {
    if (this.dead) return;
    this.dead = true;
    const all = [...this.streams.values(), ...this.unstarted()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of all) {
      s.done = true;
      dropQueue(s);
      if (!quiet) this.streamAborted(s, -1, reason);
    }
    this.closed(reason, protocolError);
    // A peer that never reads its GOAWAY is cut off by the timer.
    if (protocolError) setTimeout(() => this.socket.destroy(), 1000).unref();
    else this.socket.destroy();
  }
}

/** A stream that ended with DATA still queued: the writers learn it was not sent. */
function dropQueue(s: H2StreamState): void {
  if (s.queue.length === 0) return;
  const err = new Error('stream closed');
  for (const o of s.queue.splice(0)) o.sent?.(err);
}
