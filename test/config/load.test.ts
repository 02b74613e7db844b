/** loadConfig: defaults, environment overrides, the runtime override file and their precedence. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { envOverrides, isConfigVariable } from '../../src/config/env.js';
import { displayPath } from '../../src/config/hocon/index.js';
import { formatConfigError, type LoadResult, loadConfig } from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/resolve.js';
import { ConfigService } from '../../src/config/service.js';

const root = mkdtempSync(join(tmpdir(), 'hermod-load-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh directory with `files` (name → text) in it. */
function dir(files: Record<string, string> = {}): string {
  const d = join(root, `case${n++}`);
  mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}

function ok(r: LoadResult): Extract<LoadResult, { ok: true }> {
  if (!r.ok) assert.fail(r.errors.map(formatConfigError).join('\n'));
  return r;
}

function errors(r: LoadResult): string[] {
  assert.equal(r.ok, false);
  return r.ok ? [] : r.errors.map(formatConfigError);
}

describe('defaults', () => {
  test('no file, no environment: the built-in defaults', () => {
    const d = dir();
    const r = ok(loadConfig({ env: {}, dataDir: d }));
    assert.deepEqual(r.config, { ...defaultConfig(), node: { ...defaultConfig().node, data_dir: d } });
    assert.deepEqual(r.overrides, {});
    assert.equal(r.overridePath, join(d, 'configs', 'cluster.hocon'));
  });

  test('a config file that does not exist is an error', () => {
    const d = dir();
    assert.deepEqual(errors(loadConfig({ file: join(d, 'nope.conf'), env: {} })), [
      `config error: ${displayPath(join(d, 'nope.conf'))}: cannot read config file: file not found`,
    ]);
  });
});

describe('environment overrides', () => {
  test('which variables count', () => {
    assert.equal(isConfigVariable('HERMOD_LISTENERS__TCP__DEFAULT__BIND'), true);
    assert.equal(isConfigVariable('HERMOD_MQTT'), true);
    assert.equal(isConfigVariable('HERMOD_SYS_TOPICS'), true);
    assert.equal(isConfigVariable('HERMOD_CONFIG'), false);
    assert.equal(isConfigVariable('HERMOD_LOG_LEVEL'), false);
    assert.equal(isConfigVariable('EMQX_NODE__NAME'), true);
    assert.equal(isConfigVariable('EMQX_ETC_DIR'), false);
    assert.equal(isConfigVariable('PATH'), false);
  });

  test('scalars, nested keys, arrays, objects and plain strings', () => {
    const d = dir();
    const r = ok(
      loadConfig({
        dataDir: d,
        env: {
          HERMOD_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:11883',
          HERMOD_MQTT__MAX_INFLIGHT: '64',
          HERMOD_MQTT__RETAIN_AVAILABLE: 'false',
          HERMOD_MQTT__IDLE_TIMEOUT: '1m',
          HERMOD_MQTT__KEEPALIVE_MULTIPLIER: '2.5',
          HERMOD_NODE__NAME: 'edge@10.0.0.1',
          HERMOD_NODE__COOKIE: '12345',
          HERMOD_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__VERSIONS: '[tlsv1.3]',
          HERMOD_LISTENERS__SSL__DEFAULT__ENABLE: 'false',
          HERMOD_LISTENERS__TCP__DEFAULT__ACCESS_RULES: '["deny 10.0.0.0/8", "allow all"]',
          HERMOD_SYS_TOPICS: '{sys_msg_interval = 5s, sys_event_messages { client_subscribed = true }}',
          HERMOD_LOG__FILE__AUDIT__PATH: '"log/audit.log"',
          HERMOD_LOG__FILE__AUDIT__ENABLE: 'false',
          HERMOD_LOG_LEVEL: 'debug',
          UNRELATED__VAR: 'x',
        },
      }),
    );
    const c = r.config;
    assert.deepEqual(c.listeners.tcp.default!.bind, { host: '127.0.0.1', port: 11883 });
    assert.equal(c.mqtt.max_inflight, 64);
    assert.equal(c.mqtt.retain_available, false);
    assert.equal(c.mqtt.idle_timeout, 60_000);
    assert.equal(c.mqtt.keepalive_multiplier, 2.5);
    assert.equal(c.node.name, 'edge@10.0.0.1');
    assert.equal(c.node.cookie, '12345', 'a string key keeps digits as a string');
    assert.deepEqual(c.listeners.ssl.default!.ssl_options.versions, ['tlsv1.3']);
    assert.deepEqual(c.listeners.tcp.default!.access_rules, ['deny 10.0.0.0/8', 'allow all']);
    assert.equal(c.sys_topics.sys_msg_interval, 5000);
    assert.equal(c.sys_topics.sys_event_messages.client_subscribed, true);
    assert.equal(c.sys_topics.sys_event_messages.client_connected, true, 'an object value merges');
    assert.equal(c.log.file.audit!.path, 'log/audit.log');
    assert.deepEqual(r.origins.get('mqtt.max_inflight'), { source: 'env HERMOD_MQTT__MAX_INFLIGHT' });
  });

  test('a more specific variable wins over a whole-section one', () => {
    const r = ok(
      loadConfig({
        dataDir: dir(),
        env: { HERMOD_MQTT__MAX_INFLIGHT: '7', HERMOD_MQTT: '{max_inflight = 3, max_awaiting_rel = 9}' },
      }),
    );
    assert.equal(r.config.mqtt.max_inflight, 7);
    assert.equal(r.config.mqtt.max_awaiting_rel, 9);
  });

  test('the environment wins over the file', () => {
    const d = dir({ 'h.conf': 'mqtt.max_inflight = 10\nmqtt.max_awaiting_rel = 11\n' });
    const r = ok(
      loadConfig({ file: join(d, 'h.conf'), dataDir: d, env: { HERMOD_MQTT__MAX_INFLIGHT: '20' } }),
    );
    assert.equal(r.config.mqtt.max_inflight, 20);
    assert.equal(r.config.mqtt.max_awaiting_rel, 11);
  });

  test('bad values and unknown keys name the variable', () => {
    const d = dir({ 'h.conf': 'mqtt.max_inflight = 10\n' });
    assert.deepEqual(
      errors(
        loadConfig({
          file: join(d, 'h.conf'),
          dataDir: d,
          env: { HERMOD_MQTT__MAX_INFLIGHT: 'lots', HERMOD_MQTT__NO_SUCH_KEY: '1', HERMOD_NOPE__X: 'y' },
        }),
      ),
      [
        'config error: env HERMOD_MQTT__MAX_INFLIGHT: mqtt.max_inflight: expected integer (got "lots")',
        'config error: env HERMOD_MQTT__NO_SUCH_KEY: mqtt.no_such_key: unknown key (got 1)',
        'config error: env HERMOD_NOPE__X: nope: unknown key (got {"x":"y"})',
      ],
    );
  });

  test('values may name other environment variables', () => {
    const list = envOverrides({ HERMOD_NODE__DATA_DIR: '${BASE}/hermod', BASE: '/srv' });
    assert.deepEqual(list, [
      { name: 'HERMOD_NODE__DATA_DIR', path: ['node', 'data_dir'], value: '/srv/hermod' },
    ]);
  });

  test('file substitutions read the environment', () => {
    const d = dir({
      'h.conf': 'listeners.tcp.default.bind = "127.0.0.1:"${MQTT_PORT}\nnode.name = ${?NODE_NAME}\n',
    });
    const r = ok(loadConfig({ file: join(d, 'h.conf'), dataDir: d, env: { MQTT_PORT: '2883' } }));
    assert.deepEqual(r.config.listeners.tcp.default!.bind, { host: '127.0.0.1', port: 2883 });
    assert.equal(r.config.node.name, 'hermod@127.0.0.1');
  });
});

describe('override file (runtime changes)', () => {
  test('is read from node.data_dir given by the file or the environment', () => {
    const d = dir({
      'data/configs/cluster.hocon': '{"mqtt": {"max_inflight": 50}}\n',
      'data2/configs/cluster.hocon': '{"mqtt": {"max_inflight": 60}}\n',
    });
    writeFileSync(join(d, 'h.conf'), `node.data_dir = "${join(d, 'data')}"\nmqtt.max_inflight = 10\n`);
    const fromFile = ok(loadConfig({ file: join(d, 'h.conf'), env: {} }));
    assert.equal(fromFile.config.mqtt.max_inflight, 50);
    assert.equal(fromFile.overridePath, join(d, 'data', 'configs', 'cluster.hocon'));
    assert.deepEqual(fromFile.overrides, { mqtt: { max_inflight: 50 } });
    const fromEnv = ok(
      loadConfig({ file: join(d, 'h.conf'), env: { HERMOD_NODE__DATA_DIR: join(d, 'data2') } }),
    );
    assert.equal(fromEnv.config.mqtt.max_inflight, 60);
    assert.equal(fromEnv.config.node.data_dir, join(d, 'data2'));
  });

  test('file < override file < environment; an override replaces its whole root key', () => {
    const d = dir({ 'configs/cluster.hocon': '{"mqtt": {"max_inflight": 50}}\n' });
    writeFileSync(
      join(d, 'h.conf'),
      'mqtt { max_inflight = 10, max_awaiting_rel = 11 }\nretainer.enable = false\n',
    );
    const r = ok(loadConfig({ file: join(d, 'h.conf'), dataDir: d, env: {} }));
    assert.equal(r.config.mqtt.max_inflight, 50);
    assert.equal(r.config.mqtt.max_awaiting_rel, 100, 'the override replaced mqtt as a whole');
    assert.equal(r.config.retainer.enable, false, 'other root keys still come from the file');
    const withEnv = ok(
      loadConfig({ file: join(d, 'h.conf'), dataDir: d, env: { HERMOD_MQTT__MAX_INFLIGHT: '70' } }),
    );
    assert.equal(withEnv.config.mqtt.max_inflight, 70);
  });

  test('what ConfigService persists is read back at the next boot', async () => {
    const d = dir();
    const first = ok(loadConfig({ dataDir: d, env: {} }));
    const service = new ConfigService(first.raw, first.config, first.overridePath, first.overrides);
    await service.update('mqtt', { ...(service.getRaw('mqtt') as object), max_inflight: 99 });
    const second = ok(loadConfig({ dataDir: d, env: {} }));
    assert.equal(second.config.mqtt.max_inflight, 99);
    assert.deepEqual(Object.keys(second.overrides), ['mqtt']);
  });

  test('errors in the override file name its line', () => {
    const d = dir({ 'configs/cluster.hocon': '{\n  "mqtt": {\n    "max_inflight": "x"\n  }\n}\n' });
    assert.deepEqual(errors(loadConfig({ dataDir: d, env: {} })), [
      `config error: ${displayPath(join(d, 'configs', 'cluster.hocon'))}:3: mqtt.max_inflight: expected integer (got "x")`,
    ]);
  });

  test('node.data_dir cannot move through the override file', () => {
    const d = dir({ 'configs/cluster.hocon': '{"node": {"name": "n@h", "data_dir": "/elsewhere"}}\n' });
    writeFileSync(join(d, 'h.conf'), `node.data_dir = "${d}"\n`);
    const r = ok(loadConfig({ file: join(d, 'h.conf'), env: {} }));
    assert.equal(r.config.node.data_dir, d);
    assert.equal(r.config.node.name, 'n@h');
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /node\.data_dir is ignored there/);
  });
});
