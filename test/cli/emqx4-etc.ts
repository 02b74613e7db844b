/**
 * An EMQX 4.4 `etc/` tree as an install has it, with the default files' key names (emqx.conf, acl.conf,
 * plugins/*.conf) and `data/loaded_plugins`, written for a migration test. Ports and backend servers are the
 * test's; everything else keeps 4.4's defaults.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Emqx4Ports {
  tcp: number;
  tcpInternal: number;
  ws: number;
  dashboard: number;
  stomp: number;
  mqttsn: number;
  mysql: number;
  pgsql: number;
  http: number;
}

export interface Emqx4Backends {
  my: { user: string; password: string; database: string };
  pg: { user: string; password: string; database: string };
}

function emqxConf(p: Emqx4Ports): string {
  return `## EMQX 4.4 emqx.conf (default keys)
cluster.name = emqxcl
cluster.proto_dist = inet_tcp
cluster.discovery = manual
cluster.autoheal = on
node.name = emqx@127.0.0.1
node.cookie = emqxsecretcookie
node.data_dir = data
node.process_limit = 2097152
node.max_ports = 1048576
rpc.mode = async
log.to = file
log.level = warning
log.dir = log
log.file = emqx.log
log.rotation.size = 10MB
log.rotation.count = 5
allow_anonymous = true
acl_nomatch = deny
acl_file = etc/acl.conf
enable_acl_cache = on
acl_cache_max_size = 32
acl_cache_ttl = 1m
acl_deny_action = ignore
flapping_detect_policy = 30, 1m, 5m
mqtt.max_packet_size = 1MB
mqtt.max_clientid_len = 65535
mqtt.max_topic_levels = 128
mqtt.max_qos_allowed = 2
mqtt.max_topic_alias = 65535
mqtt.retain_available = true
mqtt.wildcard_subscription = true
mqtt.shared_subscription = true
mqtt.ignore_loop_deliver = false
mqtt.strict_mode = false
zone.external.idle_timeout = 15s
zone.external.enable_acl = on
zone.external.enable_ban = on
zone.external.enable_stats = on
zone.external.acl_deny_action = ignore
zone.external.force_gc_policy = 16000|16MB
zone.external.keepalive_backoff = 0.75
zone.external.max_subscriptions = 0
zone.external.upgrade_qos = off
zone.external.max_inflight = 32
zone.external.retry_interval = 30s
zone.external.max_awaiting_rel = 100
zone.external.await_rel_timeout = 300s
zone.external.session_expiry_interval = 2h
zone.external.max_mqueue_len = 1000
zone.external.mqueue_priorities = none
zone.external.mqueue_default_priority = highest
zone.external.mqueue_store_qos0 = true
zone.external.enable_flapping_detect = off
zone.external.use_username_as_clientid = false
zone.external.ignore_loop_deliver = false
zone.external.strict_mode = false
zone.internal.allow_anonymous = true
zone.internal.enable_stats = on
zone.internal.enable_acl = off
zone.internal.acl_deny_action = ignore
zone.internal.max_subscriptions = 0
zone.internal.max_inflight = 128
listener.tcp.external = 0.0.0.0:${p.tcp}
listener.tcp.external.acceptors = 8
listener.tcp.external.max_connections = 1024000
listener.tcp.external.max_conn_rate = 1000
listener.tcp.external.active_n = 100
listener.tcp.external.zone = external
listener.tcp.external.access.1 = allow all
listener.tcp.external.backlog = 1024
listener.tcp.external.send_timeout = 15s
listener.tcp.external.send_timeout_close = on
listener.tcp.external.reuseaddr = true
listener.tcp.external.nodelay = true
listener.tcp.internal = 127.0.0.1:${p.tcpInternal}
listener.tcp.internal.acceptors = 4
listener.tcp.internal.max_connections = 1024000
listener.tcp.internal.max_conn_rate = 1000
listener.tcp.internal.active_n = 1000
listener.tcp.internal.zone = internal
listener.tcp.internal.backlog = 512
listener.tcp.internal.send_timeout = 5s
listener.tcp.internal.send_timeout_close = on
listener.tcp.internal.nodelay = false
listener.tcp.internal.reuseaddr = true
listener.ws.external = ${p.ws}
listener.ws.external.mqtt_path = /mqtt
listener.ws.external.acceptors = 4
listener.ws.external.max_connections = 102400
listener.ws.external.max_conn_rate = 1000
listener.ws.external.active_n = 100
listener.ws.external.zone = external
listener.ws.external.access.1 = allow all
listener.ws.external.backlog = 1024
listener.ws.external.send_timeout = 15s
listener.ws.external.send_timeout_close = on
listener.ws.external.nodelay = true
listener.ws.external.mqtt_piggyback = multiple
module.subscription.1.topic = connected/%c/%u
module.subscription.1.qos = 1
broker.sys_interval = 1m
broker.sys_heartbeat = 30s
broker.session_locking_strategy = quorum
broker.shared_subscription_strategy = random
broker.shared_dispatch_ack_enabled = false
broker.route_batch_clean = off
sysmon.long_gc = 0ms
sysmon.long_schedule = 240ms
os_mon.cpu_check_interval = 60s
vm_mon.check_interval = 30s
alarm.actions = log,publish
`;
}

const ACL_CONF = `%% EMQX 4.4 etc/acl.conf
{allow, {user, "dashboard"}, subscribe, ["$SYS/#"]}.

{allow, {ipaddr, "127.0.0.1"}, pubsub, ["$SYS/#", "#"]}.

{deny, all, subscribe, ["$SYS/#", {eq, "#"}]}.

{allow, all}.
`;

function plugins(p: Emqx4Ports, b: Emqx4Backends): Record<string, string> {
  return {
    // The 4.4 file's form (quoted values).
    emqx_auth_mysql: `auth.mysql.server = "127.0.0.1:${p.mysql}"
auth.mysql.pool = 8
auth.mysql.username = ${b.my.user}
auth.mysql.password = ${b.my.password}
auth.mysql.database = ${b.my.database}
auth.mysql.query_timeout = 5s
auth.mysql.auth_query = "select password from mqtt_user where username = '%u' limit 1"
auth.mysql.password_hash = sha256
auth.mysql.super_query = "select is_superuser from mqtt_user where username = '%u' limit 1"
auth.mysql.acl_query = "select allow, ipaddr, username, clientid, access, topic from mqtt_acl where ipaddr = '%a' or username = '%u' or username = '$all' or clientid = '%c'"
`,
    // Seed 002's snippet form (3.x keys, bare values).
    emqx_auth_pgsql: `auth.pgsql.server = 127.0.0.1:${p.pgsql}
auth.pgsql.pool = 8
auth.pgsql.username = ${b.pg.user}
auth.pgsql.password = ${b.pg.password}
auth.pgsql.database = ${b.pg.database}
auth.pgsql.encoding = utf8
auth.pgsql.ssl = false
auth.pgsql.auth_query = select password from mqtt_user where username = '%u' limit 1
auth.pgsql.password_hash = sha256
auth.pgsql.super_query = select is_superuser from mqtt_user where username = '%u' limit 1
auth.pgsql.acl_query = select allow, ipaddr, username, clientid, access, topic from mqtt_acl where ipaddr = '%a' or username = '%u' or username = '$all' or clientid = '%c'
`,
    emqx_auth_redis: `auth.redis.type = single
auth.redis.server = 127.0.0.1:6379
auth.redis.pool = 8
auth.redis.database = 0
auth.redis.auth_cmd = HMGET mqtt_user:%u password
auth.redis.password_hash = plain
auth.redis.super_cmd = HGET mqtt_user:%u is_superuser
auth.redis.acl_cmd = HGETALL mqtt_acl:%u
`,
    emqx_auth_http: `auth.http.auth_req.url = http://127.0.0.1:${p.http}/mqtt/auth
auth.http.auth_req.method = post
auth.http.auth_req.headers.content-type = application/x-www-form-urlencoded
auth.http.auth_req.params = clientid=%c,username=%u,password=%P
auth.http.super_req.url = http://127.0.0.1:${p.http}/mqtt/superuser
auth.http.super_req.method = post
auth.http.super_req.headers.content-type = application/x-www-form-urlencoded
auth.http.super_req.params = clientid=%c,username=%u
auth.http.acl_req.url = http://127.0.0.1:${p.http}/mqtt/acl
auth.http.acl_req.method = post
auth.http.acl_req.headers.content-type = application/x-www-form-urlencoded
auth.http.acl_req.params = access=%A,username=%u,clientid=%c,ipaddr=%a,topic=%t,mountpoint=%m
auth.http.timeout = 5s
auth.http.connect_timeout = 5s
auth.http.pool_size = 32
auth.http.enable_pipelining = 100
`,
    emqx_auth_ldap: `auth.ldap.servers = 127.0.0.1
auth.ldap.port = 389
auth.ldap.pool = 8
auth.ldap.bind_dn = cn=root,dc=emqx,dc=io
auth.ldap.bind_password = public
auth.ldap.timeout = 30s
auth.ldap.device_dn = ou=device,dc=emqx,dc=io
auth.ldap.match_objectclass = mqttUser
auth.ldap.username.attributetype = uid
auth.ldap.password.attributetype = userPassword
auth.ldap.ssl = false
`,
    emqx_auth_mongo: `auth.mongo.type = single
auth.mongo.srv_record = false
auth.mongo.server = 127.0.0.1:27017
auth.mongo.pool = 8
auth.mongo.database = mqtt
auth.mongo.topology.pool_size = 1
auth.mongo.auth_query.collection = mqtt_user
auth.mongo.auth_query.password_field = password
auth.mongo.auth_query.password_hash = sha256
auth.mongo.auth_query.selector = username=%u
auth.mongo.super_query = on
auth.mongo.super_query.collection = mqtt_user
auth.mongo.super_query.super_field = is_superuser
auth.mongo.super_query.selector = username=%u
auth.mongo.acl_query = on
auth.mongo.acl_query.collection = mqtt_acl
auth.mongo.acl_query.selector = username=%u
`,
    emqx_auth_jwt: `auth.jwt.secret = emqxsecret
auth.jwt.from = password
auth.jwt.verify_claims = off
`,
    emqx_auth_mnesia: `auth.mnesia.password_hash = sha256
auth.user.1.username = admin
auth.user.1.password = public
`,
    emqx_retainer: `retainer.storage_type = ram
retainer.max_retained_messages = 0
retainer.max_payload_size = 1MB
retainer.expiry_interval = 0
`,
    emqx_dashboard: `dashboard.default_user.login = admin
dashboard.default_user.password = public
dashboard.listener.http = 127.0.0.1:${p.dashboard}
dashboard.listener.http.acceptors = 4
dashboard.listener.http.max_clients = 512
dashboard.listener.http.inet6 = false
dashboard.listener.http.ipv6_v6only = false
`,
    emqx_management: `management.max_row_limit = 10000
management.default_application.id = admin
management.default_application.secret = public
management.listener.http = 8081
management.listener.http.acceptors = 2
`,
    emqx_web_hook: `web.hook.url = http://127.0.0.1:${p.http}/webhook
web.hook.headers.content-type = application/json
web.hook.body.encoding_of_payload_field = plain
web.hook.pool_size = 32
web.hook.enable_pipelining = true
web.hook.rule.client.connect.1       = {"action": "on_client_connect"}
web.hook.rule.client.connected.1     = {"action": "on_client_connected"}
web.hook.rule.message.publish.1      = {"action": "on_message_publish", "topic": "sensors/#"}
`,
    emqx_exhook: `exhook.request_failed_action = deny
exhook.request_timeout = 5s
exhook.auto_reconnect = 60s
exhook.server.default.url = http://127.0.0.1:9000
`,
    emqx_stomp: `stomp.listener = ${p.stomp}
stomp.listener.acceptors = 4
stomp.listener.max_connections = 512
stomp.default_user.login = guest
stomp.default_user.passcode = guest
stomp.allow_anonymous = true
stomp.frame.max_headers = 10
stomp.frame.max_header_length = 1024
stomp.frame.max_body_length = 8192
`,
    emqx_sn: `mqtt.sn.port = ${p.mqttsn}
mqtt.sn.advertise_duration = 15m
mqtt.sn.gateway_id = 1
mqtt.sn.enable_stats = off
mqtt.sn.enable_qos3 = off
mqtt.sn.idle_timeout = 30s
mqtt.sn.predefined.topic.0 = reserved
mqtt.sn.predefined.topic.1 = /predefined/topic/name/hello
mqtt.sn.predefined.topic.2 = /predefined/topic/name/nice
mqtt.sn.username = mqtt_sn_user
mqtt.sn.password = abc
`,
    // 4.4's emqx_lua_hook.conf sets nothing.
    emqx_lua_hook: '',
    emqx_reloader: `reloader.interval = 60s
reloader.logfile = log/reloader.log
`,
    emqx_recon: `recon.gc_interval = 5m
`,
    emqx_rule_engine: `rule_engine.ignore_sys_message = on
`,
  };
}

/** The 4.x plugins loaded (data/loaded_plugins, 4.x's Erlang-term form). */
export const LOADED = [
  'emqx_management',
  'emqx_recon',
  'emqx_retainer',
  'emqx_dashboard',
  'emqx_rule_engine',
  'emqx_auth_mysql',
  'emqx_auth_pgsql',
  'emqx_auth_http',
  'emqx_web_hook',
  'emqx_exhook',
  'emqx_stomp',
  'emqx_sn',
  'emqx_lua_hook',
  'emqx_reloader',
];

/** Writes `<root>/etc/…` and `<root>/data/loaded_plugins`; returns the etc directory. */
export function writeEmqx4Etc(root: string, ports: Emqx4Ports, backends: Emqx4Backends): string {
  const etc = join(root, 'etc');
  mkdirSync(join(etc, 'plugins'), { recursive: true });
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(etc, 'emqx.conf'), emqxConf(ports));
  writeFileSync(join(etc, 'acl.conf'), ACL_CONF);
  for (const [name, text] of Object.entries(plugins(ports, backends)))
    writeFileSync(join(etc, 'plugins', `${name}.conf`), text);
  const all = Object.keys(plugins(ports, backends));
  writeFileSync(
    join(root, 'data', 'loaded_plugins'),
    all.map((n) => `{${n}, ${LOADED.includes(n)}}.`).join('\n'),
  );
  return etc;
}
