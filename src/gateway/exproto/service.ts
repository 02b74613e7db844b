/**
 * What runs while the ExProto gateway runs: the ConnectionAdapter gRPC server handlers call, the client of
 * the user's handler, and the table from connection id to channel that adapter rpcs are routed by. An rpc
 * for a connection is queued in that connection's driver (ctx.callSelf), so it is ordered with the
 * connection's own input, timers and closing.
 */
import { readFileSync } from 'node:fs';
import type { TlsOptions } from 'node:tls';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { Message } from '../../broker/message.js';
import { topicNameError } from '../../broker/topic.js';
import type { QoS } from '../../broker/types.js';
import { GrpcUnaryServer } from '../../transport/grpc-server.js';
import { loadTlsServerOptions } from '../../transport/tls-context.js';
import type { GatewayCommonConfig, GatewayRuntime, GatewayService } from '../types.js';
import { isConnId, mintConnId } from './conn-id.js';
import { HandlerClient } from './handler.js';
import { adapterService, Code, type CodeResponse } from './proto.js';
import type { ExprotoConfig } from './schema.js';

/** The adapter rpcs that name a connection. */
export type ConnRpc =
  | 'Send'
  | 'Close'
  | 'Authenticate'
  | 'StartTimer'
  | 'Publish'
  | 'Subscribe'
  | 'Unsubscribe';

/** Every rpc of the ConnectionAdapter service. */
type AdapterRpc = ConnRpc | 'RawPublish';

/** What a channel registers: it answers adapter rpcs in its connection's queue. */
export interface AdapterTarget {
  /** Queues the rpc behind the connection's input; undefined when the connection is gone. */
  adapterCall(rpc: ConnRpc, request: Record<string, unknown>): Promise<CodeResponse | undefined>;
}

/** Gateway runs by node name: a channel finds its gateway's service through its context's node. */
const running = new Map<string, ExprotoService>();

/** The service of the ExProto gateway running on `node`, if any. */
export function serviceOf(node: string): ExprotoService | undefined {
  return running.get(node);
}

/** The adapter server, whichever implementation runs it. */
interface AdapterServer {
  close(): void;
}

/** What the grpc-js server was given as its receive limit: the http2 server keeps it. */
const MAX_REQUEST = 16 * 1024 * 1024;

const ok: CodeResponse = { code: Code.SUCCESS, message: '' };
const answer = (code: Code, message: string): CodeResponse => ({ code, message });

/** The ExProto gateway's gRPC server, handler client and connection table. */
export class ExprotoService implements GatewayService {
  handler: HandlerClient;
  private server: AdapterServer | undefined;
  private readonly conns = new Map<string, AdapterTarget>();
  private serial = 0;
  private config: ExprotoConfig;

  private constructor(private readonly rt: GatewayRuntime<ExprotoConfig>) {
    this.config = rt.config;
    this.handler = new HandlerClient(rt.config.handler, rt.log);
  }

  /** Starts the adapter server; fails (and the gateway with it) when its address cannot be bound. */
  static async start(rt: GatewayRuntime<ExprotoConfig>): Promise<ExprotoService> {
    const svc = new ExprotoService(rt);
    try {
      await svc.listen();
    } catch (err) {
      svc.handler.close();
      throw err;
    }
    running.set(rt.node, svc);
    return svc;
  }

  /** The port the adapter server listens on (0 before it listens). */
  port = 0;

  /** A new connection: its id. */
  register(target: AdapterTarget): string {
    const id = mintConnId(++this.serial, this.rt.node);
    this.conns.set(id, target);
    return id;
  }

  /** A connection is gone: rpcs naming it answer CONN_PROCESS_NOT_ALIVE from now on. */
  unregister(id: string): void {
    this.conns.delete(id);
  }

  update(config: GatewayCommonConfig): void {
    const next = config as ExprotoConfig;
    const prev = this.config;
    this.config = next;
    if (JSON.stringify(prev.handler) !== JSON.stringify(next.handler)) {
      // New events go to the new handler; the old client finishes nothing more.
      const old = this.handler;
      this.handler = new HandlerClient(next.handler, this.rt.log);
      old.close();
    }
    if (JSON.stringify(prev.server) !== JSON.stringify(next.server)) {
      const old = this.server;
      this.server = undefined;
      old?.close();
      this.listen().catch((err: Error) =>
        this.rt.log.error({ err: err.message }, 'exproto: ConnectionAdapter server cannot listen'),
      );
    }
  }

  async stop(): Promise<void> {
    if (running.get(this.rt.node) === this) running.delete(this.rt.node);
    this.server?.close();
    this.server = undefined;
    this.handler.close();
  }

  private async listen(): Promise<void> {
    const cfg = this.config.server;
    const host = cfg.bind.host || '0.0.0.0';
    const { server, port } =
      cfg.grpc_server === 'grpc-js' ? await this.listenGrpcJs(host) : await this.listenHttp2(host);
    this.server = server;
    this.port = port;
    this.rt.log.info(
      { port: this.port, tls: cfg.ssl_options.enable, grpc_server: cfg.grpc_server },
      'exproto: ConnectionAdapter listening',
    );
  }

  /** Hermod's own gRPC server (transport/grpc-server.ts). */
  private async listenHttp2(host: string): Promise<{ server: AdapterServer; port: number }> {
    const cfg = this.config.server;
    const server = new GrpcUnaryServer({
      tls: cfg.ssl_options.enable ? await adapterTls(cfg.ssl_options) : undefined,
      maxMessageBytes: MAX_REQUEST,
      onConnectionError: (reason, internal) =>
        internal
          ? this.rt.log.error({ err: reason }, 'exproto: ConnectionAdapter internal error, connection closed')
          : this.rt.log.debug(
              { reason },
              'exproto: ConnectionAdapter caller broke HTTP/2, connection closed',
            ),
      // Once a connection: a caller that keeps passing a limit would otherwise flood the log.
      onLimitExceeded: (reason) =>
        this.rt.log.warn({ reason }, 'exproto: ConnectionAdapter call reset to keep a limit'),
    });
    const impl = this.handlers();
    for (const [name, def] of Object.entries(adapterService())) {
      const handle = impl[name as AdapterRpc];
      if (handle === undefined) continue;
      server.add(def.path, {
        deserialize: def.requestDeserialize as (b: Buffer) => Record<string, unknown>,
        serialize: def.responseSerialize as (r: CodeResponse) => Buffer,
        handle,
      });
    }
    try {
      return { server, port: await server.listen(host, cfg.bind.port) };
    } catch (err) {
      server.close();
      throw new Error(`exproto: cannot listen on ${host}:${cfg.bind.port}: ${(err as Error).message}`);
    }
  }

  /** @grpc/grpc-js's Server, kept to compare with (`server.grpc_server = grpc-js`). */
  private async listenGrpcJs(host: string): Promise<{ server: AdapterServer; port: number }> {
    const cfg = this.config.server;
    const server = new Server({ 'grpc.max_receive_message_length': MAX_REQUEST });
    server.addService(adapterService(), this.implementation());
    const target = host.includes(':') ? `[${host}]` : host;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${target}:${cfg.bind.port}`, serverCredentials(cfg.ssl_options), (err, p) =>
        err
          ? reject(new Error(`exproto: cannot listen on ${target}:${cfg.bind.port}: ${err.message}`))
          : resolve(p),
      ),
    );
    return { server: { close: () => server.forceShutdown() }, port };
  }

  /** Every adapter rpc: the request as decoded, the answer as a promise that never rejects. */
  private handlers(): Record<AdapterRpc, (req: Record<string, unknown>) => Promise<CodeResponse>> {
    const settle = (p: Promise<CodeResponse>) => p.catch((err: Error) => answer(Code.UNKNOWN, err.message));
    const forConn = (rpc: ConnRpc) => (req: Record<string, unknown>) => settle(this.dispatch(rpc, req));
    return {
      Send: forConn('Send'),
      Close: forConn('Close'),
      Authenticate: forConn('Authenticate'),
      StartTimer: forConn('StartTimer'),
      Publish: forConn('Publish'),
      Subscribe: forConn('Subscribe'),
      Unsubscribe: forConn('Unsubscribe'),
      RawPublish: (req) => settle(this.rawPublish(req)),
    };
  }

  private implementation(): UntypedServiceImplementation {
    const impl: UntypedServiceImplementation = {};
    for (const [rpc, handle] of Object.entries(this.handlers()))
      impl[rpc] = (
        call: ServerUnaryCall<Record<string, unknown>, CodeResponse>,
        cb: sendUnaryData<CodeResponse>,
      ) => void handle(call.request).then((r) => cb(null, r));
    return impl;
  }

  private async dispatch(rpc: ConnRpc, req: Record<string, unknown>): Promise<CodeResponse> {
    const conn = req.conn;
    if (typeof conn !== 'string' || conn === '')
      return answer(Code.REQUIRED_PARAMS_MISSED, 'conn is required');
    if (!isConnId(conn)) return answer(Code.PARAMS_TYPE_ERROR, 'conn is not a connection id');
    const target = this.conns.get(conn);
    const r = await target?.adapterCall(rpc, req);
    return r ?? answer(Code.CONN_PROCESS_NOT_ALIVE, 'Connection process is not alive');
  }

  /** Publishes as the gateway itself: no client, no mountpoint, no authorization (EMQX's RawPublish). */
  private async rawPublish(req: Record<string, unknown>): Promise<CodeResponse> {
    const topic = req.topic as string;
    const qos = req.qos as number;
    if (topic === '') return answer(Code.REQUIRED_PARAMS_MISSED, 'topic is required');
    if (qos > 2) return answer(Code.PARAMS_TYPE_ERROR, 'qos must be 0, 1 or 2');
    const bad = topicNameError(topic);
    if (bad !== undefined) return answer(Code.PARAMS_TYPE_ERROR, bad);
    await this.rt.publish(new Message(topic, req.payload as Buffer, qos as QoS, 'exproto', false));
    return ok;
  }
}

/** TLS of the http2 adapter server: with verify_peer a caller without a valid certificate is refused. */
async function adapterTls(s: ExprotoConfig['server']['ssl_options']): Promise<TlsOptions> {
  const verify = s.verify === 'verify_peer';
  let opts: TlsOptions;
  try {
    opts = await loadTlsServerOptions({
      certfile: s.certfile,
      keyfile: s.keyfile,
      cacertfile: s.cacertfile === '' ? undefined : s.cacertfile,
      verify: s.verify,
      failIfNoPeerCert: verify,
      versions: s.versions,
      ciphers: s.ciphers,
    });
  } catch (err) {
    throw new Error(`exproto: cannot load server.ssl_options: ${(err as Error).message}`);
  }
  // The handshake itself refuses a bad or missing certificate, as grpc-js's server did.
  return { ...opts, rejectUnauthorized: verify };
}

function serverCredentials(s: ExprotoConfig['server']['ssl_options']): ServerCredentials {
  if (!s.enable) return ServerCredentials.createInsecure();
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`exproto: cannot read server.ssl_options.${what} ${file}: ${(err as Error).message}`);
    }
  };
  const verify = s.verify === 'verify_peer';
  return ServerCredentials.createSsl(
    s.cacertfile !== '' ? read(s.cacertfile, 'cacertfile') : null,
    [{ cert_chain: read(s.certfile, 'certfile'), private_key: read(s.keyfile, 'keyfile') }],
    verify,
  );
}
