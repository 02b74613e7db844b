/** `exhook { servers = [ ... ] }`: gRPC hook provider servers, with EMQX 5 key names and defaults. */
import { type StaticDecode, Type } from '@sinclair/typebox';
import { formatByteSize, formatDuration, parseByteSize, parseDuration } from '../units.js';
import { Bool, CommaList, Duration, Enum, Int, Section, Str } from './fields.js';

const DURATION_PATTERN = '^([0-9]+|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+)$';

/** A byte size with no default: absent means "leave the OS default". */
function OptionalByteSize(description: string) {
  return Type.Optional(
    Type.Transform(
      Type.Union([Type.String({ pattern: '^[0-9]+ *([bB]|[kKmMgG][bB])?$' }), Type.Integer({ minimum: 0 })], {
        description,
        'x-kind': 'bytesize',
      }),
    )
      .Decode((v) => parseByteSize(v) ?? 0)
      .Encode((n) => formatByteSize(n)),
  );
}

const ExhookSsl = Section(
  {
    enable: Bool(false, 'Use the options below for https:// servers (CA, client certificate, verification).'),
    cacertfile: Str('', 'PEM file of the CA certificates that verify the server; empty = the system CAs.'),
    certfile: Str('', 'PEM file of the client certificate chain sent to the server.'),
    keyfile: Str('', 'PEM file of the client private key.'),
    password: Str('', 'Passphrase of an encrypted key file.'),
    verify: Enum(
      ['verify_peer', 'verify_none'],
      'verify_none',
      'Verify the server certificate and host name.',
    ),
    server_name_indication: Str(
      '',
      'Host name sent in SNI and checked against the server certificate; empty = the url host, "disable" = none.',
    ),
    versions: Type.Array(Enum(['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1'], 'tlsv1.2', 'A TLS version.'), {
      default: ['tlsv1.3', 'tlsv1.2'],
      description: 'TLS versions offered.',
    }),
    ciphers: CommaList([], {
      description: 'OpenSSL cipher names, as an array or one comma-separated string; empty = Node defaults.',
    }),
    depth: Int(10, 'Kept for compatibility (Node verifies the whole chain).', { minimum: 0 }),
    reuse_sessions: Bool(true, 'Kept for compatibility.'),
    secure_renegotiate: Bool(true, 'Kept for compatibility.'),
    log_level: Str('notice', 'Kept for compatibility.'),
    hibernate_after: Duration('5s', { description: 'Kept for compatibility.' }),
  },
  'TLS client options for https:// servers.',
);

const ExhookSocketOptions = Section(
  {
    keepalive: Bool(true, 'Kept for compatibility (gRPC keeps its own HTTP/2 connections alive).'),
    nodelay: Bool(true, 'Kept for compatibility (gRPC manages its sockets).'),
    recbuf: OptionalByteSize('Kept for compatibility (SO_RCVBUF).'),
    sndbuf: OptionalByteSize('Kept for compatibility (SO_SNDBUF).'),
  },
  'Socket options of the connections to the server.',
);

/** Which gRPC client makes Hermod's outgoing calls (ExHook servers, the ExProto handler). */
export const GrpcClient = Enum(
  ['http2', 'grpc-js'],
  'http2',
  "The gRPC client that makes the calls. http2 = Hermod's own client, its own HTTP/2 framing over a plain socket (one connection carrying every call, a tenth of grpc-js's CPU per call or less, see bench/exhook.ts); grpc-js = @grpc/grpc-js, kept to compare with.",
  { hermod: true },
);

/** One ExHook server. */
export const ExhookServerSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9]+[A-Za-z0-9-_]*$',
      maxLength: 256,
      description: 'Unique name of the server.',
    }),
    enable: Bool(true, 'Load this server.'),
    url: Type.String({
      pattern: '^[hH][tT][tT][pP][sS]?://[^\\s/]+',
      description: 'gRPC server address, http:// or https://, e.g. http://127.0.0.1:9000.',
    }),
    request_timeout: Duration('5s', { description: 'Longest wait for one call.' }),
    failed_action: Enum(
      ['deny', 'ignore'],
      'deny',
      'When a call fails or times out: deny (refuse the client / stop the message chain) or ignore the server.',
    ),
    ssl: ExhookSsl,
    socket_options: ExhookSocketOptions,
    auto_reconnect: Type.Transform(
      Type.Union(
        [Type.Literal(false), Type.String({ pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })],
        {
          default: '60s',
          description: 'Retry a failed load after this long; false = never.',
          'x-kind': 'duration',
        },
      ),
    )
      .Decode((v) => (v === false ? 0 : (parseDuration(v) ?? 0)))
      .Encode((ms): false | string => (ms === 0 ? false : formatDuration(ms))),
    pool_size: Int(
      8,
      'gRPC connections to the server with grpc_client = grpc-js (calls of one client always use the same one); the http2 client multiplexes every call on one connection.',
      {
        minimum: 1,
      },
    ),
    grpc_client: GrpcClient,
  },
  { additionalProperties: false, description: 'An ExHook server.' },
);

/** The `exhook` root key. */
export const ExhookSchema = Section(
  {
    servers: Type.Array(ExhookServerSchema, {
      default: [],
      description: 'ExHook servers, called in this order.',
    }),
  },
  'ExHook: broker hooks forwarded to gRPC servers (EMQX HookProvider, proto emqx.exhook.v3, v2 and v1; EMQX 4.x `exhook.server.<name>.url` is read as a servers entry).',
);

/** One server's decoded config (durations in ms; auto_reconnect 0 = never). */
export type ExhookServerConfig = StaticDecode<typeof ExhookServerSchema>;
