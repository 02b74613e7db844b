/**
 * Building blocks every gateway schema uses (EMQX `gateway_common_options` and its listener types): the
 * common gateway options and the tcp / ssl / udp / dtls listener sections. A gateway's own schema
 * (`src/gateway/<name>/schema.ts`) spreads `gatewayCommonFields(...)` and adds `listeners: gatewayListeners(...)`.
 */
import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import { Bind, Bool, CommaList, Duration, Enum, Int, IntOrInfinity, Section, Str } from './fields.js';
import { SslListenerSchema, TcpListenerSchema } from './listeners.js';

/** Listener types a gateway may allow. */
export type GatewayListenerType = 'tcp' | 'ssl' | 'udp' | 'dtls';

/** Listener names, as EMQX: `^[a-zA-Z][0-9a-zA-Z_-]*$`. */
export const LISTENER_NAME_RE = /^[a-zA-Z][0-9a-zA-Z_-]*$/;

/**
 * One authenticator object (EMQX's authn schema: `mechanism`, `backend`, …). Its fields are checked by the
 * access-control registry when the chain is created, so the config schema only requires an object.
 */
export const AuthenticatorConfig = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'One authenticator (mechanism, backend, …), as in authentication[].',
  },
);

/** `clientinfo_override` keys; a missing key leaves the field as the protocol gave it. */
function clientinfoOverride(defaults: { username?: string; password?: string; clientid?: string }) {
  const field = (key: 'username' | 'password' | 'clientid', what: string) =>
    defaults[key] === undefined
      ? Type.Optional(Type.String({ description: `Template for the client's ${what}.` }))
      : Str(defaults[key]!, `Template for the client's ${what}.`);
  return Type.Object(
    {
      username: field('username', 'username'),
      password: field('password', 'password'),
      clientid: field('clientid', 'client id (empty result = a random id)'),
    },
    {
      additionalProperties: false,
      default: {},
      description:
        'Templates rendered per connection against ConnInfo, ClientInfo and Packet (e.g. ${Packet.headers.login}); the results replace those ClientInfo fields before authentication.',
    },
  );
}

/** Options every gateway has (EMQX gateway_common_options), with the gateway's own defaults. */
export function gatewayCommonFields(d: {
  mountpoint?: string;
  clientinfoOverride?: { username?: string; password?: string; clientid?: string };
}) {
  return {
    enable: Bool(true, 'Run the gateway; false stops it (its listeners close) and keeps its config.'),
    enable_stats: Bool(true, 'Keep per-connection statistics for the clients API.'),
    idle_timeout: Duration('30s', {
      description: 'Close a new connection that has not logged in within this time.',
    }),
    mountpoint: Str(
      d.mountpoint ?? '',
      'Topic prefix for every client (placeholders ${clientid}, ${username}, …).',
    ),
    clientinfo_override: clientinfoOverride(d.clientinfoOverride ?? {}),
    authentication: Type.Optional(AuthenticatorConfig),
  };
}

/** Listener defaults a gateway may set for itself (EMQX's differ per gateway, e.g. ExProto's 1024000). */
export interface GatewayListenerDefaults {
  max_connections?: number;
  max_conn_rate?: number;
}

const listenerBase = (port: number, description: string, d: GatewayListenerDefaults = {}) => ({
  enable: Bool(true, 'Start this listener.'),
  bind: Bind(String(port), { description }),
  max_connections: IntOrInfinity(d.max_connections ?? 1024, {
    minimum: 1,
    description: 'Most concurrent connections; extra ones are refused.',
  }),
  max_conn_rate: IntOrInfinity(d.max_conn_rate ?? 1000, {
    description: 'New connections accepted per second.',
  }),
  enable_authn: Bool(true, 'Authenticate clients of this listener; false lets every client in.'),
  mountpoint: Type.Optional(
    Type.String({ description: "Topic prefix for this listener's clients; unset = the gateway's." }),
  ),
  access_rules: Type.Array(Type.String({ pattern: '^\\s*(allow|deny)\\s+(all|[0-9a-fA-F:./]+)\\s*$' }), {
    default: [],
    description: 'Peer address rules "allow|deny <ip>|<cidr>|all", first match wins.',
  }),
  authentication: Type.Optional(AuthenticatorConfig),
});

const streamFields = () => ({
  acceptors: Int(16, 'Kept for compatibility (Node accepts on one thread).'),
  tcp_options: TcpListenerSchema.properties.tcp_options,
  proxy_protocol: Bool(false, 'Expect a HAProxy PROXY protocol header on each connection.'),
  proxy_protocol_timeout: Duration('3s', { description: 'How long to wait for the PROXY header.' }),
});

const UdpOptions = Section(
  {
    active_n: Int(100, 'Kept for compatibility (an Erlang socket setting).'),
    recbuf: Type.Optional(Type.String({ description: 'SO_RCVBUF, e.g. "2KB".' })),
    sndbuf: Type.Optional(Type.String({ description: 'SO_SNDBUF, e.g. "2KB".' })),
    buffer: Type.Optional(Type.String({ description: 'Kept for compatibility.' })),
    reuseaddr: Bool(true, 'SO_REUSEADDR.'),
  },
  'UDP socket options.',
);

const HealthCheck = Type.Object(
  {
    request: Type.String({ description: 'A datagram equal to this is a health check.' }),
    reply: Type.String({ description: 'What a health check is answered with (no client is created).' }),
  },
  { additionalProperties: false, description: 'Answer load-balancer probes without creating a client.' },
);

const DtlsOptions = Section(
  {
    ...SslListenerSchema.properties.ssl_options.properties,
    ciphers: CommaList([], {
      description:
        'DTLS suites to offer, IANA or OpenSSL names (PSK-AES128-CCM8, ECDHE-ECDSA-AES128-GCM-SHA256, …); empty = all.',
    }),
    versions: Type.Array(Enum(['dtlsv1.2', 'dtlsv1'], 'dtlsv1.2', 'A DTLS version.'), {
      default: ['dtlsv1.2', 'dtlsv1'],
      description: 'DTLS versions offered.',
    }),
    user_lookup_fun: Str(
      'emqx_tls_psk:lookup',
      'Kept for compatibility (PSK identities come from psk_authentication).',
    ),
  },
  'DTLS options (server side).',
);

/** A tcp gateway listener. */
export const GatewayTcpListener = (port: number, d?: GatewayListenerDefaults) =>
  Section(
    { ...listenerBase(port, 'Address and port to listen on.', d), ...streamFields() },
    'A TCP listener.',
  );

/** An ssl gateway listener. */
export const GatewaySslListener = (port: number, d?: GatewayListenerDefaults) =>
  Section(
    {
      ...listenerBase(port, 'Address and port to listen on.', d),
      ...streamFields(),
      ssl_options: SslListenerSchema.properties.ssl_options,
    },
    'A TLS listener.',
  );

/** A udp gateway listener. */
export const GatewayUdpListener = (port: number, d?: GatewayListenerDefaults) =>
  Section(
    {
      ...listenerBase(port, 'Address and port to listen on.', d),
      udp_options: UdpOptions,
      health_check: Type.Optional(HealthCheck),
    },
    'A UDP listener (each peer address is one connection).',
  );

/** A dtls gateway listener. */
export const GatewayDtlsListener = (port: number, d?: GatewayListenerDefaults) =>
  Section(
    {
      ...listenerBase(port, 'Address and port to listen on.', d),
      acceptors: Int(16, 'Kept for compatibility.'),
      udp_options: UdpOptions,
      dtls_options: DtlsOptions,
      health_check: Type.Optional(HealthCheck),
    },
    'A DTLS listener.',
  );

const BUILDERS: Record<GatewayListenerType, (port: number, d?: GatewayListenerDefaults) => TSchema> = {
  tcp: GatewayTcpListener,
  ssl: GatewaySslListener,
  udp: GatewayUdpListener,
  dtls: GatewayDtlsListener,
};

/** The schema of one listener type with its default port (also what the API validates a new listener with). */
export function gatewayListenerSchema(
  type: GatewayListenerType,
  port: number,
  defaults?: GatewayListenerDefaults,
): TSchema {
  return BUILDERS[type](port, defaults);
}

/**
 * `listeners { <type> { <name> {...} } }` for the allowed types, each with its default port; `defaults`
 * replaces the common listener defaults for this gateway only.
 */
export function gatewayListeners<T extends Partial<Record<GatewayListenerType, number>>>(
  ports: T,
  defaults?: GatewayListenerDefaults,
) {
  const props: Record<string, TSchema> = {};
  for (const [type, port] of Object.entries(ports) as Array<[GatewayListenerType, number]>) {
    props[type] = Type.Record(
      Type.String({ pattern: LISTENER_NAME_RE.source }),
      BUILDERS[type](port, defaults),
      {
        default: {},
        description: `${type} listeners by name.`,
      },
    );
  }
  return Type.Object(props, {
    additionalProperties: false,
    default: {},
    description: 'Listeners by type and name.',
  });
}

/**
 * One gateway's config object: no default, so a gateway absent from the config stays unloaded (EMQX's
 * `gateway.<name>` either exists or the gateway is not loaded).
 */
export function GatewayEntry<P extends Record<string, TSchema>>(properties: P, description: string) {
  return Type.Object(properties, { additionalProperties: false, description });
}

const BaseListener = Type.Object(listenerBase(0, ''));

/** Decoded listener of any type: the common fields, plus the type-specific ones of its own type. */
export type GatewayListenerConfig = StaticDecode<typeof BaseListener> &
  Partial<StaticDecode<ReturnType<typeof GatewayTcpListener>>> &
  Partial<StaticDecode<ReturnType<typeof GatewaySslListener>>> &
  Partial<StaticDecode<ReturnType<typeof GatewayUdpListener>>> &
  Partial<StaticDecode<ReturnType<typeof GatewayDtlsListener>>>;

const CommonSchema = Type.Object(gatewayCommonFields({}));

/** Decoded common options (what the framework reads from every gateway's config). */
export type GatewayCommonConfig = StaticDecode<typeof CommonSchema> & {
  listeners: Partial<Record<GatewayListenerType, Record<string, GatewayListenerConfig>>>;
};
