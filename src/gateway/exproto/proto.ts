/**
 * proto/exproto.proto read at run time (no code generation): the ConnectionAdapter service definition the
 * gateway serves, and the serializers and paths of the handler rpcs it calls.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { packageFile } from '../../package-file.js';

/** The ExProto result codes (ResultCode). */
export enum Code {
  SUCCESS = 0,
  UNKNOWN = 1,
  CONN_PROCESS_NOT_ALIVE = 2,
  REQUIRED_PARAMS_MISSED = 3,
  PARAMS_TYPE_ERROR = 4,
  PERMISSION_DENY = 5,
}

/** CodeResponse. */
export interface CodeResponse {
  code: Code;
  message: string;
}

/** The rpcs of a handler service. */
export type HandlerRpc =
  | 'OnSocketCreated'
  | 'OnSocketClosed'
  | 'OnReceivedBytes'
  | 'OnTimerTimeout'
  | 'OnReceivedMessages';

/** How to put one handler rpc on the wire. */
export interface HandlerCodec {
  path: string;
  serialize: (request: object) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
}

/** The handler service flavours: unary (EMQX's default since 5.0.25) or client streaming. */
export type HandlerService = 'ConnectionUnaryHandler' | 'ConnectionHandler';

/** snake_case names as in the proto, enums as names, 64-bit numbers as JS numbers, absent fields as defaults. */
const LOADER_OPTIONS = { keepCase: true, enums: String, longs: Number, defaults: true };

interface Loaded {
  adapter: ServiceDefinition;
  handlers: Record<HandlerService, Map<HandlerRpc, HandlerCodec>>;
}

let loaded: Loaded | undefined;

/** Where proto/exproto.proto is: found from this file upwards, so it works from src/ and from dist/src/. */
export function exprotoProtoPath(): string {
  return packageFile('proto', 'exproto.proto');
}

function load(): Loaded {
  if (loaded !== undefined) return loaded;
  const def = loadSync(exprotoProtoPath(), LOADER_OPTIONS);
  const service = (name: string) => {
    const s = def[`emqx.exproto.v1.${name}`];
    if (s === undefined) throw new Error(`proto/exproto.proto has no emqx.exproto.v1.${name}`);
    return s as Record<string, MethodDefinition<object, unknown>>;
  };
  const codecs = (name: HandlerService) =>
    new Map(
      Object.entries(service(name)).map(([rpc, m]) => [
        rpc as HandlerRpc,
        { path: m.path, serialize: m.requestSerialize, deserialize: m.responseDeserialize },
      ]),
    );
  loaded = {
    adapter: service('ConnectionAdapter') as unknown as ServiceDefinition,
    handlers: {
      ConnectionUnaryHandler: codecs('ConnectionUnaryHandler'),
      ConnectionHandler: codecs('ConnectionHandler'),
    },
  };
  return loaded;
}

/** The ConnectionAdapter service definition (for grpc-js Server.addService). */
export function adapterService(): ServiceDefinition {
  return load().adapter;
}

/** The codecs of one handler service's rpcs. */
export function handlerCodecs(service: HandlerService): Map<HandlerRpc, HandlerCodec> {
  return load().handlers[service];
}
