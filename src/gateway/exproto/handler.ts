/**
 * The client of the user's handler: one gRPC connection (reconnecting with back-off on its own), calls
 * strictly ordered per ExProto connection (one in flight, later events queued behind it, as EMQX does),
 * and the handler's state for the API. Unary calls settle each event; in streaming mode each rpc is one
 * long-lived client stream that events are written to (events written in one tick leave as one write).
 * The calls go through Hermod's own HTTP/2 gRPC client unless `handler.grpc_client = grpc-js`.
 */
import { Client, status } from '@grpc/grpc-js';
import type { ExhookServerConfig } from '../../config/schema/exhook.js';
import type { Logger } from '../../log.js';
import { endpointOf } from '../../transport/grpc-endpoint.js';
import { H2GrpcClient } from '../../transport/grpc-h2.js';
import { type HandlerCodec, type HandlerRpc, handlerCodecs } from './proto.js';
import type { ExprotoConfig } from './schema.js';

/** A gRPC failure: status code and message. */
interface CallError {
  code: number;
  message: string;
}

/** The writing side of a long-lived client stream. */
interface EventStream {
  write(request: object, done: (err?: Error) => void): void;
  end(): void;
}

/** What the handler client needs of a gRPC client library. */
interface HandlerTransport {
  unary(codec: HandlerCodec, request: object, deadline: number, done: (err?: CallError) => void): void;
  /** Opens a client stream; `onEnd` is called once when it ends, with the error if it failed. */
  openStream(codec: HandlerCodec, onEnd: (err?: CallError) => void): EventStream;
  close(): void;
}

/** The handler's endpoint: the ExHook client's rules (http/https, TLS, SNI, reconnect back-off) as they are. */
const endpointOfHandler = (cfg: ExprotoConfig['handler']) =>
  endpointOf({ url: cfg.address, ssl: cfg.ssl_options } as ExhookServerConfig);

/** Hermod's own client: one HTTP/2 session, a stream per call (transport/grpc-h2.ts). */
class H2Transport implements HandlerTransport {
  private readonly client: H2GrpcClient;

  constructor(cfg: ExprotoConfig['handler']) {
    this.client = new H2GrpcClient(endpointOfHandler(cfg).dial);
  }

  unary(codec: HandlerCodec, request: object, deadline: number, done: (err?: CallError) => void): void {
    void this.client.unary(codec, request, deadline).then((r) => done(r.ok ? undefined : r));
  }

  openStream(codec: HandlerCodec, onEnd: (err?: CallError) => void): EventStream {
    const call = this.client.clientStream<object>(codec, (code, message) =>
      onEnd(code === status.OK ? undefined : { code, message }),
    );
    if (!('ok' in call)) return call;
    onEnd(call);
    return { write: (_r, done) => done(new Error(call.message)), end: () => {} };
  }

  close(): void {
    this.client.close();
  }
}

/** @grpc/grpc-js, as before Hermod had its own client (kept to compare with). */
class GrpcJsTransport implements HandlerTransport {
  private readonly client: Client;

  constructor(cfg: ExprotoConfig['handler']) {
    const ep = endpointOfHandler(cfg);
    this.client = new Client(ep.target, ep.credentials, ep.options);
  }

  unary(codec: HandlerCodec, request: object, deadline: number, done: (err?: CallError) => void): void {
    try {
      this.client.makeUnaryRequest(
        codec.path,
        codec.serialize,
        codec.deserialize,
        request,
        { deadline },
        (err) => done(err ? { code: err.code, message: err.details || err.message } : undefined),
      );
    } catch (err) {
      // Serialization errors are thrown synchronously by grpc-js.
      done({ code: status.INTERNAL, message: (err as Error).message });
    }
  }

  openStream(codec: HandlerCodec, onEnd: (err?: CallError) => void): EventStream {
    const stream = this.client.makeClientStreamRequest(
      codec.path,
      codec.serialize,
      codec.deserialize,
      {},
      (err) => onEnd(err ? { code: err.code, message: err.details || err.message } : undefined),
    );
    return {
      write: (request, done) => {
        try {
          stream.write(request, () => done());
        } catch (err) {
          done(err as Error);
        }
      },
      end: () => stream.end(),
    };
  }

  close(): void {
    this.client.close();
  }
}

/** Why a handler call failed, for the log and the connection's close reason. */
export interface HandlerFailure {
  rpc: HandlerRpc;
  /** gRPC status name, e.g. 'UNAVAILABLE', 'DEADLINE_EXCEEDED'. */
  status: string;
  message: string;
}

/** One queued event. */
interface Job {
  rpc: HandlerRpc;
  request: object;
  /** Called when the handler took the event. */
  done?: () => void;
  /** Called when it did not (the caller closes the connection). */
  failed?: (f: HandlerFailure) => void;
}

/** What GET /api/v5/gateways/exproto/handler shows. */
export interface HandlerState {
  address: string;
  service_name: string;
  /** 'connected' after a call succeeded, 'disconnected' after one failed, 'connecting' before either. */
  status: 'connecting' | 'connected' | 'disconnected';
  last_error: string | null;
  calls: { succeeded: number; failed: number };
}

/** Failures are logged at most this often: a dead handler under load would flood the log. */
const FAILURE_LOG_INTERVAL = 5000;

/** The handler as the gateway calls it. */
export class HandlerClient {
  private readonly client: HandlerTransport;
  private readonly codecs: Map<HandlerRpc, HandlerCodec>;
  /** Pending events per ExProto connection; the head is the one in flight. */
  private readonly queues = new Map<string, Job[]>();
  private readonly streams = new Map<HandlerRpc, EventStream>();
  private readonly state: HandlerState;
  private lastFailureLog = 0;
  private closed = false;

  /** Throws with a readable message when the address or a certificate file is unusable. */
  constructor(
    private readonly cfg: ExprotoConfig['handler'],
    private readonly log: Logger,
  ) {
    this.client = cfg.grpc_client === 'grpc-js' ? new GrpcJsTransport(cfg) : new H2Transport(cfg);
    this.codecs = handlerCodecs(cfg.service_name);
    this.state = {
      address: cfg.address,
      service_name: cfg.service_name,
      status: 'connecting',
      last_error: null,
      calls: { succeeded: 0, failed: 0 },
    };
  }

  /** The handler's state for the API. */
  snapshot(): HandlerState {
    return { ...this.state, calls: { ...this.state.calls } };
  }

  /** Queues an event of connection `conn` behind its earlier ones. */
  send(conn: string, job: Job): void {
    if (this.closed) {
      job.failed?.({ rpc: job.rpc, status: 'CANCELLED', message: 'gateway stopping' });
      return;
    }
    const q = this.queues.get(conn);
    if (q !== undefined) {
      q.push(job);
      return;
    }
    this.queues.set(conn, [job]);
    this.run(conn, job);
  }

  /** Drops a connection's events still waiting (the one in flight settles on its own). */
  forget(conn: string): void {
    const q = this.queues.get(conn);
    if (q !== undefined) q.length = Math.min(q.length, 1);
  }

  private run(conn: string, job: Job): void {
    const next = (): void => {
      const q = this.queues.get(conn);
      q?.shift();
      if (q === undefined || q.length === 0) {
        this.queues.delete(conn);
        return;
      }
      this.run(conn, q[0]!);
    };
    this.call(job, (failure) => {
      if (failure === undefined) {
        this.state.calls.succeeded++;
        this.state.status = 'connected';
        job.done?.();
      } else {
        this.state.calls.failed++;
        this.state.status = 'disconnected';
        this.state.last_error = `${failure.rpc}: ${failure.status} ${failure.message}`;
        this.logFailure(failure);
        job.failed?.(failure);
      }
      next();
    });
  }

  private call(job: Job, settle: (f: HandlerFailure | undefined) => void): void {
    const codec = this.codecs.get(job.rpc)!;
    if (this.cfg.service_name === 'ConnectionHandler') {
      this.write(job, codec, settle);
      return;
    }
    this.client.unary(codec, job.request, Date.now() + this.cfg.request_timeout, (err) =>
      settle(err ? failureOf(job.rpc, err.code, err.message) : undefined),
    );
  }

  /** Streaming mode: the event is written to the rpc's long-lived stream, reopened after it failed. */
  private write(job: Job, codec: HandlerCodec, settle: (f: HandlerFailure | undefined) => void): void {
    let stream = this.streams.get(job.rpc);
    if (stream === undefined) {
      let failedAtOnce = false;
      const opened = this.client.openStream(codec, (err) => {
        failedAtOnce = true;
        if (this.streams.get(job.rpc) === opened) this.streams.delete(job.rpc);
        if (err && !this.closed) {
          this.state.status = 'disconnected';
          this.state.last_error = `${job.rpc}: ${status[err.code]} ${err.message}`;
          this.logFailure(failureOf(job.rpc, err.code, err.message));
        }
      });
      stream = opened;
      // A stream that failed at once is not kept: the next event opens a new one.
      if (!failedAtOnce) this.streams.set(job.rpc, stream);
    }
    stream.write(job.request, (err) =>
      settle(err ? failureOf(job.rpc, status.UNAVAILABLE, err.message) : undefined),
    );
  }

  private logFailure(f: HandlerFailure): void {
    const now = Date.now();
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL) return;
    this.lastFailureLog = now;
    this.log.warn(
      { handler: this.cfg.address, rpc: f.rpc, status: f.status, error: f.message },
      'exproto: handler call failed; its connection is closed (further failures within 5s not logged)',
    );
  }

  /** Ends the streams and the gRPC connection; queued events are dropped. */
  close(): void {
    this.closed = true;
    for (const s of this.streams.values()) s.end();
    this.streams.clear();
    this.queues.clear();
    this.client.close();
  }
}

function failureOf(rpc: HandlerRpc, code: number, message: string): HandlerFailure {
  return { rpc, status: status[code] ?? String(code), message };
}
