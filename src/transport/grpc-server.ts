/**
 * A lean gRPC server for unary methods (the ExProto ConnectionAdapter that handlers call back), over
 * Hermod's own HTTP/2 server framing (h2-server.ts) on a plain net or tls listener. @grpc/grpc-js's Server
 * spends 100–200 µs of CPU per call on its stream objects, metadata, interceptors and a timer per call; here
 * a call is one object that collects its DATA, the response header blocks are encoded once for the server,
 * deadlines are swept by one timer, and every frame of a turn leaves in one socket write.
 *
 * What it implements of the gRPC HTTP/2 protocol: POST with content-type application/grpc (else HTTP 405 /
 * 415), one length-prefixed uncompressed request message (a compressed one, or a grpc-encoding other than
 * identity, is UNIMPLEMENTED as the protocol asks), grpc-timeout (DEADLINE_EXCEEDED when the method has not
 * answered by then), size limits (RESOURCE_EXHAUSTED as soon as the prefix announces more, or when the
 * header list is over its limit), unknown methods (UNIMPLEMENTED), undecodable messages (INVALID_ARGUMENT),
 * and the answer as headers, one DATA message and trailers with grpc-status and a percent-encoded
 * grpc-message (trailers-only for a failure). TLS (ALPN h2) with client certificates comes from the caller's
 * tls options.
 */
import net from 'node:net';
import tls, { type TlsOptions } from 'node:tls';
import { GrpcStatus, frame as grpcFrame } from './grpc-h2.js';
import type { HeaderList } from './h2-frame.js';
import { H2ServerConnection, type H2ServerStream, type ServerStreamSink } from './h2-server.js';
import { encodeIndexed, encodeLiteral } from './hpack.js';

/** A unary method: how to read its request, write its response, and answer. */
export interface UnaryMethod<Req, Res> {
  deserialize: (bytes: Buffer) => Req;
  serialize: (response: Res) => Buffer;
  /** Resolves with the response; rejects with a GrpcError for a status, any other error is UNKNOWN. */
  handle: (request: Req) => Promise<Res>;
}

/** A failure a method answers with its own gRPC status. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface GrpcServerOptions {
  /** Serve TLS with these options (certificates, requestCert/rejectUnauthorized, versions); ALPN is h2. */
  tls?: TlsOptions;
  /** The largest request message (bytes): more is RESOURCE_EXHAUSTED. Default 16 MiB. */
  maxMessageBytes?: number;
  /** Streams one connection may have open (announced in SETTINGS). Default 1000. */
  maxConcurrentStreams?: number;
  /**
   * The largest request header list (names, values and 32 bytes a field, announced in SETTINGS): a call
   * over it fails with RESOURCE_EXHAUSTED, the connection stays. Default 16 KiB.
   */
  maxHeaderListBytes?: number;
  /**
   * Request bytes one connection may hold for calls whose request is not complete yet before its flow
   * control window is held back (so at most this plus the 16 MiB window); a peer that uses that window up
   * too has the call holding the most reset (ENHANCE_YOUR_CALM, RESOURCE_EXHAUSTED to a gRPC client).
   * Default 32 MiB.
   */
  maxConnectionBufferBytes?: number;
  /** Told about connections closed for a protocol error and about internal errors (for the log). */
  onConnectionError?: (reason: string, internal: boolean) => void;
  /** Told the first time a connection's call is failed to keep a limit (once a connection: a peer may repeat). */
  onLimitExceeded?: (reason: string) => void;
}

/** Counters for tests and the log. */
export interface GrpcServerStats {
  /** Connections open now. */
  connections: number;
  calls: number;
  /** Connections closed with GOAWAY because the peer broke HTTP/2. */
  protocolErrors: number;
  /** Bugs of this side that surfaced on a connection (which was destroyed). */
  internalErrors: number;
  /** Calls reset because their connection held too many bytes of incomplete requests (see above). */
  bufferLimitResets: number;
  /** Calls failed because their header list (or trailers) was over maxHeaderListBytes. */
  oversizeHeaderLists: number;
}

/** Method with its types erased: the server only moves bytes and values between its three functions. */
type AnyMethod = UnaryMethod<unknown, unknown>;

/** Deadlines are checked this often while calls with a grpc-timeout run. */
const SWEEP_MS = 20;
const TIMEOUT_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

const RESPONSE_HEADERS = Buffer.concat([
  encodeIndexed(8), // :status 200
  encodeLiteral('content-type', 'application/grpc'),
]);
const TRAILERS_OK = encodeLiteral('grpc-status', '0');

/** grpc-message is percent-encoded UTF-8 (the gRPC HTTP/2 protocol), printable ASCII but '%' kept. */
function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  return out;
}

/** A trailers-only answer: the call failed with this status. */
function failureBlock(code: number, message: string): Buffer {
  return Buffer.concat([
    RESPONSE_HEADERS,
    encodeLiteral('grpc-status', String(code)),
    encodeLiteral('grpc-message', percentEncode(message)),
  ]);
}

/** A plain HTTP answer for requests that are not gRPC at all. */
function httpStatusBlock(status: number): Buffer {
  return encodeLiteral(':status', String(status));
}

/** The sink of a stream answered at once: the rest of its request does not matter. */
const IGNORE: ServerStreamSink = { data: () => {}, aborted: () => {} };

/** Milliseconds from a grpc-timeout value, or undefined when it is malformed (the header is then ignored). */
function parseTimeout(v: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  return m === null ? undefined : Number(m[1]) * TIMEOUT_UNITS[m[2]!]!;
}

/** One call: collects its request message, runs the method, answers once. */
class Call implements ServerStreamSink {
  deadline = Number.POSITIVE_INFINITY;
  private chunks: Buffer[] = [];
  private size = 0;
  /** The announced message length once the 5-byte prefix is in, else -1. */
  private length = -1;
  private over = false;

  constructor(
    private readonly server: GrpcUnaryServer,
    private readonly conn: H2ServerConnection,
    private readonly stream: H2ServerStream,
    private readonly method: AnyMethod,
    private readonly maxMessage: number,
  ) {}

  data(chunk: Buffer, end: boolean): void {
    if (this.over) return;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      if (this.length < 0 && this.size >= 5 && !this.readPrefix()) return;
      if (this.length >= 0 && this.size > 5 + this.length) {
        this.fail(GrpcStatus.UNIMPLEMENTED, 'more than one request message on a unary method');
        return;
      }
    }
    if (end) this.run();
  }

  aborted(): void {
    this.over = true;
    this.server.untrack(this);
  }

  /** Fails the call (trailers-only), unless it is over. */
  fail(code: number, message: string): void {
    if (this.over) return;
    this.over = true;
    this.server.untrack(this);
    this.conn.sendHeaders(this.stream, failureBlock(code, message), true);
  }

  private readPrefix(): boolean {
    const head = this.chunks[0]!.length >= 5 ? this.chunks[0]! : Buffer.concat(this.chunks);
    if (head[0] !== 0) {
      this.fail(GrpcStatus.UNIMPLEMENTED, 'compressed request message: no compression was negotiated');
      return false;
    }
    this.length = head.readUInt32BE(1);
    if (this.length > this.maxMessage) {
      this.fail(
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request message of ${this.length} bytes is larger than the limit of ${this.maxMessage}`,
      );
      return false;
    }
    return true;
  }

  private run(): void {
    if (this.length < 0 || this.size < 5 + this.length) {
      this.fail(
        GrpcStatus.INTERNAL,
        this.size === 0 ? 'request has no message' : 'request message is truncated',
      );
      return;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    let request: unknown;
    try {
      request = this.method.deserialize(all.subarray(5));
    } catch (err) {
      this.fail(GrpcStatus.INVALID_ARGUMENT, `cannot decode the request: ${(err as Error).message}`);
      return;
    }
    let answer: Promise<unknown>;
    try {
      answer = this.method.handle(request);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (response) => this.reply(response),
      (err: unknown) =>
        err instanceof GrpcError
          ? this.fail(err.code, err.message)
          : this.fail(GrpcStatus.UNKNOWN, String(err)),
    );
  }

  private reply(response: unknown): void {
    if (this.over) return;
    let bytes: Buffer;
    try {
      bytes = grpcFrame(this.method.serialize(response));
    } catch (err) {
      this.fail(GrpcStatus.INTERNAL, `cannot encode the response: ${(err as Error).message}`);
      return;
    }
    this.over = true;
    this.server.untrack(this);
    this.conn.sendHeaders(this.stream, RESPONSE_HEADERS, false);
    this.conn.sendData(this.stream, bytes, false);
    this.conn.sendHeaders(this.stream, TRAILERS_OK, true);
  }
}

/** A gRPC server of unary methods. */
export class GrpcUnaryServer {
  readonly stats: GrpcServerStats = {
    connections: 0,
    calls: 0,
    protocolErrors: 0,
    internalErrors: 0,
    bufferLimitResets: 0,
    oversizeHeaderLists: 0,
  };
  private readonly methods = new Map<string, AnyMethod>();
  private readonly conns = new Set<H2ServerConnection>();
  private readonly timed = new Set<Call>();
  private sweeper: NodeJS.Timeout | undefined;
  private listener: net.Server | undefined;
  private readonly maxMessage: number;
  private readonly maxStreams: number;
  private readonly maxBuffered: number;
  private readonly maxHeaderList: number;

  constructor(private readonly options: GrpcServerOptions = {}) {
    this.maxMessage = options.maxMessageBytes ?? 16 * 1024 * 1024;
    this.maxStreams = options.maxConcurrentStreams ?? 1000;
    this.maxBuffered = options.maxConnectionBufferBytes ?? 32 * 1024 * 1024;
    this.maxHeaderList = options.maxHeaderListBytes ?? 16 * 1024;
  }

  /** Serves a unary method at `path` (/package.Service/Method). */
  add<Req, Res>(path: string, method: UnaryMethod<Req, Res>): void {
    this.methods.set(path, method as unknown as AnyMethod);
  }

  /** Listens; resolves with the port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    const onSocket = (socket: net.Socket) => this.accept(socket);
    const server =
      this.options.tls === undefined
        ? net.createServer({ noDelay: true }, onSocket)
        : tls.createServer({ ...this.options.tls, ALPNProtocols: ['h2'] }, onSocket);
    // A failed handshake (no client certificate, not TLS) concerns that peer only.
    server.on('tlsClientError', () => {});
    this.listener = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops listening and closes every connection at once (calls in flight are dropped). */
  close(): void {
    this.listener?.close();
    this.listener = undefined;
    for (const c of [...this.conns]) c.destroy();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.timed.clear();
  }

  /** A call is over: its deadline no longer matters. */
  untrack(call: Call): void {
    if (call.deadline !== Number.POSITIVE_INFINITY) this.timed.delete(call);
  }

  private accept(socket: net.Socket): void {
    if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2' && socket.alpnProtocol !== false) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.stats.connections++;
    let limitTold = false;
    const limited = (kind: 'buffer' | 'headers', reason: string) => {
      if (kind === 'buffer') this.stats.bufferLimitResets++;
      else this.stats.oversizeHeaderLists++;
      if (limitTold) return;
      limitTold = true;
      this.options.onLimitExceeded?.(reason);
    };
    const conn: H2ServerConnection = new H2ServerConnection(
      socket,
      {
        maxConcurrentStreams: this.maxStreams,
        maxHeaderListSize: this.maxHeaderList,
        // No window larger than the cap: what a connection may hold stays within twice the cap.
        streamWindow: Math.min(1024 * 1024, this.maxBuffered),
        connWindow: Math.min(16 * 1024 * 1024, this.maxBuffered),
        maxBufferedBytes: this.maxBuffered,
        prefaceTimeout: 10_000,
      },
      {
        request: (stream, headers) => this.request(conn, stream, headers),
        requestTooLarge: (stream) => {
          limited('headers', `request header list larger than ${this.maxHeaderList} bytes`);
          conn.sendHeaders(
            stream,
            failureBlock(
              GrpcStatus.RESOURCE_EXHAUSTED,
              `request header list is larger than the limit of ${this.maxHeaderList} bytes`,
            ),
            true,
          );
          return IGNORE;
        },
        limited: (kind, reason) => limited(kind, reason),
        closed: (reason, protocolError) => {
          this.conns.delete(conn);
          this.stats.connections--;
          if (protocolError) {
            this.stats.protocolErrors++;
            this.options.onConnectionError?.(reason, false);
          }
        },
        internalError: (err) => {
          this.stats.internalErrors++;
          this.options.onConnectionError?.(err.stack ?? err.message, true);
        },
      },
    );
    this.conns.add(conn);
  }

  private request(conn: H2ServerConnection, stream: H2ServerStream, headers: HeaderList): ServerStreamSink {
    let method = '';
    let path = '';
    let contentType = '';
    let timeout: string | undefined;
    let encoding = 'identity';
    for (const [name, value] of headers) {
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === 'content-type') contentType = value;
      else if (name === 'grpc-timeout') timeout = value;
      else if (name === 'grpc-encoding') encoding = value;
    }
    if (method !== 'POST' || !contentType.startsWith('application/grpc')) {
      conn.sendHeaders(stream, httpStatusBlock(method !== 'POST' ? 405 : 415), true);
      return IGNORE;
    }
    this.stats.calls++;
    const m = this.methods.get(path);
    if (m === undefined || encoding !== 'identity') {
      const why = m === undefined ? `unknown method ${path}` : `grpc-encoding ${encoding} is not supported`;
      conn.sendHeaders(stream, failureBlock(GrpcStatus.UNIMPLEMENTED, why), true);
      return IGNORE;
    }
    const call = new Call(this, conn, stream, m, this.maxMessage);
    const ms = timeout === undefined ? undefined : parseTimeout(timeout);
    if (ms !== undefined) {
      call.deadline = Date.now() + ms;
      this.timed.add(call);
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    }
    return call;
  }

  private sweep(): void {
    if (this.timed.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      return;
    }
    const now = Date.now();
    for (const c of [...this.timed])
      if (c.deadline <= now) c.fail(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded');
  }
}
