/**
 * The HookProvider service read from proto/exhook.proto at run time (no code generation): each rpc's
 * serializers and its gRPC path under both package names Hermod speaks, emqx.exhook.v3 and emqx.exhook.v2.
 * Both have the same field numbers, so one set of serializers serves both paths.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';

/** The proto packages Hermod can call; v3 first, because it is the one tried first. */
export const API_VERSIONS = ['v3', 'v2'] as const;
/** A proto package version: 'v3' (emqx.exhook.v3) or 'v2' (emqx.exhook.v2). */
export type ApiVersion = (typeof API_VERSIONS)[number];

/** The rpc names of service HookProvider. */
export type RpcName =
  | 'OnProviderLoaded'
  | 'OnProviderUnloaded'
  | 'OnClientConnect'
  | 'OnClientConnack'
  | 'OnClientConnected'
  | 'OnClientDisconnected'
  | 'OnClientAuthenticate'
  | 'OnClientAuthorize'
  | 'OnClientSubscribe'
  | 'OnClientUnsubscribe'
  | 'OnSessionCreated'
  | 'OnSessionSubscribed'
  | 'OnSessionUnsubscribed'
  | 'OnSessionResumed'
  | 'OnSessionDiscarded'
  | 'OnSessionTakenover'
  | 'OnSessionTerminated'
  | 'OnMessagePublish'
  | 'OnMessageDelivered'
  | 'OnMessageDropped'
  | 'OnMessageAcked';

/** How to put one rpc on the wire. */
export interface RpcCodec {
  path: Record<ApiVersion, string>;
  serialize: (request: object) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
}

/** Where proto/exhook.proto is: found from this file upwards, so it works from src/ and from dist/src/. */
export function protoPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'proto', 'exhook.proto');
    if (existsSync(candidate) && existsSync(path.join(dir, 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('proto/exhook.proto not found above the exhook module');
    dir = up;
  }
}

/**
 * Decoding options: snake_case field names as in the proto; enums as their names; oneofs tell which
 * member is set (proto3 cannot tell a false bool_result from an absent one otherwise).
 */
export const LOADER_OPTIONS = { keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true };

let codecs: Map<RpcName, RpcCodec> | undefined;

/** The codec of every rpc (loaded once). */
export function rpcCodecs(): Map<RpcName, RpcCodec> {
  if (codecs !== undefined) return codecs;
  const def = loadSync(protoPath(), LOADER_OPTIONS);
  const service = def['emqx.exhook.v3.HookProvider'] as Record<string, MethodDefinition<object, unknown>>;
  if (service === undefined) throw new Error('proto/exhook.proto has no emqx.exhook.v3.HookProvider');
  const out = new Map<RpcName, RpcCodec>();
  for (const [name, m] of Object.entries(service)) {
    out.set(name as RpcName, {
      path: { v3: m.path, v2: m.path.replace('/emqx.exhook.v3.', '/emqx.exhook.v2.') },
      serialize: m.requestSerialize,
      deserialize: m.responseDeserialize,
    });
  }
  codecs = out;
  return out;
}
