/** `mqtt { ... }`: protocol limits and session behaviour, with EMQX 5 key names and defaults. */
import { Type } from '@sinclair/typebox';
import {
  Bool,
  ByteSize,
  Duration,
  Enum,
  Int,
  IntOrDisabled,
  IntOrInfinity,
  OptionalDuration,
  Section,
  Str,
} from './fields.js';

export const MqttSchema = Section(
  {
    idle_timeout: Duration('15s', {
      description: 'Close a new connection that sends no CONNECT within this time.',
    }),
    max_packet_size: ByteSize('1MB', {
      description:
        'Largest MQTT packet accepted (and advertised to MQTT 5 clients as Maximum Packet Size). Bigger packets are refused with reason code 0x95.',
    }),
    max_clientid_len: Int(65535, 'Longest client identifier accepted.', { minimum: 23, maximum: 65535 }),
    max_topic_levels: Int(128, 'Most topic levels a topic name or filter may have.', {
      minimum: 1,
      maximum: 65535,
    }),
    max_topic_length: Int(65535, 'Longest topic name or filter in bytes (Hermod addition).', {
      minimum: 1,
      maximum: 65535,
    }),
    max_qos_allowed: Int(2, 'Highest QoS the broker grants; advertised to MQTT 5 clients as Maximum QoS.', {
      minimum: 0,
      maximum: 2,
    }),
    max_topic_alias: Int(
      65535,
      'Topic Alias Maximum advertised to MQTT 5 clients (0 disables topic aliases).',
      {
        minimum: 0,
        maximum: 65535,
      },
    ),
    retain_available: Bool(true, 'Whether retained messages are supported.'),
    wildcard_subscription: Bool(true, 'Whether subscriptions to wildcard filters are allowed.'),
    shared_subscription: Bool(true, 'Whether shared subscriptions ($share/, $queue/) are allowed.'),
    shared_subscription_strategy: Enum(
      ['random', 'round_robin', 'round_robin_per_group', 'sticky', 'local', 'hash_topic', 'hash_clientid'],
      'round_robin',
      'How one member of a shared subscription group is picked for each message.',
    ),
    shared_subscription_initial_sticky_pick: Enum(
      ['random', 'local', 'hash_topic', 'hash_clientid'],
      'random',
      'How the sticky strategy picks its first member.',
    ),
    exclusive_subscription: Bool(false, 'Whether $exclusive/ subscriptions are allowed.'),
    ignore_loop_deliver: Bool(
      false,
      'Do not deliver a message back to the client that published it (like No Local for every subscription).',
    ),
    strict_mode: Bool(false, 'Check topics and client ids for valid UTF-8 strictly.'),
    response_information: Str(
      '',
      'Response Information sent to MQTT 5 clients that ask for it; empty sends none.',
    ),
    server_keepalive: IntOrDisabled('disabled', {
      description:
        'Keep alive (seconds) the server imposes on MQTT 5 clients through Server Keep Alive; "disabled" keeps the client value.',
    }),
    keepalive_multiplier: Type.Number({
      default: 1.5,
      minimum: 1,
      description: 'A client is disconnected after keepalive × multiplier seconds without a packet.',
    }),
    keepalive_check_interval: Duration('30s', {
      description: 'Kept for compatibility: Hermod checks keepalive deadlines every second.',
    }),
    retry_interval: OptionalDuration('30s', {
      description:
        'Resend an unacknowledged QoS 1/2 message to an MQTT 3.x client after this long. MQTT 5 forbids resending except on reconnect, so v5 sessions resend only then.',
    }),
    use_username_as_clientid: Bool(false, 'Replace the client id with the username after authentication.'),
    peer_cert_as_username: Enum(
      ['disabled', 'cn', 'dn', 'crt', 'pem', 'md5'],
      'disabled',
      'Use a field of the TLS client certificate as username.',
    ),
    peer_cert_as_clientid: Enum(
      ['disabled', 'cn', 'dn', 'crt', 'pem', 'md5'],
      'disabled',
      'Use a field of the TLS client certificate as client id.',
    ),
    session_expiry_interval: Duration('2h', {
      description:
        'How long the session of an MQTT 3.x client with clean session = false outlives its connection.',
    }),
    max_session_expiry_interval: IntOrInfinity('infinity', {
      description:
        'Cap (seconds) on the Session Expiry Interval an MQTT 5 client may ask for (Hermod addition).',
      hermod: true,
    }),
    message_expiry_interval: Duration('infinity', {
      description: 'Expiry of queued messages that carry no Message Expiry Interval of their own.',
    }),
    max_awaiting_rel: IntOrInfinity(100, {
      description: 'Most incoming QoS 2 messages awaiting PUBREL per session.',
    }),
    await_rel_timeout: Duration('300s', {
      description: 'An incoming QoS 2 message is forgotten if PUBREL does not arrive within this time.',
    }),
    max_inflight: Int(
      32,
      'Most unacknowledged outgoing QoS 1/2 messages per session (also advertised as Receive Maximum).',
      {
        minimum: 1,
        maximum: 65535,
      },
    ),
    max_mqueue_len: IntOrInfinity(1000, {
      description: 'Most messages queued for an offline or busy session.',
    }),
    mqueue_store_qos0: Bool(true, 'Queue QoS 0 messages for offline sessions too.'),
    mqueue_drop_policy: Enum(
      ['drop_oldest', 'drop_newest'],
      'drop_oldest',
      'Which message a full queue drops: the oldest queued one (as EMQX) or the arriving one (Hermod addition).',
    ),
    mqueue_priorities: Type.Union(
      [Type.Literal('disabled'), Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 255 }))],
      {
        default: 'disabled',
        description: 'Topic priorities in the message queue (kept for compatibility; Hermod queues FIFO).',
      },
    ),
    mqueue_default_priority: Enum(
      ['highest', 'lowest'],
      'lowest',
      'Priority of topics not listed in mqueue_priorities.',
    ),
    upgrade_qos: Bool(false, 'Deliver with the subscription QoS even when the message QoS is lower.'),
    max_subscriptions: IntOrInfinity('infinity', { description: 'Most subscriptions per client.' }),
  },
  'MQTT protocol settings for every listener.',
);
