/**
 * The config file corpus (test/fixtures/config): each bad file gets exactly the errors its `# expect:` lines
 * name; each good file loads and means what the assertions below say.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { displayPath } from '../../src/config/hocon/index.js';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/resolve.js';
import { fixture, repoRoot } from '../helpers/fixtures.js';

const dir = fixture('config');
const shown = displayPath(dir);
const tmp = mkdtempSync(join(tmpdir(), 'hermod-corpus-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Loads a fixture with a controlled environment and no override file (data_dir in a temp dir). */
function load(file: string, env: Record<string, string> = {}) {
  return loadConfig({ file: join(dir, file), env: { HERMOD_NODE__DATA_DIR: tmp, ...env } });
}

describe('bad config files: exact errors', () => {
  const files = readdirSync(join(dir, 'bad')).filter((f) => f.endsWith('.conf'));
  assert.ok(files.length >= 10);
  for (const f of files) {
    test(f, () => {
      const expected = readFileSync(join(dir, 'bad', f), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('# expect: '))
        .map((l) => l.slice('# expect: '.length).replaceAll('<dir>', shown));
      assert.ok(expected.length > 0, `${f} has no "# expect:" line`);
      const r = loadConfig({ file: join(dir, 'bad', f), env: {}, dataDir: tmp });
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual(r.errors.map(formatConfigError), expected);
    });
  }
});

describe('good config files', () => {
  test('EMQX style: nested, dotted, merged, included, substituted', () => {
    const r = load('good/emqx-style.conf', { PORT: '11883', LOG_DIR: join(tmp, 'log') });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    const c = r.config;
    assert.equal(c.node.name, 'emqx@127.0.0.1');
    assert.equal(c.node.cookie, 'secret');
    assert.equal(c.node.data_dir, tmp);
    assert.deepEqual(c.listeners.tcp.default!.bind, { host: '127.0.0.1', port: 11883 });
    assert.equal(c.listeners.tcp.default!.max_connections, 1024000);
    assert.equal(c.listeners.ws.default!.enable, false);
    assert.equal(c.listeners.ws.default!.websocket.mqtt_path, '/ws');
    assert.deepEqual(c.listeners.ssl.secure!.ssl_options.versions, ['tlsv1.3', 'tlsv1.2']);
    assert.deepEqual(c.listeners.ssl.secure!.bind, { host: '0.0.0.0', port: 8883 });
    assert.equal(c.mqtt.idle_timeout, 30_000);
    assert.equal(c.mqtt.max_packet_size, 256 * 1024);
    assert.equal(c.mqtt.max_inflight, 64, 'the main file overrides the include');
    assert.equal(c.mqtt.max_mqueue_len, 2000);
    assert.equal(c.mqtt.session_expiry_interval, 5_400_000);
    assert.equal(c.mqtt.retry_interval, 0);
    assert.equal(c.retainer.backend.max_retained_messages, 2000);
    assert.equal(c.sys_topics.sys_msg_interval, 0);
    assert.equal(c.log.console.level, 'info');
    assert.equal(c.log.console.formatter, 'json');
    assert.equal(c.log.file.main!.path, join(tmp, 'log', 'hermod.log'));
    assert.equal(c.log.file.main!.rotation_size, 10 * 1024 * 1024);
    assert.equal(c.log.file.main!.rotation_count, 3);
    // An include that is not there is skipped (HOCON) but reported.
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0]!, /emqx-style\.conf:11: included file "inc\/not-there\.conf" not found/);
    // Keys remember the file and line that set them last.
    const at = (k: string) => {
      const o = r.origins.get(k);
      return o === undefined || 'source' in o ? o : `${o.file}:${o.line}`;
    };
    assert.equal(at('mqtt.max_inflight'), `${shown}/good/emqx-style.conf:15`);
    assert.equal(at('mqtt.idle_timeout'), `${shown}/good/inc/mqtt.conf:2`);
    assert.equal(at('listeners.tcp.default.bind'), `${shown}/good/inc/listeners.conf:3`);
  });

  test('JSON is HOCON', () => {
    const r = load('good/json.conf');
    assert.ok(r.ok);
    assert.equal(r.config.node.name, 'json@127.0.0.1');
    assert.equal(r.config.mqtt.max_packet_size, 2048);
    assert.equal(r.config.mqtt.retain_available, false);
    assert.deepEqual(r.config.listeners.tcp.default!.bind, { host: '0.0.0.0', port: 1884 });
  });

  test('an include inside an object lands there and resolves relative to it', () => {
    const r = load('good/nested-include.conf');
    assert.ok(r.ok);
    assert.equal(r.config.mqtt.max_inflight, 10);
    assert.equal(r.config.mqtt.max_awaiting_rel, 10);
  });

  test('the shipped etc/hermod.conf parses, validates and equals the built-in defaults plus the ACL file', () => {
    const r = loadConfig({ file: join(repoRoot(), 'etc', 'hermod.conf'), env: {} });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatConfigError).join('\n'));
    assert.deepEqual(r.warnings, []);
    const { authorization, ...rest } = r.config;
    const { authorization: defaultAuthz, ...defaults } = defaultConfig();
    assert.deepEqual(rest, defaults);
    // As EMQX ships it: the file source with etc/acl.conf, the rest of authorization at its defaults.
    assert.deepEqual(
      authorization.sources.map((s) => [s.type, s.enable]),
      [['file', true]],
    );
    assert.deepEqual({ ...authorization, sources: [] }, { ...defaultAuthz, sources: [] });
  });
});
