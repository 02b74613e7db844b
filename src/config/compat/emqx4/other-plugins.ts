/**
 * EMQX 3.x/4.x plugins other than authentication → Hermod: retainer, dashboard, exhook, web_hook (a shipped
 * plugin with its own config file), lua_hook (a shipped plugin), the STOMP / MQTT-SN / CoAP / LwM2M gateways,
 * and emqx_mod_subscription's `module.subscription.N.*` (auto_subscribe).
 */
import { join } from 'node:path';
import { printHocon } from '../../hocon/print.js';
import { bind, bool, bytes, duration, int, type JsonObject, type Migration } from './migration.js';

type Obj = JsonObject;

/** What a plugin's mapping needs besides its keys. */
export interface PluginContext {
  /** NAME-VSN of the shipped Hermod plugin of that name (web_hook, lua_hook). */
  shipped(name: 'web_hook' | 'lua_hook'): string;
  /** Where the 4.x plugin is listed as loaded (`loaded_plugins:3`), for a report line on the plugin itself. */
  at: string;
}

/**
 * Turns a shipped plugin on in `plugins.states`, after those already there (several 4.x plugins may each
 * bring one).
 */
function enablePlugin(m: Migration, nameVsn: string): void {
  const plugins = m.config.plugins as Obj | undefined;
  const states = Array.isArray(plugins?.states) ? (plugins.states as unknown[]) : [];
  m.set('plugins.states', [...states, { name_vsn: nameVsn, enable: true }]);
}

function retainer(m: Migration): void {
  m.map('retainer.storage_type', 'retainer.backend.storage_type', (v) => (v === 'ram' ? 'ram' : 'disc'));
  m.map('retainer.max_retained_messages', 'retainer.backend.max_retained_messages', int);
  m.map('retainer.max_message_num', 'retainer.backend.max_retained_messages', int);
  m.map('retainer.max_payload_size', 'retainer.max_payload_size', bytes);
  m.map('retainer.expiry_interval', 'retainer.msg_expiry_interval', duration);
  m.map('retainer.stop_publish_clear_msg', 'retainer.stop_publish_clear_msg', bool);
}

function dashboard(m: Migration): void {
  m.map('dashboard.default_user.login', 'dashboard.default_username');
  m.map('dashboard.default_user.password', 'dashboard.default_password');
  for (const scheme of ['http', 'https'] as const) {
    const base = `dashboard.listener.${scheme}`;
    if (!m.has(base)) continue;
    const target = `dashboard.listeners.${scheme}`;
    m.map(base, `${target}.bind`, bind);
    m.set(`${target}.enable`, true);
    m.map(`${base}.acceptors`, `${target}.num_acceptors`, int);
    m.map(`${base}.max_clients`, `${target}.max_connections`, int);
    for (const f of ['certfile', 'keyfile', 'cacertfile'])
      m.map(`${base}.${f}`, `${target}.ssl_options.${f}`, (v) => m.path(v));
  }
  m.unsupportedAll('dashboard.', 'no Hermod equivalent for this dashboard option');
}

function management(m: Migration): void {
  m.unsupportedAll(
    'management.',
    'the 4.x REST API (/api/v4 on port 8081) is not served: Hermod serves /api/v5 on the dashboard listener; create API keys there',
  );
}

function exhook(m: Migration): void {
  const shared: Obj = {};
  const put = (key: string, field: string, convert: (v: string) => unknown) => {
    const v = m.read(key, convert);
    if (v === undefined) return;
    shared[field] = v;
    m.carried(key, `exhook.servers[*].${field}`);
  };
  put('exhook.request_timeout', 'request_timeout', duration);
  put('exhook.request_failed_action', 'failed_action', (v) => v);
  put('exhook.auto_reconnect', 'auto_reconnect', (v) => (v === 'false' ? false : duration(v)));
  put('exhook.pool_size', 'pool_size', int);
  const names = new Set(m.keysUnder('exhook.server.').map((k) => k.split('.')[2]!));
  const servers: Obj[] = [];
  for (const name of names) {
    const p = `exhook.server.${name}`;
    if (!m.has(`${p}.url`)) continue;
    const s: Obj = { name, ...shared, url: m.get(`${p}.url`) };
    m.carried(`${p}.url`, `exhook.servers[${name}].url`);
    const ssl: Obj = {};
    for (const f of ['cacertfile', 'certfile', 'keyfile'])
      if (m.has(`${p}.ssl.${f}`)) {
        ssl[f] = m.path(m.get(`${p}.ssl.${f}`)!);
        m.carried(`${p}.ssl.${f}`, `exhook.servers[${name}].ssl.${f}`);
      }
    if (Object.keys(ssl).length > 0) s.ssl = { enable: true, ...ssl };
    servers.push(s);
  }
  if (servers.length > 0) m.set('exhook.servers', servers);
}

/** 4.x web_hook events Hermod's web_hook plugin posts. */
const WEB_HOOK_EVENTS = new Set([
  'client.connected',
  'client.disconnected',
  'client.subscribe',
  'client.unsubscribe',
  'session.subscribed',
  'session.unsubscribed',
  'message.publish',
  'message.delivered',
  'message.acked',
  'message.dropped',
]);

function webHook(m: Migration, ctx: PluginContext): void {
  const nameVsn = ctx.shipped('web_hook');
  const cfg: Obj = {};
  const target = `plugin ${nameVsn} config`;
  for (const key of ['web.hook.url', 'web.hook.api.url'])
    if (m.has(key)) {
      cfg.url = m.get(key);
      m.carried(key, `${target}: url`);
    }
  const headers: Obj = {};
  for (const k of m.keysUnder('web.hook.headers.')) {
    headers[k.slice('web.hook.headers.'.length)] = m.get(k);
    m.carried(k, `${target}: headers`);
  }
  if (Object.keys(headers).length > 0) cfg.headers = headers;
  for (const key of ['web.hook.body.encoding_of_payload_field', 'web.hook.encode_payload'])
    if (m.has(key)) {
      cfg.encoding_of_payload_field = m.get(key) === 'base64' ? 'base64' : 'plain';
      m.carried(key, `${target}: encoding_of_payload_field`);
    }
  const pool = m.read('web.hook.pool_size', int);
  if (pool !== undefined) {
    cfg.pool_size = pool;
    m.carried('web.hook.pool_size', `${target}: pool_size`);
  }
  const ssl: Obj = {};
  for (const f of ['cacertfile', 'certfile', 'keyfile'])
    if (m.has(`web.hook.ssl.${f}`)) {
      ssl[f] = m.path(m.get(`web.hook.ssl.${f}`)!);
      m.carried(`web.hook.ssl.${f}`, `${target}: ssl.${f}`);
    }
  const verify = m.read('web.hook.ssl.verify', bool);
  if (verify !== undefined) {
    ssl.verify = verify ? 'verify_peer' : 'verify_none';
    m.carried('web.hook.ssl.verify', `${target}: ssl.verify`);
  }
  if (Object.keys(ssl).length > 0) cfg.ssl = ssl;
  const rules: Obj[] = [];
  for (const k of m.keysUnder('web.hook.rule.')) {
    const event = k.slice('web.hook.rule.'.length).replace(/\.\d+$/, '');
    if (!WEB_HOOK_EVENTS.has(event)) {
      m.unsupported(k, `the web_hook plugin does not post ${event}`);
      continue;
    }
    let spec: Obj;
    try {
      spec = JSON.parse(m.get(k)!) as Obj;
    } catch {
      m.unsupported(k, 'the rule is not JSON');
      continue;
    }
    const rule: Obj = { event };
    if (typeof spec.topic === 'string') rule.topics = [spec.topic];
    rules.push(rule);
    m.carried(k, `${target}: rules`);
  }
  if (rules.length > 0) cfg.rules = rules;
  m.unsupportedAll('web.hook.', 'no web_hook plugin equivalent');
  enablePlugin(m, nameVsn);
  m.files.push({
    name: 'web_hook.config.hocon',
    what: `the ${nameVsn} plugin config: copy it to <data_dir>/plugins/web_hook/config.hocon (or PUT it to /api/v5/plugins/${nameVsn}/config)`,
    content: printHocon(cfg as Record<string, never>),
  });
}

/**
 * emqx_lua_hook has no settings (its emqx_lua_hook.conf is comments only): the plugin being loaded is what
 * matters, so the report gets a line for the plugin itself, or a user would find nothing about their
 * scripts in it. The scripts themselves run unchanged under the shipped lua_hook plugin.
 */
function luaHook(m: Migration, ctx: PluginContext): void {
  const nameVsn = ctx.shipped('lua_hook');
  enablePlugin(m, nameVsn);
  // 4.x loads every *.lua of data/scripts, next to etc/.
  const scripts = join(m.etcDir, '..', 'data', 'scripts');
  m.plugin('emqx_lua_hook', ctx.at, 'renamed', {
    target: `plugins.states[${nameVsn}]`,
    reason: `Lua hook scripts run as they are under the shipped lua_hook plugin, enabled here: copy the *.lua files of ${scripts} to <node.data_dir>/scripts (or set the plugin's script_dir)`,
  });
  m.unsupportedAll('lua.hook.', 'not a lua_hook plugin setting (it has script_dir and instruction_budget)');
}

/** Gateway listener name for 4.x's numbered binds: the first is `default`. */
function gwListenerName(n: string, i: number): string {
  return i === 0 ? 'default' : `l${n}`;
}

function stomp(m: Migration): void {
  const g = 'gateway.stomp';
  if (!m.has('stomp.listener')) m.set(`${g}.listeners.tcp.default.bind`, '0.0.0.0:61613');
  m.map('stomp.listener', `${g}.listeners.tcp.default.bind`, bind);
  m.map('stomp.listener.acceptors', `${g}.listeners.tcp.default.acceptors`, int);
  m.map('stomp.listener.max_connections', `${g}.listeners.tcp.default.max_connections`, int);
  m.map('stomp.listener.max_clients', `${g}.listeners.tcp.default.max_connections`, int);
  m.map('stomp.frame.max_headers', `${g}.frame.max_headers`, int);
  m.map('stomp.frame.max_header_length', `${g}.frame.max_headers_length`, int);
  m.map('stomp.frame.max_body_length', `${g}.frame.max_body_length`, int);
  if (m.read('stomp.allow_anonymous', bool) !== false) {
    m.carried('stomp.allow_anonymous', g, 'no gateway authenticator: every STOMP client is let in');
    m.unsupportedAll('stomp.default_user', 'allow_anonymous is on: the default user is not checked');
  } else
    m.unsupportedAll(
      'stomp.',
      'give gateway.stomp an authenticator (e.g. built_in_database) and add the default user to it',
    );
  m.unsupportedAll('stomp.', 'no STOMP gateway equivalent');
}

function mqttsn(m: Migration): void {
  const g = 'gateway.mqttsn';
  if (!m.has('mqtt.sn.port')) m.set(`${g}.listeners.udp.default.bind`, '0.0.0.0:1884');
  m.map('mqtt.sn.port', `${g}.listeners.udp.default.bind`, bind);
  m.map('mqtt.sn.gateway_id', `${g}.gateway_id`, int);
  m.map('mqtt.sn.enable_qos3', `${g}.enable_qos3`, bool);
  m.map('mqtt.sn.idle_timeout', `${g}.idle_timeout`, duration);
  m.map('mqtt.sn.enable_stats', `${g}.enable_stats`, bool);
  m.map('mqtt.sn.subs_resume', `${g}.subs_resume`, bool);
  m.map('mqtt.sn.username', `${g}.clientinfo_override.username`);
  m.map('mqtt.sn.password', `${g}.clientinfo_override.password`);
  const predefined: Obj[] = [];
  for (const k of m.keysUnder('mqtt.sn.predefined.topic.')) {
    const id = Number(k.split('.').pop());
    if (id === 0) {
      m.unsupported(k, 'topic id 0 is reserved');
      continue;
    }
    predefined.push({ id, topic: m.get(k) });
    m.carried(k, `${g}.predefined`);
  }
  if (predefined.length > 0) m.set(`${g}.predefined`, predefined);
  m.unsupported('mqtt.sn.advertise_duration', 'ADVERTISE is not broadcast periodically');
  m.unsupportedAll('mqtt.sn.', 'no MQTT-SN gateway equivalent');
}

function coap(m: Migration): void {
  const g = 'gateway.coap';
  // 4.x let clients publish and subscribe without a connection.
  m.set(`${g}.connection_required`, false);
  const udp = m.keysUnder('coap.bind.udp.');
  const dtls = m.keysUnder('coap.bind.dtls.');
  for (const [kind, keys] of [
    ['udp', udp],
    ['dtls', dtls],
  ] as const)
    keys.forEach((k, i) => {
      m.map(k, `${g}.listeners.${kind}.${gwListenerName(k.split('.').pop()!, i)}.bind`, bind);
    });
  // 3.x: `coap.server = 5683`.
  if (udp.length === 0) {
    if (m.has('coap.server')) m.map('coap.server', `${g}.listeners.udp.default.bind`, bind);
    else m.set(`${g}.listeners.udp.default.bind`, '0.0.0.0:5683');
  }
  if (dtls.length > 0)
    for (const f of ['keyfile', 'certfile', 'cacertfile'])
      m.map(`coap.dtls.${f}`, `${g}.listeners.dtls.default.dtls_options.${f}`, (v) => m.path(v));
  m.map('coap.enable_stats', `${g}.enable_stats`, bool);
  m.unsupportedAll(
    'coap.',
    "4.x's /mqtt/{topic}?c=&u=&p= resources: Hermod serves EMQX 5's /ps/{topic} and /mqtt/connection, so clients need the new paths",
  );
}

function lwm2m(m: Migration): void {
  const g = 'gateway.lwm2m';
  // Read before the binds are mapped (mapping consumes the keys).
  const hasDtls = m.keysUnder('lwm2m.bind.dtls.').length > 0;
  for (const kind of ['udp', 'dtls'] as const)
    m.keysUnder(`lwm2m.bind.${kind}.`).forEach((k, i) => {
      m.map(k, `${g}.listeners.${kind}.${gwListenerName(k.split('.').pop()!, i)}.bind`, bind);
    });
  m.map('lwm2m.port', `${g}.listeners.udp.default.bind`, bind);
  m.map('lwm2m.lifetime_min', `${g}.lifetime_min`, duration);
  m.map('lwm2m.lifetime_max', `${g}.lifetime_max`, duration);
  m.map('lwm2m.qmode_time_window', `${g}.qmode_time_window`, (v) => duration(/^\d+$/.test(v) ? `${v}s` : v));
  m.map('lwm2m.auto_observe', `${g}.auto_observe`, bool);
  m.map('lwm2m.mountpoint', `${g}.mountpoint`, (v) => v.replace(/%e/g, '${endpoint_name}'));
  m.map('lwm2m.xml_dir', `${g}.xml_dir`, (v) => m.path(v));
  for (const t of ['command', 'response', 'notify', 'register', 'update'])
    m.map(`lwm2m.topics.${t}`, `${g}.translators.${t}.topic`);
  m.map('lwm2m.update_msg_publish_condition', `${g}.update_msg_publish_condition`, (v) => {
    if (v !== 'always' && v !== 'contains_object_list')
      throw new Error(`expected always or contains_object_list, got ${JSON.stringify(v)}`);
    return v;
  });
  // 4.x's one set of certificate files serves every dtls bind; the first is the `default` listener.
  if (hasDtls)
    for (const f of ['keyfile', 'certfile', 'cacertfile'])
      m.map(`lwm2m.dtls.${f}`, `${g}.listeners.dtls.default.dtls_options.${f}`, (v) => m.path(v));
  m.unsupportedAll(
    'lwm2m.opts.',
    "UDP socket options of the Erlang VM: Hermod's gateway uses the OS defaults",
  );
  m.unsupportedAll('lwm2m.', 'no LwM2M gateway equivalent');
}

function subscriptionModule(m: Migration): void {
  const topics: Obj[] = [];
  const ns = new Set(
    m
      .keysUnder('module.subscription.')
      .map((k) => k.split('.')[2]!)
      .filter((n) => /^\d+$/.test(n)),
  );
  for (const n of [...ns].sort((a, b) => Number(a) - Number(b))) {
    const p = `module.subscription.${n}`;
    if (!m.has(`${p}.topic`)) continue;
    const t: Obj = { topic: m.get(`${p}.topic`) };
    m.carried(`${p}.topic`, 'auto_subscribe.topics');
    for (const o of ['qos', 'nl', 'rap', 'rh']) {
      const v = m.read(`${p}.${o}`, int);
      if (v === undefined) continue;
      t[o] = v;
      m.carried(`${p}.${o}`, `auto_subscribe.topics.${o}`);
    }
    topics.push(t);
  }
  if (topics.length > 0) m.set('auto_subscribe.topics', topics);
}

/** Plugins with their own mapping, and the key prefixes of each. */
export const OTHER_PLUGINS: Readonly<
  Record<string, { prefixes: string[]; gateway?: string; map(m: Migration, ctx: PluginContext): void }>
> = {
  emqx_retainer: { prefixes: ['retainer.'], map: retainer },
  emqx_dashboard: { prefixes: ['dashboard.'], map: dashboard },
  emqx_management: { prefixes: ['management.'], map: management },
  emqx_exhook: { prefixes: ['exhook.'], map: exhook },
  emqx_web_hook: { prefixes: ['web.hook.'], map: webHook },
  emqx_lua_hook: { prefixes: ['lua.hook.'], map: luaHook },
  emqx_stomp: { prefixes: ['stomp.'], gateway: 'stomp', map: stomp },
  emqx_sn: { prefixes: ['mqtt.sn.'], gateway: 'mqttsn', map: mqttsn },
  emqx_coap: { prefixes: ['coap.'], gateway: 'coap', map: coap },
  emqx_lwm2m: { prefixes: ['lwm2m.'], gateway: 'lwm2m', map: lwm2m },
  emqx_mod_subscription: { prefixes: ['module.subscription.'], map: subscriptionModule },
};

/**
 * Plugins whose settings Hermod does not carry, with the reason the report gives (for each key, or for the
 * plugin itself when its file sets none).
 */
export const UNSUPPORTED_PLUGINS: Readonly<Record<string, { prefixes: string[]; reason: string }>> = {
  emqx_rule_engine: { prefixes: ['rule_engine.'], reason: 'no rule engine yet' },
  emqx_bridge_mqtt: { prefixes: ['bridge.'], reason: 'no MQTT bridge yet' },
  emqx_recon: {
    prefixes: ['recon.'],
    reason:
      'Erlang VM tool: the shipped diagnostics plugin answers hermod ctl recon memory|allocated|bin_leak|node_stats for Node.js',
  },
  emqx_reloader: {
    prefixes: ['reloader.'],
    reason:
      "reloads changed Erlang modules: for Hermod plugins, the shipped reloader plugin restarts a plugin when its files change (node.profile = dev, or its force; hermod ctl reload NAME); 4.x's interval and logfile have no counterpart",
  },
  emqx_telemetry: { prefixes: ['telemetry.'], reason: 'Hermod sends no telemetry' },
  emqx_prometheus: {
    prefixes: ['prometheus.'],
    reason: 'Prometheus push is not implemented: scrape /api/v5/prometheus/stats',
  },
  emqx_psk_file: {
    prefixes: ['psk.'],
    reason:
      "TLS-PSK on MQTT listeners is not implemented (psk_authentication.init_file, same file format, serves the gateways' dtls listeners)",
  },
  emqx_exproto: {
    prefixes: ['exproto.'],
    reason: "4.x ExProto's config form: write gateway.exproto by hand",
  },
};
