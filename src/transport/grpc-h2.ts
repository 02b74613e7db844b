/**
 * A lean gRPC client for the calls Hermod makes on its message path (ExHook hooks, ExProto handler events).
 * One long-lived HTTP/2 connection per server (h2-session.ts, Hermod's own framing over a plain socket)
 * carries every call as its own stream, so calls issued in one turn of the event loop leave in one socket
 * write; the request headers are encoded once per method; no interceptor chain, no per-call metadata
 * objects, no per-call timers (one sweep enforces deadlines). @grpc/grpc-js spends several times more CPU
 * per unary call (call stack of filters, resolving and retrying layers, a timer and metadata per call), and
 * node:http2 alone still cost ~100 µs per call (a Duplex, async-hook bindings and a write per stream): the
 * profiles of bench/exhook.ts showed each to dominate the broker's time in turn.
 *
 * What it implements of the gRPC HTTP/2 protocol: unary and client-streaming requests, length-prefixed
 * uncompressed messages, grpc-timeout, grpc-status and percent-encoded grpc-message in trailers or in a
 * trailers-only response, HTTP statuses mapped to gRPC codes, RST_STREAM codes mapped to gRPC codes, TLS
 * (ALPN h2) with the options of grpc-endpoint.ts, and reconnecting with back-off after a failed connect.
 */
import net from 'node:net';
import { type SecureContext, connect as tlsConnect } from 'node:tls';
import { VERSION } from '../version.js';
import { H2Error, H2Session, type H2Stream, type HeaderList, type StreamSink } from './h2-session.js';
import { encodeIndexed, encodeLiteral } from './hpack.js';

/** gRPC status codes used here (numbers as the protocol defines them). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
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

/** A response larger than this fails the call (RESOURCE_EXHAUSTED): MQTT's largest message and some room. */
const MAX_RESPONSE = 256 * 1024 * 1024 + 64 * 1024;

/** The 5-byte gRPC message prefix (uncompressed) followed by the message. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** grpc-timeout: at most 8 digits, so long timeouts go in seconds. */
function timeoutValue(ms: number): string {
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

/** How a call ends: its status, message and (for OK) the response body. Called once. */
type Settle = (code: number, message: string, body: Buffer | undefined) => void;

/** One call: collects the response headers, DATA and trailers of its stream. */
class Call implements StreamSink {
  session: H2Session | undefined;
  stream: H2Stream | undefined;
  private httpStatus = 0;
  private status: number | undefined;
  private message = '';
  private chunks: Buffer[] | undefined;
  private size = 0;

  constructor(
    private readonly client: H2GrpcClient,
    readonly deadline: number,
    private readonly onSettle: Settle,
  ) {}

  headers(fields: HeaderList, end: boolean): void {
    for (const [name, value] of fields) {
      if (name === ':status') this.httpStatus = Number(value);
      else if (name === 'grpc-status')
        // Anything but a plain decimal code is a broken answer, not OK.
        this.status = /^[0-9]{1,3}$/.test(value) ? Number(value) : GrpcStatus.UNKNOWN;
      else if (name === 'grpc-message') this.message = percentDecode(value);
    }
    if (this.httpStatus !== 200 && this.status === undefined) {
      const code = HTTP_TO_GRPC[this.httpStatus] ?? GrpcStatus.UNKNOWN;
      this.settle(code, `HTTP status ${this.httpStatus}`, undefined);
      return;
    }
    if (end) this.complete();
  }

  data(chunk: Buffer, end: boolean): void {
    if (chunk.length > 0) {
      this.size += chunk.length;
      if (this.size > MAX_RESPONSE) {
        this.settle(GrpcStatus.RESOURCE_EXHAUSTED, 'response too large', undefined);
        return;
      }
      (this.chunks ??= []).push(chunk);
    }
    if (end) this.complete();
  }

  aborted(code: number, reason: string): void {
    if (code === -1) this.settle(GrpcStatus.UNAVAILABLE, `connection lost: ${reason}`, undefined);
    else if (code === H2Error.REFUSED_STREAM)
      this.settle(GrpcStatus.UNAVAILABLE, `stream refused by the server: ${reason}`, undefined);
    else if (code === H2Error.CANCEL)
      this.settle(GrpcStatus.CANCELLED, 'call cancelled by the server', undefined);
    // The gRPC HTTP/2 protocol maps ENHANCE_YOUR_CALM to RESOURCE_EXHAUSTED, whichever side reset.
    else if (code === H2Error.ENHANCE_YOUR_CALM)
      this.settle(GrpcStatus.RESOURCE_EXHAUSTED, reason, undefined);
    else this.settle(GrpcStatus.INTERNAL, reason, undefined);
  }

  private complete(): void {
    if (this.status === undefined) {
      this.settle(GrpcStatus.INTERNAL, 'call ended without a status', undefined);
      return;
    }
    const c = this.chunks;
    this.settle(
      this.status,
      this.message,
      c === undefined ? undefined : c.length === 1 ? c[0] : Buffer.concat(c),
    );
  }

  /** Ends the call (the stream is reset if it still runs). */
  settle(code: number, message: string, body: Buffer | undefined): void {
    if (!this.client.forget(this)) return;
    this.onSettle(code, message, body);
  }
}

/** A gRPC connection to one server. */
export class H2GrpcClient {
  private session: H2Session | undefined;
  private socket: net.Socket | undefined;
  private connected = false;
  private readonly pending = new Set<Call>();
  private sweeper: NodeJS.Timeout | undefined;
  /** After a failed connect: no new attempt before this time (epoch ms). */
  private retryAt = 0;
  private backoff = BACKOFF_MIN;
  private lastError = '';
  private closed = false;
  /** probe() callers waiting for the connection to be made or to fail. */
  private readonly probes = new Set<(ok: boolean) => void>();
  /** Per method path: the request header block, without grpc-timeout (encoded once). */
  private readonly blocks = new Map<string, Buffer>();
  /** The pseudo-header fields before :path, and the regular fields after it (pseudo-headers come first). */
  private readonly pseudoBlock: Buffer;
  private readonly regularBlock: Buffer;

  constructor(private readonly dial: H2Dial) {
    this.pseudoBlock = Buffer.concat([
      encodeIndexed(3), // :method POST
      encodeIndexed(dial.tls === undefined ? 6 : 7), // :scheme http / https
      encodeLiteral(':authority', dial.authority),
    ]);
    this.regularBlock = Buffer.concat([
      encodeLiteral('content-type', 'application/grpc'),
      encodeLiteral('te', 'trailers'),
      encodeLiteral('user-agent', `hermod/${VERSION}`),
    ]);
  }

  /** True once the connection is made (and until it closes). */
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
      this.start(method.path, deadline, bytes, (code, message, body) => {
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
   * Opens a client-streaming call: `write` queues messages (several written in one turn of the event loop
   * leave together); `onEnd` is called once, when the call ends for any reason (OK and the answer after
   * `end`, or the failure).
   */
  clientStream<Req>(
    method: Pick<H2Method<Req, unknown>, 'path' | 'serialize'>,
    onEnd: (code: number, message: string, response: Buffer | undefined) => void,
  ): ClientStreamCall<Req> | CallFailure {
    let failure: CallFailure | undefined;
    const call = this.start(method.path, Number.POSITIVE_INFINITY, undefined, (code, message, body) => {
      if (call === undefined) {
        failure = { ok: false, code, message };
        return;
      }
      const msg = body === undefined ? undefined : unframe(body);
      onEnd(code, message, typeof msg === 'string' ? undefined : msg);
    });
    if (call === undefined || call.stream === undefined || this.session === undefined)
      return failure ?? { ok: false, code: GrpcStatus.UNAVAILABLE, message: this.unavailable() };
    return new ClientStreamCall(this.session, call.stream, method.serialize);
  }

  /** True when the server can be reached before `deadline`: connects (ignoring back-off) if need be. */
  probe(deadline: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.connected && this.session?.usable) return Promise.resolve(true);
    if (this.session === undefined || !this.session.usable) this.connect();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.probes.delete(done);
        resolve(ok);
      };
      this.probes.add(done);
    });
  }

  /** Closes the connection; calls still running fail with CANCELLED. */
  close(): void {
    this.closed = true;
    for (const c of [...this.pending]) c.settle(GrpcStatus.CANCELLED, 'client closed', undefined);
    this.session?.destroy();
    this.session = undefined;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    for (const p of [...this.probes]) p(false);
  }

  /** Takes a call out of the running ones (resetting its stream); false if it was already settled. */
  forget(call: Call): boolean {
    if (!this.pending.delete(call)) return false;
    if (call.stream !== undefined && !call.stream.done) call.session?.cancel(call.stream);
    if (this.pending.size === 0) this.socket?.unref();
    return true;
  }

  private unavailable(): string {
    return this.closed ? 'client closed' : `server unreachable: ${this.lastError}`;
  }

  /** Starts a call; `settle` is called exactly once. Returns the call unless it failed at once. */
  private start(path: string, deadline: number, body: Buffer | undefined, settle: Settle): Call | undefined {
    const left = deadline - Date.now();
    if (left <= 0) {
      settle(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded before the call was made', undefined);
      return undefined;
    }
    const session = this.usableSession();
    if (session === undefined) {
      settle(GrpcStatus.UNAVAILABLE, this.unavailable(), undefined);
      return undefined;
    }
    let block = this.blocks.get(path);
    if (block === undefined) {
      block = Buffer.concat([this.pseudoBlock, encodeLiteral(':path', path), this.regularBlock]);
      this.blocks.set(path, block);
    }
    if (Number.isFinite(deadline))
      block = Buffer.concat([block, encodeLiteral('grpc-timeout', timeoutValue(left))]);
    const call = new Call(this, deadline, settle);
    call.session = session;
    if (this.pending.size === 0) this.socket?.ref();
    this.pending.add(call);
    if (Number.isFinite(deadline) && this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
      this.sweeper.unref();
    }
    call.stream = session.open(call, block, body, body !== undefined);
    return call;
  }

  /** The session to open a stream on: the current one, a new one, or none while backing off. */
  private usableSession(): H2Session | undefined {
    if (this.closed) return undefined;
    if (this.session?.usable) return this.session;
    if (Date.now() < this.retryAt) return undefined;
    return this.connect();
  }

  private connect(): H2Session {
    const socket = this.openSocket();
    this.socket = socket;
    this.connected = false;
    const session: H2Session = new H2Session(socket, {
      ready: () => {
        if (this.session !== session) return;
        this.connected = true;
        this.backoff = BACKOFF_MIN;
        this.retryAt = 0;
        this.lastError = '';
        for (const p of [...this.probes]) p(true);
      },
      draining: () => {
        // New calls go to a new connection; calls in flight finish on this one.
        if (this.session === session) this.session = undefined;
      },
      closed: (error) => {
        if (error !== '') this.lastError = error;
        if (this.session !== session && this.session !== undefined) return;
        if (!this.connected && this.session === session) {
          this.retryAt = Date.now() + this.backoff;
          this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX);
        }
        if (this.session === session) this.session = undefined;
        this.connected = false;
        for (const p of [...this.probes]) p(false);
      },
    });
    this.session = session;
    if (this.pending.size === 0) socket.unref();
    return session;
  }

  /** The TCP or TLS socket of a new connection, Nagle off (the session already batches what it writes). */
  private openSocket(): net.Socket {
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
    s.once('secureConnect', () => {
      if (s.alpnProtocol !== 'h2') s.destroy(new Error('the server did not agree to HTTP/2 (ALPN h2)'));
    });
    return s;
  }

  /** Fails the calls whose deadline passed. */
  private sweep(): void {
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    const now = Date.now();
    for (const c of this.pending)
      if (c.deadline <= now) c.settle(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded', undefined);
  }
}

/** The writing side of a client-streaming call. */
export class ClientStreamCall<Req> {
  constructor(
    private readonly session: H2Session,
    private readonly stream: H2Stream,
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
    if (!this.session.write(this.stream, bytes, false, done)) done(new Error('stream closed'));
  }

  /** True once the call ended (a new one must be opened). */
  get ended(): boolean {
    return this.stream.done || this.stream.localEnded;
  }

  /** Half-closes the call: the server answers and the call ends. */
  end(): void {
    this.session.write(this.stream, Buffer.alloc(0), true);
  }
}
