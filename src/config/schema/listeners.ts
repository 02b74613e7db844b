/** `listeners.{tcp,ssl,ws,wss}.<name> { ... }`: MQTT listeners, with EMQX 5 key names and defaults. */
import { type Static, type StaticDecode, Type } from '@sinclair/typebox';
import { AuthenticationList } from './authn.js';
import {
  Bind,
  Bool,
  ByteSize,
  CommaList,
  Duration,
  Enum,
  Int,
  IntOrInfinity,
  NamedMap,
  Rate,
  Section,
  Str,
} from './fields.js';

const TcpOptions = Section(
  {
    active_n: Int(100, 'Kept for compatibility (an Erlang socket setting).'),
    backlog: Int(1024, 'Length of the pending-accept queue.', { minimum: 1 }),
    send_timeout: Duration('15s', { description: 'Drop a connection whose writes stay blocked this long.' }),
    send_timeout_close: Bool(true, 'Close the connection when send_timeout passes.'),
    nodelay: Bool(true, 'Disable Nagle\u2019s algorithm (TCP_NODELAY).'),
    reuseaddr: Bool(true, 'Kept for compatibility (Node always sets SO_REUSEADDR).'),
    keepalive: Str('none', 'TCP keepalive: "none" or "Idle,Interval,Probes" in seconds.'),
    high_watermark: ByteSize('1MB', {
      description: 'Unsent bytes above which a connection counts as busy and queues further messages.',
    }),
    buffer: ByteSize('4KB', { description: 'Kept for compatibility (an Erlang socket setting).' }),
    recbuf: ByteSize('0', { description: 'SO_RCVBUF (0 = OS default); kept for compatibility.' }),
    sndbuf: ByteSize('0', { description: 'SO_SNDBUF (0 = OS default); kept for compatibility.' }),
  },
  'TCP socket options.',
);

const SslOptions = Section(
  {
    cacertfile: Str('', 'PEM file of the CA certificates that verify client certificates.'),
    certfile: Str('', 'PEM file of the server certificate chain.'),
    keyfile: Str('', 'PEM file of the server private key.'),
    password: Str('', 'Passphrase of an encrypted key file.'),
    verify: Enum(['verify_peer', 'verify_none'], 'verify_none', 'Ask for and verify a client certificate.'),
    fail_if_no_peer_cert: Bool(false, 'With verify_peer, refuse clients that send no certificate.'),
    versions: Type.Array(Enum(['tlsv1.3', 'tlsv1.2', 'tlsv1.1', 'tlsv1'], 'tlsv1.2', 'A TLS version.'), {
      default: ['tlsv1.3', 'tlsv1.2'],
      description: 'TLS versions offered.',
    }),
    ciphers: CommaList([], {
      description: 'OpenSSL cipher names, as an array or one comma-separated string; empty = Node defaults.',
    }),
    depth: Int(10, 'Maximum certificate chain depth.', { minimum: 0 }),
    handshake_timeout: Duration('15s', {
      description: 'Drop a connection whose TLS handshake takes longer.',
    }),
    honor_cipher_order: Bool(true, 'Prefer the server cipher order.'),
    reuse_sessions: Bool(true, 'Allow TLS session resumption.'),
    secure_renegotiate: Bool(true, 'Kept for compatibility.'),
    client_renegotiation: Bool(true, 'Kept for compatibility.'),
    enable_crl_check: Bool(false, 'Kept for compatibility (CRLs are not checked).'),
    gc_after_handshake: Bool(false, 'Kept for compatibility.'),
    hibernate_after: Duration('5s', { description: 'Kept for compatibility.' }),
  },
  'TLS options.',
);

const WebSocketOptions = Section(
  {
    mqtt_path: Str('/mqtt', 'HTTP path of the WebSocket upgrade.'),
    mqtt_piggyback: Enum(
      ['single', 'multiple'],
      'multiple',
      'Kept for compatibility: several packets may share one WebSocket message.',
    ),
    compress: Bool(false, 'permessage-deflate compression.'),
    idle_timeout: Duration('7200s', {
      description: 'Close a WebSocket connection that sends no CONNECT in time.',
    }),
    max_frame_size: IntOrInfinity('infinity', {
      description: 'Largest WebSocket message accepted, in bytes.',
    }),
    fail_if_no_subprotocol: Bool(true, 'Refuse an upgrade that names no subprotocol.'),
    supported_subprotocols: Str(
      'mqtt, mqtt-v3, mqtt-v3.1.1, mqtt-v5',
      'Comma-separated subprotocols accepted.',
    ),
    check_origin_enable: Bool(false, 'Check the Origin header against check_origins.'),
    allow_origin_absence: Bool(true, 'Accept an upgrade without an Origin header when origins are checked.'),
    check_origins: Str('http://localhost:18083, http://127.0.0.1:18083', 'Comma-separated origins accepted.'),
    proxy_address_header: Str('x-forwarded-for', 'Header with the real client address behind a proxy.'),
    proxy_port_header: Str('x-forwarded-port', 'Header with the real client port behind a proxy.'),
    validate_utf8: Bool(true, 'Kept for compatibility.'),
  },
  'WebSocket options.',
);

function listenerFields(bind: string) {
  return {
    enable: Bool(true, 'Start this listener.'),
    bind: Bind(bind, { description: 'Address and port to listen on ("0.0.0.0:1883" or "1883").' }),
    acceptors: Int(16, 'Kept for compatibility (Node accepts on one thread).'),
    max_connections: IntOrInfinity('infinity', {
      description: 'Most concurrent connections; extra ones are closed at once.',
    }),
    max_conn_rate: Rate('infinity', {
      description:
        'New connections accepted per second (a number, or EMQX\u2019s rate form such as "1000/s" or "60/1m"); extra ones wait their turn.',
    }),
    proxy_protocol: Bool(false, 'Expect a HAProxy PROXY protocol (v1 or v2) header on each connection.'),
    proxy_protocol_timeout: Duration('3s', { description: 'How long to wait for the PROXY header.' }),
    mountpoint: Str(
      '',
      'Topic prefix added to everything clients of this listener publish and subscribe (placeholders ${clientid}, ${username}).',
    ),
    zone: Str('default', 'Zone of the listener.'),
    enable_authn: Type.Union([Type.Boolean(), Type.Literal('quick_deny_anonymous')], {
      default: true,
      description:
        'true: authenticate; false: let every client in; quick_deny_anonymous: refuse clients without a username.',
    }),
    access_rules: Type.Array(Type.String({ pattern: '^\\s*(allow|deny)\\s+(all|[0-9a-fA-F:./]+)\\s*$' }), {
      default: ['allow all'],
      description: 'Peer address rules "allow|deny <ip>|<cidr>|all", first match wins.',
    }),
    tcp_options: TcpOptions,
    authentication: AuthenticationList(
      "This listener's own authentication chain; when not empty it replaces the global one for its clients.",
    ),
  };
}

export const TcpListenerSchema = Section(listenerFields('0.0.0.0:1883'), 'An MQTT over TCP listener.');
export const SslListenerSchema = Section(
  { ...listenerFields('0.0.0.0:8883'), ssl_options: SslOptions },
  'An MQTT over TLS listener.',
);
export const WsListenerSchema = Section(
  { ...listenerFields('0.0.0.0:8083'), websocket: WebSocketOptions },
  'An MQTT over WebSocket listener.',
);
export const WssListenerSchema = Section(
  { ...listenerFields('0.0.0.0:8084'), websocket: WebSocketOptions, ssl_options: SslOptions },
  'An MQTT over secure WebSocket listener.',
);

export const ListenersSchema = Section(
  {
    tcp: NamedMap(TcpListenerSchema, 'TCP listeners by name.', { default: { bind: '0.0.0.0:1883' } }),
    ssl: NamedMap(SslListenerSchema, 'TLS listeners by name.'),
    ws: NamedMap(WsListenerSchema, 'WebSocket listeners by name.', { default: { bind: '0.0.0.0:8083' } }),
    wss: NamedMap(WssListenerSchema, 'Secure WebSocket listeners by name.'),
  },
  'MQTT listeners.',
);

export type ListenerType = 'tcp' | 'ssl' | 'ws' | 'wss';
export type ListenerConfig =
  | StaticDecode<typeof TcpListenerSchema>
  | StaticDecode<typeof SslListenerSchema>
  | StaticDecode<typeof WsListenerSchema>
  | StaticDecode<typeof WssListenerSchema>;
export type TcpListenerConfig = StaticDecode<typeof TcpListenerSchema>;
export type SslListenerConfig = StaticDecode<typeof SslListenerSchema>;
export type WsListenerConfig = StaticDecode<typeof WsListenerSchema>;
export type WssListenerConfig = StaticDecode<typeof WssListenerSchema>;
export type ListenersConfigRaw = Static<typeof ListenersSchema>;
