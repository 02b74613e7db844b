/**
 * EMQX 5.8's own config files (test/fixtures/config/emqx) load unchanged: keys Hermod implements mean what
 * they mean in EMQX, keys it does not are accepted with one warning each, and typos are still refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { describeUnsupported, emqxEdition } from '../../src/config/compat/emqx-keys.js';
import { formatConfigError, type LoadResult, loadConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { parseRate } from '../../src/config/units.js';
import { fixture } from '../helpers/fixtures.js';

const dir = fixture('config', 'emqx');
const tmp = mkdtempSync(join(tmpdir(), 'hermod-emqx-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function load(file: string, env: Record<string, string> = {}): Extract<LoadResult, { ok: true }> {
  const r = loadConfig({ file: join(dir, file), env, dataDir: tmp });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
  return r;
}

/** Loads HOCON text written to a temp file. */
function loadText(text: string, env: Record<string, string> = {}): LoadResult {
  const file = join(tmp, `t${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, text);
  return loadConfig({ file, env, dataDir: tmp });
}

describe('EMQX 5.8 example files load unchanged', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.conf'));
  assert.ok(files.length >= 20);
  for (const f of files) {
    test(f, () => {
      const r = load(f);
      // Every warning is one accepted, unimplemented key, and the other way round.
      assert.deepEqual(
        r.warnings.map((w) => w.replace(/^.*?\.conf:\d+: /, '')),
        r.unsupported.map(describeUnsupported),
      );
    });
  }
});

describe('what the EMQX files mean', () => {
  test('the shipped emqx.conf: cluster keys taken as written, node and dashboard too, https off', () => {
    const r = load('emqx.conf');
    assert.deepEqual(r.warnings, []);
    assert.equal(r.config.cluster.name, 'emqxcl');
    assert.equal(r.config.cluster.discovery_strategy, 'manual');
    assert.deepEqual(r.config.cluster.nats.servers, [], 'no NATS servers: a single node');
    assert.equal(r.config.node.name, 'emqx@127.0.0.1');
    assert.equal(r.config.node.cookie, 'emqxsecretcookie');
    assert.deepEqual(r.config.dashboard.listeners.http.bind, { host: '0.0.0.0', port: 18083 });
    assert.equal(r.config.dashboard.listeners.https.enable, false, 'https has no bind, so it stays off');
    // ${EMQX_ETC_DIR} defaults to the directory of the main config file.
    assert.equal(r.config.dashboard.listeners.https.ssl_options.certfile, join(dir, 'certs', 'cert.pem'));
    // The raw config keeps what the user wrote, EMQX keys included (the config API shows them).
    assert.deepEqual(r.raw.cluster, { name: 'emqxcl', discovery_strategy: 'manual' });
  });

  test('TLS listener: quoted ${EMQX_ETC_DIR} paths, ciphers string, enabled alias, log_level warned', () => {
    const r = load('listeners.ssl.conf', { EMQX_ETC_DIR: '/opt/emqx/etc' });
    const l = r.config.listeners.ssl.my_ssl_listener_name!;
    assert.equal(l.enable, true);
    assert.equal(l.ssl_options.certfile, '/opt/emqx/etc/certs/cert.pem');
    assert.equal(l.ssl_options.keyfile, '/opt/emqx/etc/certs/key.pem');
    assert.equal(l.ssl_options.cacertfile, '/opt/emqx/etc/certs/cacert.pem');
    assert.deepEqual(l.ssl_options.ciphers, [
      'TLS_AES_256_GCM_SHA384',
      'TLS_AES_128_GCM_SHA256',
      'ECDHE-RSA-AES256-GCM-SHA384',
    ]);
    assert.ok(
      r.unsupported.some((k) => k.path === 'listeners.ssl.my_ssl_listener_name.ssl_options.log_level'),
    );
    // The ocsp block has no effect in Hermod: each of its keys is reported.
    assert.equal(r.unsupported.filter((k) => k.path.includes('.ocsp.')).length, 5);
  });

  test('ciphers as an array still work', () => {
    const r = resolveConfig({ listeners: { ssl: { s: { ssl_options: { ciphers: ['A', 'B'] } } } } });
    assert.ok(r.ok);
    assert.deepEqual(r.value.listeners.ssl.s!.ssl_options.ciphers, ['A', 'B']);
  });

  test('log.file as a single handler object is the "default" handler', () => {
    const r = load('log.file.conf');
    assert.deepEqual(Object.keys(r.config.log.file), ['default']);
    assert.equal(r.config.log.file.default!.level, 'warning');
    assert.equal(r.config.log.file.default!.rotation_count, 10);
    assert.equal(r.config.log.file.default!.rotation_size, 50 * 1024 * 1024);
    // A map of named handlers is still a map.
    const named = resolveConfig({ log: { file: { audit: { path: 'log/a.log' } } } });
    assert.ok(named.ok);
    assert.deepEqual(Object.keys(named.value.log.file), ['audit']);
  });

  test('timestamp_format is accepted with a warning', () => {
    const r = loadText('log.console.timestamp_format = rfc3339\nlog.file { timestamp_format = epoch }\n');
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.deepEqual(
      r.unsupported.map((k) => k.path),
      ['log.console.timestamp_format', 'log.file.default.timestamp_format'],
    );
  });

  test('rates: "1000/s" and numbers for max_conn_rate; messages_rate and bytes_rate warned', () => {
    const r = load('rate_limit.conf');
    assert.equal(r.config.listeners.tcp.my_tcp_listener_name!.max_conn_rate, 1000);
    assert.deepEqual(
      r.unsupported.map((k) => k.path),
      ['listeners.tcp.my_tcp_listener_name.messages_rate', 'listeners.tcp.my_tcp_listener_name.bytes_rate'],
    );
    assert.equal(parseRate('60/1m'), 1);
    assert.equal(parseRate('500/10s'), 50);
    assert.equal(parseRate(250), 250);
    assert.equal(parseRate('infinity'), Number.POSITIVE_INFINITY);
    assert.equal(parseRate('fast'), undefined);
    // Any count over any period reads as that count spread over the period's seconds.
    const units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const;
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom(...(Object.keys(units) as Array<keyof typeof units>)),
        (n, k, unit) => {
          const r = parseRate(`${n}/${k}${unit}`)!;
          assert.ok(Math.abs(r - n / (k * units[unit])) <= 1e-9 * Math.max(1, r));
        },
      ),
    );
    const bad = loadText('listeners.tcp.default.max_conn_rate = "lots"\n');
    assert.equal(bad.ok, false);
    if (!bad.ok)
      assert.match(formatConfigError(bad.errors[0]!), /max_conn_rate: expected a rate such as "1000\/s"/);
  });

  test('dashboard https: a bind starts it, TLS keys on the listener move under ssl_options', () => {
    const r = load('dashboard-with-https.conf');
    const https = r.config.dashboard.listeners.https;
    assert.equal(https.enable, true);
    assert.deepEqual(https.bind, { host: '0.0.0.0', port: 18084 });
    assert.equal(https.ssl_options.certfile, 'data/certs/cert.pem');
    assert.equal(https.ssl_options.cacertfile, 'data/certs/cacert.pem');
    const off = resolveConfig({ dashboard: { listeners: { https: { bind: 18084, enable: false } } } });
    assert.ok(off.ok);
    assert.equal(off.value.dashboard.listeners.https.enable, false, 'an explicit enable = false is kept');
  });

  test('alarm, plugins and node sections', () => {
    const a = load('alarm.conf');
    assert.deepEqual(a.config.alarm, {
      actions: ['log', 'publish'],
      size_limit: 1000,
      validity_period: 86_400_000,
    });
    const p = load('plugins.conf');
    assert.deepEqual(p.config.plugins.states, [
      { name_vsn: 'my_acl-0.1.0', enable: true },
      { name_vsn: 'my_rule-0.1.1', enable: false },
    ]);
    assert.equal(p.config.plugins.install_dir, 'plugins');
    const n = load('node.conf');
    assert.deepEqual(
      n.unsupported.map((k) => k.path),
      ['node.role', 'node.dist_buffer_size', 'node.global_gc_interval'],
    );
  });

  test('plugins is open: plugin-specific keys pass', () => {
    const r = loadText(
      'plugins { my_plugin { anything = 1 }, check_interval = 5s, states = [{name_vsn = "a-1", x = 1}] }\n',
    );
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.deepEqual(r.warnings, []);
  });
});

describe('typos stay fatal, editions are told apart', () => {
  test('a key in neither schema is an unknown key', () => {
    const r = loadText('cluster.discovery_stratgy = manual\nmqtt.max_inflite = 3\nnode.role = core\n');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual(
        r.errors.map((e) => [e.path, e.message]),
        [
          ['cluster.discovery_stratgy', 'unknown key'],
          ['mqtt.max_inflite', 'unknown key'],
        ],
      );
    }
  });

  test('enterprise keys get their own wording', () => {
    const r = loadText('license { key = "abc" }\n');
    assert.ok(r.ok);
    assert.match(
      r.warnings[0]!,
      /license\.key: an EMQX Enterprise key, accepted for EMQX compatibility, not implemented$/,
    );
    assert.equal(emqxEdition(['listeners', 'ssl', 'x', 'ssl_options', 'partial_chain']), 'enterprise');
    assert.equal(emqxEdition(['cluster']), 'oss');
    assert.equal(emqxEdition(['clustre']), undefined);
  });

  test('runtime changes accept EMQX keys too (what the override file and config API feed back)', () => {
    const r = resolveConfig({ cluster: { name: 'x' }, node: { role: 'core' }, mqtt: { max_inflight: 5 } });
    assert.ok(r.ok);
    assert.equal(r.value.mqtt.max_inflight, 5);
  });
});

describe('array element paths and EMQX_ environment variables', () => {
  const chain =
    'authentication = [{mechanism = password_based, backend = built_in_database}, {mechanism = jwt}]\n';

  test('authentication.1.enable = false changes the first element in place', () => {
    const r = loadText(`${chain}authentication.1.enable = false\nauthentication.2 { from = password }\n`);
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.equal(r.config.authentication.length, 2);
    assert.equal(r.config.authentication[0]!.enable, false);
    assert.equal(r.config.authentication[0]!.mechanism, 'password_based');
    assert.equal(r.config.authentication[1]!.enable, true);
    assert.equal((r.config.authentication[1] as Record<string, unknown>).from, 'password');
  });

  test('an index past the end is an ordinary key (and so refused where an array is expected)', () => {
    const r = loadText(`${chain}authentication.3.enable = false\n`);
    assert.equal(r.ok, false);
  });

  test('EMQX_ variables override like HERMOD_ ones; HERMOD_ wins when both are set', () => {
    const r = loadText(chain, {
      EMQX_NODE__NAME: 'emqx@10.0.0.1',
      EMQX_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:11883',
      EMQX_MQTT__MAX_INFLIGHT: '7',
      HERMOD_MQTT__MAX_INFLIGHT: '9',
      EMQX_AUTHENTICATION__2__ENABLE: 'false',
      EMQX_CLUSTER__DISCOVERY_STRATEGY: 'static',
      EMQX_ETC_DIR: '/etc/emqx',
    });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.equal(r.config.node.name, 'emqx@10.0.0.1');
    assert.deepEqual(r.config.listeners.tcp.default!.bind, { host: '127.0.0.1', port: 11883 });
    assert.equal(r.config.mqtt.max_inflight, 9);
    assert.equal(r.config.authentication[1]!.enable, false);
    assert.equal(r.config.cluster.discovery_strategy, 'static');
    assert.deepEqual(r.warnings, []);
  });
});
