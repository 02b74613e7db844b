/**
 * A lean gRPC client over node:http2 for the calls Hermod makes on its message path (ExHook hooks, ExProto
 * handler events). One long-lived HTTP/2 session per server carries every call as its own stream, so calls
 * issued in one tick leave in one socket write; no interceptor chain, no per-call metadata objects, no
 * per-call timers (one sweep enforces deadlines). @grpc/grpc-js spends several times more CPU per unary call
 * (call stack of filters, resolving and retrying layers, a timer and metadata per call), which a profile of
 * bench/exhook.ts showed to dominate the broker's time.
 *
 * What it implements of the gRPC HTTP/2 protocol: unary and client-streaming requests, length-prefixed
 * uncompressed messages, grpc-timeout, grpc-status and percent-encoded grpc-message in trailers or in a
 * trailers-only response, HTTP statuses mapped to gRPC codes, RST_STREAM codes mapped to gRPC codes, TLS
 * (ALPN h2) with the options of grpc-endpoint.ts, and reconnecting with back-off after a failed connect.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, connect as tlsConnect } from 'node:tls';
import { VERSION } from '../version.js';

/** gRPC status codes used here (numbers as the protocol defines them). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
} as const;

/** A call that failed: its gRPC status code and message. */
export interface CallFailure {
  ok: false;
  code: number;
  message: string;
}

/** The outcome of one call. */
export type UnaryResult<T = unknown> = { ok: true; response: T } | CallFailure;

/** How to dial the server: from grpc-endpoint.ts. */
export interface H2Dial {
  /** 'http://host:port' or 'https://host:port' (IPv6 hosts in brackets). */
  origin: string;
  /** The :authority header. */
  authority: string;
  /** TLS options; undefined for plain http. */
  tls?: {
    secureContext: SecureContext;
    /** SNI name; '' sends none. */
    servername: string;
    rejectUnauthorized: boolean;
    /** Replaces the host name check (chain-only verification). */
    skipNameCheck: boolean;
  };
}

/** A method as the client calls it: its path and message codecs. */
export interface H2Method<Req, Res> {
  path: string;
  serialize: (request: Req) => Buffer;
  deserialize: (bytes: Buffer) => Res;
}

/** Reconnect back-off after a failed connect: 0.5 s doubling to 5 s (as the grpc-js options Hermod set). */
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 5000;
/** Deadlines are checked this often while calls run: a late deadline is at most this late. */
const SWEEP_MS = 20;

const HTTP_TO_GRPC: Record<number, number> = {
  400: GrpcStatus.INTERNAL,
  401: GrpcStatus.UNAUTHENTICATED,
  403: GrpcStatus.PERMISSION_DENIED,
  404: GrpcStatus.UNIMPLEMENTED,
  429: GrpcStatus.UNAVAILABLE,
  502: GrpcStatus.UNAVAILABLE,
  503: GrpcStatus.UNAVAILABLE,
  504: GrpcStatus.UNAVAILABLE,
};

/** One call in flight. */
interface Pending {
  stream: ClientHttp2Stream;
  deadline: number;
  settle: (code: number, message: string, body: Buffer | undefined) => void;
}

/** The 5-byte gRPC message prefix (uncompressed) followed by the message. */
function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** grpc-timeout: at most 8 digits, so long timeouts go in seconds. */
function timeoutHeader(ms: number): string {
  return ms < 100_000_000 ? `${ms}m` : `${Math.ceil(ms / 1000)}S`;
}

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The one message of a unary response body, or why there is none. */
function unframe(body: Buffer): Buffer | string {
  if (body.length < 5) return 'response has no message';
  if (body[0] !== 0) return 'response message is compressed, which was not negotiated';
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) return 'response message is truncated';
  return body.subarray(5, 5 + len);
}

/** A gRPC connection to one server. */
export class H2GrpcClient {
  private session: ClientHttp2Session | undefined;
  private connected = false;
  private readonly pending = new Set<Pending>();
  private sweeper: NodeJS.Timeout | undefined;
  /** After a failed connect: no new attempt before this time (epoch ms). */
  private retryAt = 0;
  private backoff = BACKOFF_MIN;
  private lastError = '';
  private closed = false;
  private readonly baseHeaders: Record<string, string>;

  constructor(private readonly dial: H2Dial) {
    this.baseHeaders = {
      ':method': 'POST',
      ':authority': dial.authority,
      ':scheme': dial.tls === undefined ? 'http' : 'https',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': `hermod/${VERSION}`,
    };
  }

  /** True once the session is connected (and until it closes). */
  get ready(): boolean {
    return this.connected;
  }

  /** Calls a unary method; settles by `deadline` (epoch ms) at the latest, never rejects. */
  unary<Req, Res>(method: H2Method<Req, Res>, request: Req, deadline: number): Promise<UnaryResult<Res>> {
    return new Promise((resolve) => {
      let bytes: Buffer;
      try {
        bytes = frame(method.serialize(request));
      } catch (err) {
        resolve({
          ok: false,
          code: GrpcStatus.INTERNAL,
          message: `cannot encode request: ${(err as Error).message}`,
        });
        return;
      }
      this.start(method.path, deadline, bytes, true, (code, message, body) => {
        if (code !== GrpcStatus.OK) {
          resolve({ ok: false, code, message });
          return;
        }
        const msg = body === undefined ? 'response has no message' : unframe(body);
        if (typeof msg === 'string') {
          resolve({ ok: false, code: GrpcStatus.INTERNAL, message: msg });
          return;
        }
        try {
          resolve({ ok: true, response: method.deserialize(msg) });
        } catch (err) {
          resolve({
            ok: false,
            code: GrpcStatus.INTERNAL,
            message: `cannot decode response: ${(err as Error).message}`,
          });
        }
      });
    });
  }

  /**
   * Opens a client-streaming call: `write` queues messages (several written in one tick leave together);
   * `onEnd` is called once, when the call ends for any reason (OK and the answer after `end`, or the failure).
   */
  clientStream<Req>(
    method: Pick<H2Method<Req, unknown>, 'path' | 'serialize'>,
    onEnd: (code: number, message: string, response: Buffer | undefined) => void,
  ): ClientStreamCall<Req> | CallFailure {
    let stream: ClientHttp2Stream | undefined;
    const ended = (code: number, message: string, body: Buffer | undefined) => {
      const msg = body === undefined ? undefined : unframe(body);
      onEnd(code, message, typeof msg === 'string' ? undefined : msg);
    };
    this.start(method.path, Number.POSITIVE_INFINITY, undefined, false, ended, (s) => {
      stream = s;
    });
    if (stream === undefined) return { ok: false, code: GrpcStatus.UNAVAILABLE, message: this.unavailable() };
    return new ClientStreamCall(stream, method.serialize);
  }

  /** True when the server can be reached before `deadline`: connects (ignoring back-off) if need be. */
  probe(deadline: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.connected) return Promise.resolve(true);
    const session = this.session ?? this.connect();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
      const done = (ok: boolean) => {
        clearTimeout(timer);
        session.off('connect', onConnect);
        session.off('close', onClose);
        resolve(ok);
      };
      const onConnect = () => done(true);
      const onClose = () => done(false);
      session.once('connect', onConnect);
      session.once('close', onClose);
    });
  }

  /** Closes the session; calls still running fail with CANCELLED. */
  close(): void {
    this.closed = true;
    for (const p of [...this.pending]) p.settle(GrpcStatus.CANCELLED, 'client closed', undefined);
    this.session?.destroy();
    this.session = undefined;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
  }

  private unavailable(): string {
    return this.closed ? 'client closed' : `server unreachable: ${this.lastError}`;
  }

  /** Opens a stream and tracks it until it settles. `settle` is called exactly once. */
  private start(
    path: string,
    deadline: number,
    body: Buffer | undefined,
    unary: boolean,
    settle: (code: number, message: string, body: Buffer | undefined) => void,
    opened?: (s: ClientHttp2Stream) => void,
  ): void {
    const left = deadline - Date.now();
    if (left <= 0) {
      settle(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded before the call was made', undefined);
      return;
    }
    const session = this.usableSession();
    if (session === undefined) {
      settle(GrpcStatus.UNAVAILABLE, this.unavailable(), undefined);
      return;
    }
    const headers: Record<string, string> = { ...this.baseHeaders, ':path': path };
    if (Number.isFinite(deadline)) headers['grpc-timeout'] = timeoutHeader(left);
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      settle(GrpcStatus.UNAVAILABLE, (err as Error).message, undefined);
      return;
    }
    let status: number | undefined;
    let message = '';
    let chunks: Buffer[] | undefined;
    let httpError: string | undefined;
    const p: Pending = {
      stream,
      deadline,
      settle: (code, msg, b) => {
        if (!this.pending.delete(p)) return;
        if (this.pending.size === 0) this.session?.unref();
        if (!stream.closed)
          stream.close(
            code === GrpcStatus.OK ? http2.constants.NGHTTP2_NO_ERROR : http2.constants.NGHTTP2_CANCEL,
          );
        settle(code, msg, b);
      },
    };
    if (this.pending.size === 0) session.ref();
    this.pending.add(p);
    if (unary && this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    const readStatus = (h: http2.IncomingHttpHeaders) => {
      const s = h['grpc-status'];
      if (s === undefined) return;
      // Anything but a plain decimal code is a broken answer, not OK.
      status = typeof s === 'string' && /^[0-9]{1,3}$/.test(s) ? Number(s) : GrpcStatus.UNKNOWN;
      const m = h['grpc-message'];
      if (typeof m === 'string') message = percentDecode(m);
    };
    stream.on('response', (h) => {
      const code = Number(h[':status']);
      if (code !== 200) httpError = `HTTP status ${code}`;
      readStatus(h);
      if (httpError !== undefined && status === undefined)
        p.settle(HTTP_TO_GRPC[code] ?? GrpcStatus.UNKNOWN, httpError, undefined);
    });
    stream.on('trailers', readStatus);
    stream.on('data', (c: Buffer) => {
      (chunks ??= []).push(c);
    });
    stream.on('error', () => {
      // The close handler below tells what happened.
    });
    stream.on('close', () => {
      if (status !== undefined) {
        const b = chunks === undefined ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        p.settle(status, message, b);
        return;
      }
      const rst = stream.rstCode;
      if (rst === http2.constants.NGHTTP2_REFUSED_STREAM)
        return p.settle(GrpcStatus.UNAVAILABLE, 'stream refused by the server', undefined);
      // A stream that ends without a status because its connection went away (or never came) is UNAVAILABLE.
      if (session.destroyed || session.closed || this.session !== session)
        return p.settle(GrpcStatus.UNAVAILABLE, `connection lost: ${this.lastError || 'closed'}`, undefined);
      if (rst === http2.constants.NGHTTP2_CANCEL)
        return p.settle(GrpcStatus.CANCELLED, 'call cancelled', undefined);
      p.settle(
        GrpcStatus.INTERNAL,
        rst !== undefined && rst !== 0 ? `stream reset (HTTP/2 code ${rst})` : 'call ended without a status',
        undefined,
      );
    });
    opened?.(stream);
    if (body !== undefined) stream.end(body);
  }

  /** The session to open a stream on: the current one, a new one, or none while backing off. */
  private usableSession(): ClientHttp2Session | undefined {
    if (this.closed) return undefined;
    if (this.session !== undefined) return this.session;
    if (Date.now() < this.retryAt) return undefined;
    return this.connect();
  }

  private connect(): ClientHttp2Session {
    const session = http2.connect(this.dial.origin, {
      createConnection: () => this.socket(),
      // Hooks may carry whole messages: generous windows, no server push.
      maxSessionMemory: 64,
      settings: { enablePush: false, initialWindowSize: 4 * 1024 * 1024 },
    });
    this.session = session;
    this.connected = false;
    session.once('connect', () => {
      if (this.session !== session) return;
      this.connected = true;
      this.backoff = BACKOFF_MIN;
      this.retryAt = 0;
      this.lastError = '';
      // The connection-level window, so large payloads are not throttled by the 64 KB default.
      session.setLocalWindowSize(16 * 1024 * 1024);
    });
    session.on('error', (err: Error) => {
      if (this.session !== session) return;
      this.lastError = err.message;
      if (!this.connected) {
        this.retryAt = Date.now() + this.backoff;
        this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
      }
    });
    session.on('goaway', () => {
      // New calls go to a new session; calls in flight finish on this one.
      if (this.session === session) this.forget(session);
    });
    session.once('close', () => {
      if (this.session === session) this.forget(session);
    });
    if (this.pending.size === 0) session.unref();
    return session;
  }

  /** The TCP or TLS socket of a new session, Nagle off (HTTP/2 already batches what it writes). */
  private socket(): Duplex {
    const url = new URL(this.dial.origin);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const tls = this.dial.tls;
    if (tls === undefined) return net.connect({ host, port, noDelay: true });
    const s = tlsConnect({
      host,
      port,
      ALPNProtocols: ['h2'],
      secureContext: tls.secureContext,
      servername: tls.servername === '' ? undefined : tls.servername,
      rejectUnauthorized: tls.rejectUnauthorized,
      // An explicit undefined would replace Node's default check: the key is only set to skip it.
      ...(tls.skipNameCheck ? { checkServerIdentity: () => undefined } : {}),
    });
    s.setNoDelay(true);
    return s;
  }

  private forget(session: ClientHttp2Session): void {
    if (this.session === session) {
      this.session = undefined;
      this.connected = false;
    }
  }

  /** Fails the calls whose deadline passed. */
  private sweep(): void {
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    const now = Date.now();
    for (const p of this.pending)
      if (p.deadline <= now) p.settle(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded', undefined);
  }
}

/**
 * The writing side of a client-streaming call. Messages written in one tick are sent as one DATA write:
 * a burst of events costs one pass through the stream machinery, not one per event.
 */
export class ClientStreamCall<Req> {
  private batch: Buffer[] = [];
  private waiting: Array<(err?: Error) => void> = [];

  constructor(
    private readonly stream: ClientHttp2Stream,
    private readonly serialize: (request: Req) => Buffer,
  ) {}

  /** Writes one message; `done` is called when it is handed to the socket (or with the error). */
  write(request: Req, done: (err?: Error) => void): void {
    let bytes: Buffer;
    try {
      bytes = frame(this.serialize(request));
    } catch (err) {
      done(err as Error);
      return;
    }
    if (this.ended) {
      done(new Error('stream closed'));
      return;
    }
    if (this.batch.length === 0) queueMicrotask(() => this.flush());
    this.batch.push(bytes);
    this.waiting.push(done);
  }

  /** True once the call ended (a new one must be opened). */
  get ended(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  /** Half-closes the call: the server answers and the call ends. */
  end(): void {
    this.flush();
    if (!this.stream.closed) this.stream.end();
  }

  private flush(): void {
    const bufs = this.batch;
    const waiting = this.waiting;
    if (bufs.length === 0) return;
    this.batch = [];
    this.waiting = [];
    const settle = (err?: Error | null) => {
      for (const done of waiting) done(err ?? undefined);
    };
    if (this.ended || this.stream.writableEnded) {
      settle(new Error('stream closed'));
      return;
    }
    this.stream.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs), settle);
  }
}
