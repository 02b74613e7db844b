/**
 * The gRPC connection(s) to one ExHook server. By default (`grpc_client = http2`) one HTTP/2 session of
 * Hermod's own client carries every call; with `grpc_client = grpc-js` a pool of `pool_size` @grpc/grpc-js
 * clients does, a client's calls always on the same one (picked by a hash of its key, as EMQX picks a pool
 * worker by client id). Per-client ordering does not depend on either: the server's KeyedQueue keeps one
 * call per client in flight.
 */
import { Client, status } from '@grpc/grpc-js';
import type { ExhookServerConfig } from '../config/schema/exhook.js';
import { endpointOf } from '../transport/grpc-endpoint.js';
import { H2GrpcClient, type UnaryResult } from '../transport/grpc-h2.js';
import { type ApiVersion, type RpcName, rpcCodecs } from './proto.js';

/** The outcome of one call. */
export type CallResult = UnaryResult;

/** What a call names: the rpc, the proto version, the request, the client's key, the deadline (epoch ms). */
type CallArgs = [rpc: RpcName, version: ApiVersion, request: object, key: string, deadline: number];

/** Calls to one server, whichever client makes them. */
export interface ProviderConnection {
  /** Calls `rpc` (for the client `key`); settles by `deadline` (epoch ms) at the latest, never rejects. */
  call(...args: CallArgs): Promise<CallResult>;
  /** True when the server is (or becomes) reachable before `deadline`. */
  probe(deadline: number): Promise<boolean>;
  /** Closes the connection(s); calls still running fail. */
  close(): void;
}

/** The connection for a server's config; throws when the url or a certificate file is unusable. */
export function connectProvider(cfg: ExhookServerConfig): ProviderConnection {
  return cfg.grpc_client === 'grpc-js' ? new GrpcJsConnection(cfg) : new H2Connection(cfg);
}

/** One HTTP/2 session, many concurrent streams (transport/grpc-h2.ts). */
class H2Connection implements ProviderConnection {
  private readonly client: H2GrpcClient;
  private readonly codecs = rpcCodecs();

  constructor(cfg: ExhookServerConfig) {
    this.client = new H2GrpcClient(endpointOf(cfg).dial);
  }

  call(...[rpc, version, request, , deadline]: CallArgs): Promise<CallResult> {
    return this.client.unary(this.codecs.get(rpc)![version], request, deadline);
  }

  probe(deadline: number): Promise<boolean> {
    return this.client.probe(deadline);
  }

  close(): void {
    this.client.close();
  }
}

/** FNV-1a: a stable, cheap spread of client ids over the pool. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `pool_size` @grpc/grpc-js clients (kept to compare with, and as a fallback). */
class GrpcJsConnection implements ProviderConnection {
  private readonly clients: Client[] = [];
  private readonly codecs = rpcCodecs();

  /** Throws when the url or a certificate file is unusable. */
  constructor(cfg: ExhookServerConfig) {
    const ep = endpointOf(cfg);
    for (let i = 0; i < cfg.pool_size; i++)
      this.clients.push(new Client(ep.target, ep.credentials, ep.options));
  }

  call(...[rpc, version, request, key, deadline]: CallArgs): Promise<CallResult> {
    const codec = this.codecs.get(rpc)![version];
    const client = this.clients[hashKey(key) % this.clients.length]!;
    return new Promise((resolve) => {
      try {
        client.makeUnaryRequest(
          codec.path,
          codec.serialize,
          codec.deserialize,
          request,
          { deadline },
          (err, response) => {
            if (err)
              resolve({ ok: false, code: err.code ?? status.UNKNOWN, message: err.details || err.message });
            else resolve({ ok: true, response });
          },
        );
      } catch (err) {
        // Serialization errors (a bad field value) are thrown synchronously by grpc-js.
        resolve({ ok: false, code: status.INTERNAL, message: (err as Error).message });
      }
    });
  }

  async probe(deadline: number): Promise<boolean> {
    const ready = await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<boolean>((resolve) => c.waitForReady(deadline, (err) => resolve(err === undefined))),
      ),
    );
    return ready.every(Boolean);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
