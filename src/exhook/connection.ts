/**
 * The pool of gRPC connections to one ExHook server (`pool_size` of them). A client's calls always use the
 * same connection (picked by a hash of its key, as EMQX picks a pool worker by client id).
 */
import { Client, status } from '@grpc/grpc-js';
import type { ExhookServerConfig } from '../config/schema/exhook.js';
import { endpointOf } from '../transport/grpc-endpoint.js';
import { type ApiVersion, type RpcName, rpcCodecs } from './proto.js';

/** The outcome of one call. */
export type CallResult = { ok: true; response: unknown } | { ok: false; code: number; message: string };

/** FNV-1a: a stable, cheap spread of client ids over the pool. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The gRPC connections to one server, and calls over them. */
export class ProviderConnection {
  private readonly clients: Client[] = [];
  private readonly codecs = rpcCodecs();

  /** Throws when the url or a certificate file is unusable. */
  constructor(cfg: ExhookServerConfig) {
    const ep = endpointOf(cfg);
    for (let i = 0; i < cfg.pool_size; i++)
      this.clients.push(new Client(ep.target, ep.credentials, ep.options));
  }

  /** Calls `rpc` on the connection of `key`; settles by `deadline` (epoch ms) at the latest. */
  call(
    rpc: RpcName,
    version: ApiVersion,
    request: object,
    key: string,
    deadline: number,
  ): Promise<CallResult> {
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

  /** True when every connection of the pool is (or becomes) ready before `deadline`. */
  async probe(deadline: number): Promise<boolean> {
    const ready = await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<boolean>((resolve) => c.waitForReady(deadline, (err) => resolve(err === undefined))),
      ),
    );
    return ready.every(Boolean);
  }

  /** Closes every connection (calls still running fail). */
  close(): void {
    for (const c of this.clients) c.close();
  }
}
