/**
 * emqx.conf (EMQX 3.x/4.x) → Hermod: node and log, the MQTT limits (global `mqtt.*` and the zone of the
 * public TCP listener, since Hermod has one zone), broker settings, listeners, and the access settings
 * (allow_anonymous, acl_nomatch, acl_file, the ACL cache, flapping detection).
 */
import { existsSync } from 'node:fs';
import { bind, bool, bytes, duration, int, list, type Migration } from './migration.js';

/** 4.x listener names → Hermod's (EMQX 5 calls the public ones `default`). */
const LISTENER_NAMES: Readonly<Record<string, string>> = { external: 'default' };
const LISTENER_TYPES = ['tcp', 'ssl', 'ws', 'wss'] as const;

/** Zone (and 4.x global `mqtt.`) keys that are `mqtt.<same>` in Hermod, with their conversion. */
const MQTT_KEYS: Readonly<Record<string, (v: string) => unknown>> = {
  idle_timeout: duration,
  max_packet_size: bytes,
  max_clientid_len: int,
  max_topic_levels: int,
  max_qos_allowed: int,
  max_topic_alias: int,
  retain_available: bool,
  wildcard_subscription: bool,
  shared_subscription: bool,
  ignore_loop_deliver: bool,
  strict_mode: bool,
  response_information: (v) => v,
  server_keepalive: (v) => (v === 'disabled' ? v : int(v)),
  max_inflight: int,
  retry_interval: duration,
  max_awaiting_rel: int,
  await_rel_timeout: duration,
  session_expiry_interval: duration,
  max_mqueue_len: int,
  mqueue_default_priority: (v) => v,
  upgrade_qos: bool,
  max_subscriptions: (v) => (int(v) === 0 ? 'infinity' : int(v)),
  use_username_as_clientid: bool,
  peer_cert_as_username: (v) => v,
  peer_cert_as_clientid: (v) => v,
};

/** Zone keys Hermod has no counterpart for, with the reason users see in the report. */
const ZONE_UNSUPPORTED: Readonly<Record<string, string>> = {
  force_gc_policy: 'Node.js manages its heap itself: there is no per-connection GC policy',
  force_shutdown_policy: 'Node.js has no per-connection process to limit',
  enable_stats: 'connection statistics are always kept',
  enable_ban: 'the ban list is always checked',
  publish_limit: 'publish rate limits are not implemented',
  'ratelimit.conn_bytes_in': 'byte-rate limits are not implemented',
  'ratelimit.conn_messages_in': 'message-rate limits are not implemented',
  'ratelimit.conn_messages_routing': 'message-rate limits are not implemented',
  'ratelimit.overall_messages_routing': 'message-rate limits are not implemented',
  'quota.conn_messages_routing': 'routing quotas are not implemented',
  'quota.overall_messages_routing': 'routing quotas are not implemented',
  hibernate_after: 'Node.js connections do not hibernate',
  mqueue_store_qos0: 'QoS 0 messages are always queued for offline sessions',
  bypass_auth_plugins: 'per-zone authentication bypass: give the listener enable_authn = false instead',
  mountpoint: 'zone mountpoints: set mountpoint on the listener instead',
};

function mapNodeAndLog(m: Migration): void {
  m.map('node.name', 'node.name');
  m.map('node.cookie', 'node.cookie');
  m.unsupported('node.data_dir', "Hermod's data dir holds its own store (4.x Mnesia data cannot be read)");
  m.unsupportedAll('node.', 'Erlang VM setting: Hermod runs on Node.js');
  m.unsupportedAll('rpc.', 'no clustering yet');
  m.unsupportedAll('cluster.', 'no clustering yet');
  const to = m.get('log.to');
  const level = m.get('log.level');
  const levelValue = level === 'warn' ? 'warning' : level;
  if (to === 'console' || to === 'both' || to === undefined) {
    if (level !== undefined) m.map('log.level', 'log.console.level', () => levelValue);
  }
  if (to === 'file' || to === 'both') {
    const dir = m.get('log.dir') ?? 'log';
    const file = m.get('log.file') ?? 'emqx.log';
    m.set('log.file.default.enable', true);
    m.set('log.file.default.path', `${dir}/${file}`);
    if (level !== undefined) m.set('log.file.default.level', levelValue);
    m.carried('log.dir', 'log.file.default.path');
    m.carried('log.file', 'log.file.default.path');
    if (to === 'file') m.set('log.console.enable', false);
    m.carried('log.level', 'log.file.default.level');
    m.map('log.rotation.count', 'log.file.default.rotation_count', int);
    m.map('log.rotation.size', 'log.file.default.rotation_size', bytes);
  }
  m.carried('log.to', to === 'file' ? 'log.file.default' : 'log.console');
  m.unsupportedAll(
    'log.',
    'Hermod logs JSON lines with pino: the formatter, handler and overload settings differ',
  );
}

function mapBroker(m: Migration): void {
  m.map('broker.sys_interval', 'sys_topics.sys_msg_interval', duration);
  m.map('broker.sys_heartbeat', 'sys_topics.sys_heartbeat_interval', duration);
  m.map('broker.shared_subscription_strategy', 'mqtt.shared_subscription_strategy');
  m.unsupported('broker.shared_dispatch_ack_enabled', 'shared deliveries are not acknowledged per member');
  m.unsupported('broker.session_locking_strategy', 'no clustering yet: a session lives on one node');
  m.unsupported('broker.route_batch_clean', 'no clustering yet');
  m.unsupported('broker.perf.route_lock_type', 'no clustering yet');
  m.unsupported('broker.perf.trie_compaction', 'the topic trie is not tunable');
}

/** The zone named `zone`'s settings (and 4.x's global `mqtt.*`) into Hermod's `mqtt` section. */
function mapMqtt(m: Migration, zone: string): void {
  for (const [k, convert] of Object.entries(MQTT_KEYS)) {
    m.map(`mqtt.${k}`, `mqtt.${k}`, convert);
    m.map(`zone.${zone}.${k}`, `mqtt.${k}`, convert);
  }
  m.map('mqtt.shared_subscription_strategy', 'mqtt.shared_subscription_strategy');
  const backoff = m.get(`zone.${zone}.keepalive_backoff`) ?? m.get('mqtt.keepalive_backoff');
  for (const key of [`zone.${zone}.keepalive_backoff`, 'mqtt.keepalive_backoff'])
    m.map(
      key,
      'mqtt.keepalive_multiplier',
      () => {
        const n = Number(backoff);
        if (!Number.isFinite(n) || n <= 0)
          throw new Error(`expected a number, got ${JSON.stringify(backoff)}`);
        return Math.max(1, n * 2);
      },
      'EMQX 5: the multiplier is twice the backoff',
    );
  m.map(`zone.${zone}.mqueue_priorities`, 'mqtt.mqueue_priorities', (v) => {
    if (v === 'none' || v === '') return 'disabled';
    return Object.fromEntries(
      list(v).map((p) => {
        const [topic, prio] = p.split('=');
        return [topic!.trim(), int(prio ?? '')];
      }),
    );
  });
  m.map(`zone.${zone}.enable_flapping_detect`, 'flapping_detect.enable', bool);
  m.map(`zone.${zone}.acl_deny_action`, 'authorization.deny_action');
  if (m.read(`zone.${zone}.enable_acl`, bool) === true) m.carried(`zone.${zone}.enable_acl`, 'authorization');
  else
    m.unsupported(
      `zone.${zone}.enable_acl`,
      'authorization is always checked: leave authorization.sources empty with no_match = allow instead',
    );
  for (const [k, reason] of Object.entries(ZONE_UNSUPPORTED)) m.unsupported(`zone.${zone}.${k}`, reason);
  for (const key of m.keysUnder('zone.'))
    if (!key.startsWith(`zone.${zone}.`) || !key.endsWith('allow_anonymous'))
      m.unsupported(
        key,
        `Hermod has one zone: the settings of zone ${zone} (the public TCP listener's) were carried`,
      );
}

function listenerName(name: string): string {
  return LISTENER_NAMES[name] ?? name;
}

/** Listener option (after `listener.<type>.<name>.`) → Hermod key under the listener, with conversion. */
const LISTENER_KEYS: Readonly<Record<string, [string, (v: string) => unknown]>> = {
  acceptors: ['acceptors', int],
  max_connections: ['max_connections', int],
  max_conn_rate: ['max_conn_rate', (v) => `${int(v)}/s`],
  proxy_protocol: ['proxy_protocol', bool],
  proxy_protocol_timeout: ['proxy_protocol_timeout', duration],
  mountpoint: ['mountpoint', (v) => v],
  active_n: ['tcp_options.active_n', int],
  backlog: ['tcp_options.backlog', int],
  send_timeout: ['tcp_options.send_timeout', duration],
  send_timeout_close: ['tcp_options.send_timeout_close', bool],
  nodelay: ['tcp_options.nodelay', bool],
  reuseaddr: ['tcp_options.reuseaddr', bool],
  recbuf: ['tcp_options.recbuf', bytes],
  sndbuf: ['tcp_options.sndbuf', bytes],
  buffer: ['tcp_options.buffer', bytes],
  high_watermark: ['tcp_options.high_watermark', bytes],
  keepalive: ['tcp_options.keepalive', (v) => v],
  verify: ['ssl_options.verify', (v) => v],
  fail_if_no_peer_cert: ['ssl_options.fail_if_no_peer_cert', bool],
  tls_versions: ['ssl_options.versions', list],
  ciphers: ['ssl_options.ciphers', list],
  handshake_timeout: ['ssl_options.handshake_timeout', duration],
  depth: ['ssl_options.depth', int],
  reuse_sessions: ['ssl_options.reuse_sessions', bool],
  secure_renegotiate: ['ssl_options.secure_renegotiate', bool],
  honor_cipher_order: ['ssl_options.honor_cipher_order', bool],
  key_password: ['ssl_options.password', (v) => v],
  mqtt_path: ['websocket.mqtt_path', (v) => v],
  mqtt_piggyback: ['websocket.mqtt_piggyback', (v) => v],
  compress: ['websocket.compress', bool],
  idle_timeout: ['websocket.idle_timeout', duration],
  max_frame_size: ['websocket.max_frame_size', int],
  fail_if_no_subprotocol: ['websocket.fail_if_no_subprotocol', bool],
  supported_subprotocols: ['websocket.supported_subprotocols', (v) => v],
  proxy_address_header: ['websocket.proxy_address_header', (v) => v],
  proxy_port_header: ['websocket.proxy_port_header', (v) => v],
  allow_origin_absence: ['websocket.allow_origin_absence', bool],
  check_origin_enable: ['websocket.check_origin_enable', bool],
  check_origins: ['websocket.check_origins', (v) => v],
};
const LISTENER_FILES = ['keyfile', 'certfile', 'cacertfile'];

function mapListeners(m: Migration, zone: string): void {
  const seen = new Set<string>();
  for (const type of LISTENER_TYPES) {
    const names = new Set(
      m
        .keysUnder(`listener.${type}.`)
        .map((k) => k.split('.')[2]!)
        .filter((n) => m.has(`listener.${type}.${n}`)),
    );
    for (const name of names) {
      const base = `listener.${type}.${name}`;
      const target = `listeners.${type}.${listenerName(name)}`;
      seen.add(`${type}.${listenerName(name)}`);
      m.map(base, `${target}.bind`, bind);
      for (const [opt, [key, convert]] of Object.entries(LISTENER_KEYS))
        m.map(`${base}.${opt}`, `${target}.${key}`, convert);
      for (const f of LISTENER_FILES) m.map(`${base}.${f}`, `${target}.ssl_options.${f}`, (v) => m.path(v));
      const rules = m
        .keysUnder(`${base}.access.`)
        .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
      if (rules.length > 0) {
        m.set(
          `${target}.access_rules`,
          rules.map((k) => m.get(k)!.trim()),
        );
        for (const k of rules) m.carried(k, `${target}.access_rules`);
      }
      const z = m.get(`${base}.zone`);
      if (z !== undefined && z !== zone)
        m.unsupported(`${base}.zone`, `Hermod has one zone: this listener gets zone ${zone}'s settings`);
      else m.carried(`${base}.zone`, 'mqtt');
      m.unsupportedAll(`${base}.`, 'no Hermod equivalent for this listener option');
    }
  }
  // Hermod's own default listeners would take ports the 4.x config never opened: turn off the missing ones.
  for (const type of LISTENER_TYPES)
    if (!seen.has(`${type}.default`)) m.set(`listeners.${type}.default.enable`, false);
}

function mapAccess(m: Migration, authPlugins: number, zone: string): void {
  const keys = ['allow_anonymous', `zone.${zone}.allow_anonymous`].filter((k) => m.has(k));
  // The zone's setting overrides the global one in 4.x.
  const anon = keys.length === 0 ? undefined : m.read(keys[keys.length - 1]!, bool);
  for (const key of keys) {
    if (anon === undefined) break;
    if (authPlugins === 0 && !anon) {
      // An authenticator without users refuses everyone, as 4.x did with no auth plugin and no anonymous.
      m.set('authentication', [{ mechanism: 'password_based', backend: 'built_in_database' }]);
      m.carried(key, 'authentication', 'an empty built-in database: add users with hermod ctl users add');
    } else if (authPlugins > 0 && anon)
      m.unsupported(
        key,
        'with authenticators configured, Hermod (as EMQX 5) refuses a client none of them accepts; 4.x let it in as anonymous',
      );
    else m.carried(key, 'authentication', anon ? 'no authenticator: every client is let in' : undefined);
  }
  m.map('acl_nomatch', 'authorization.no_match');
  m.map('acl_deny_action', 'authorization.deny_action');
  m.map('enable_acl_cache', 'authorization.cache.enable', bool);
  m.map('acl_cache_max_size', 'authorization.cache.max_size', int);
  m.map('acl_cache_ttl', 'authorization.cache.ttl', duration);
  m.map('flapping_detect_policy', 'flapping_detect.max_count', (v) => {
    const [count, window, ban] = list(v);
    const parsed = { max: int(count ?? ''), window: duration(window ?? ''), ban: duration(ban ?? '') };
    m.set('flapping_detect.window_time', parsed.window);
    m.set('flapping_detect.ban_time', parsed.ban);
    return parsed.max;
  });
}

/** The acl.conf named by `acl_file`, as a file source (added after the plugins' sources, as 4.x checked it last). */
export function aclFileSource(m: Migration): Record<string, unknown> | undefined {
  const file = m.get('acl_file');
  if (file === undefined) return undefined;
  const path = m.path(file);
  if (!existsSync(path)) {
    m.unsupported('acl_file', `${path} does not exist`);
    return undefined;
  }
  m.carried('acl_file', 'authorization.sources (type = file)');
  return { type: 'file', path };
}

/** The emqx.conf part; `authPlugins` is how many authentication plugins are loaded. */
export function mapEmqxConf(m: Migration, authPlugins: number): void {
  const zone = m.get('listener.tcp.external.zone') ?? 'external';
  mapNodeAndLog(m);
  mapBroker(m);
  mapMqtt(m, zone);
  mapListeners(m, zone);
  mapAccess(m, authPlugins, zone);
  m.unsupportedAll('sysmon.', 'Erlang VM monitor: Hermod runs on Node.js');
  m.unsupportedAll('os_mon.', 'Erlang VM monitor: Hermod runs on Node.js');
  m.unsupportedAll('vm_mon.', 'Erlang VM monitor: Hermod runs on Node.js');
  m.map('alarm.actions', 'alarm.actions', list);
  m.map('alarm.size_limit', 'alarm.size_limit', int);
  m.map('alarm.validity_period', 'alarm.validity_period', duration);
  m.unsupportedAll('alarm.', 'alarm settings differ: see the alarm section of etc/hermod.conf');
  m.unsupportedAll('plugins.', 'Hermod plugins are TypeScript packages (see docs/plugins.md)');
  m.unsupportedAll('module.', 'this module has no Hermod counterpart');
}
