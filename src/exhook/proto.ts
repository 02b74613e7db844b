/**
 * The HookProvider service read from the .proto files at run time (no code generation): each rpc's
 * serializers and its gRPC path under every package name Hermod speaks. emqx.exhook.v3 and emqx.exhook.v2
 * share field numbers, so proto/exhook.proto serves both; emqx.exhook.v1 (EMQX 4.x) differs in rpc names,
 * enum numbers and some fields, so it has its own file, proto/exhook_v1.proto.
 */
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { packageFile } from '../package-file.js';
import { encodePublishRequest } from './publish-codec.js';
import type { RpcName } from './wire.js';

export type { RpcName } from './wire.js';

/** The proto packages Hermod can call, in the order they are tried. */
export const API_VERSIONS = ['v3', 'v2', 'v1'] as const;
/** A proto package version: 'v3' (emqx.exhook.v3), 'v2' (emqx.exhook.v2) or 'v1' (emqx.exhook.v1, EMQX 4.x). */
export type ApiVersion = (typeof API_VERSIONS)[number];

/** How to put one rpc of one proto version on the wire. */
export interface RpcCodec {
  path: string;
  serialize: (request: object) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
}

/** The v1 rpcs whose names differ from v2/v3. */
const V1_RPC_NAMES: Partial<Record<RpcName, string>> = {
  OnClientAuthorize: 'OnClientCheckAcl',
  OnSessionTakenover: 'OnSessionTakeovered',
};

/** Where proto/<file> is: found from this file upwards, so it works from src/ and from dist/src/. */
export function protoPath(file = 'exhook.proto'): string {
  return packageFile('proto', file);
}

/**
 * Decoding options: snake_case field names as in the proto; enums as their names; oneofs tell which
 * member is set (proto3 cannot tell a false bool_result from an absent one otherwise).
 */
export const LOADER_OPTIONS = { keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true };

type Service = Record<string, MethodDefinition<object, unknown>>;

function loadService(file: string, name: string): Service {
  const service = loadSync(protoPath(file), LOADER_OPTIONS)[name] as Service | undefined;
  if (service === undefined) throw new Error(`proto/${file} has no ${name}`);
  return service;
}

function codecOf(m: MethodDefinition<object, unknown>, pathName: string): RpcCodec {
  return { path: pathName, serialize: m.requestSerialize, deserialize: m.responseDeserialize };
}

let codecs: Map<RpcName, Record<ApiVersion, RpcCodec>> | undefined;

/** The codec of every rpc in every version (loaded once). */
export function rpcCodecs(): Map<RpcName, Record<ApiVersion, RpcCodec>> {
  if (codecs !== undefined) return codecs;
  const current = loadService('exhook.proto', 'emqx.exhook.v3.HookProvider');
  const v1 = loadService('exhook_v1.proto', 'emqx.exhook.v1.HookProvider');
  const out = new Map<RpcName, Record<ApiVersion, RpcCodec>>();
  for (const [name, m] of Object.entries(current)) {
    const rpc = name as RpcName;
    const old = v1[V1_RPC_NAMES[rpc] ?? rpc];
    if (old === undefined) throw new Error(`proto/exhook_v1.proto has no rpc for ${rpc}`);
    const codec: Record<ApiVersion, RpcCodec> = {
      v3: codecOf(m, m.path),
      v2: codecOf(m, m.path.replace('/emqx.exhook.v3.', '/emqx.exhook.v2.')),
      v1: codecOf(old, old.path),
    };
    // The one request sent per message gets the hand-written encoder (publish-codec.ts says why).
    if (rpc === 'OnMessagePublish') {
      codec.v3.serialize = encodePublishRequest;
      codec.v2.serialize = encodePublishRequest;
    }
    out.set(rpc, codec);
  }
  codecs = out;
  return out;
}
