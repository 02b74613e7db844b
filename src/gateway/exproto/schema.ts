/** `gateway.exproto { ... }`: the ExProto gateway's config (EMQX 5.8 keys and defaults, plus one Hermod key). */
import type { StaticDecode } from '@sinclair/typebox';
import { ExhookServerSchema } from '../../config/schema/exhook.js';
import { Bind, Bool, Duration, Enum, Section, Str } from '../../config/schema/fields.js';
import {
  type GatewayCommonConfig,
  GatewayEntry,
  gatewayCommonFields,
  gatewayListeners,
} from '../../config/schema/gateway-common.js';
import type { GatewayDescriptor } from '../types.js';

const ServerSsl = Section(
  {
    enable: Bool(false, 'Serve the ConnectionAdapter over TLS.'),
    cacertfile: Str('', 'PEM file of the CA certificates that verify handler client certificates.'),
    certfile: Str('', 'PEM file of the server certificate chain.'),
    keyfile: Str('', 'PEM file of the server private key.'),
    verify: Enum(['verify_peer', 'verify_none'], 'verify_none', 'Ask handlers for a client certificate.'),
    fail_if_no_peer_cert: Bool(
      false,
      'Kept for compatibility: with verify_peer a handler must always present a certificate.',
    ),
    versions: ExhookServerSchema.properties.ssl.properties.versions,
    ciphers: ExhookServerSchema.properties.ssl.properties.ciphers,
    depth: ExhookServerSchema.properties.ssl.properties.depth,
  },
  'TLS of the ConnectionAdapter server.',
);

const Server = Section(
  {
    bind: Bind('0.0.0.0:9100', {
      description: 'Address of the ConnectionAdapter gRPC server handlers call.',
    }),
    ssl_options: ServerSsl,
    grpc_server: Enum(
      ['http2', 'grpc-js'],
      'http2',
      "The gRPC server handlers call. http2 = Hermod's own server, its own HTTP/2 framing over a plain socket (about a third of grpc-js's broker CPU per call, see bench/exproto.ts); grpc-js = @grpc/grpc-js's Server, kept to compare with.",
      { hermod: true },
    ),
  },
  'The ConnectionAdapter gRPC server the gateway runs.',
);

const Handler = Section(
  {
    address: Str(
      'http://127.0.0.1:9001',
      "The handler's gRPC address, http:// or https://, e.g. http://127.0.0.1:9001.",
    ),
    service_name: Enum(
      ['ConnectionUnaryHandler', 'ConnectionHandler'],
      'ConnectionUnaryHandler',
      'The handler service: unary calls (default) or the older client-streaming ConnectionHandler.',
    ),
    ssl_options: ExhookServerSchema.properties.ssl,
    grpc_client: ExhookServerSchema.properties.grpc_client,
    request_timeout: Duration('5s', {
      description: 'Longest wait for one handler call; a call that fails or times out closes its connection.',
      hermod: true,
    }),
  },
  "The user's handler the gateway calls with socket events.",
);

/** EMQX's ExProto listeners accept far more connections than the other gateways' (seed defaults). */
const LISTENER_DEFAULTS = { max_connections: 1024000, max_conn_rate: 1000 };

/** Schema of gateway.exproto. */
export const ExprotoConfigSchema = GatewayEntry(
  {
    ...gatewayCommonFields({}),
    server: Server,
    handler: Handler,
    listeners: gatewayListeners({ tcp: 7993, ssl: 7993, udp: 7993, dtls: 7993 }, LISTENER_DEFAULTS),
  },
  'The ExProto gateway: socket events go to a gRPC handler that speaks the device protocol.',
);

/** The decoded ExProto gateway config. */
export type ExprotoConfig = GatewayCommonConfig &
  Pick<StaticDecode<typeof ExprotoConfigSchema>, 'server' | 'handler'>;

/** The ExProto gateway's name, listener types and schema (no code: the config layer and listings read this). */
export const exprotoDescriptor: GatewayDescriptor = {
  name: 'exproto',
  protocol: 'exproto',
  description: 'ExProto gateway (device protocols parsed by a gRPC handler)',
  listenerTypes: ['tcp', 'ssl', 'udp', 'dtls'],
  listenerDefaults: LISTENER_DEFAULTS,
  schema: ExprotoConfigSchema,
};
