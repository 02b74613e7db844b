/**
 * EMQX 4.x's config form `exhook.server.<name>.url = "..."` is read as an entry of `exhook.servers`, with a
 * warning naming the current form, and a broker started from it loads the server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatConfigError, loadConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { startBroker } from '../helpers/broker.js';
import { TestProvider } from './provider.js';

const root = mkdtempSync(join(tmpdir(), 'hermod-exhook-v1-conf-'));
after(() => rmSync(root, { recursive: true, force: true }));

function load(text: string) {
  const file = join(root, `hermod-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, text);
  const r = loadConfig({ file, env: {}, dataDir: root });
  if (!r.ok) assert.fail(r.errors.map(formatConfigError).join('\n'));
  return r;
}

describe('exhook: the EMQX 4.x server form', () => {
  it('reads exhook.server.<name>.url as an exhook.servers entry and says what to write instead', () => {
    const r = load('exhook.server.default.url = "http://127.0.0.1:9000"\n');
    const [s, ...more] = r.config.exhook.servers;
    assert.equal(more.length, 0);
    assert.equal(s!.name, 'default');
    assert.equal(s!.url, 'http://127.0.0.1:9000');
    assert.equal(s!.failed_action, 'deny');
    const w = r.warnings.filter((x) => x.includes('exhook.server.default'));
    assert.equal(w.length, 1);
    assert.match(w[0]!, /:1:/);
    assert.match(w[0]!, /exhook\.servers = \[\{name = "default", url = "http:\/\/127\.0\.0\.1:9000"\}\]/);
  });

  it('takes 4.x ssl files and section-wide settings onto each server, after the 5.x entries', () => {
    const r = load(
      [
        'exhook.servers = [{name = "new", url = "http://127.0.0.1:9001"}]',
        'exhook.request_timeout = 2s',
        'exhook.request_failed_action = ignore',
        'exhook.pool_size = 2',
        'exhook.server.a.url = "https://127.0.0.1:9002"',
        'exhook.server.a.ssl.cacertfile = "/etc/ca.pem"',
        'exhook.server.b.url = "http://127.0.0.1:9003"',
        '',
      ].join('\n'),
    );
    const byName = new Map(r.config.exhook.servers.map((s) => [s.name, s]));
    assert.deepEqual([...byName.keys()], ['new', 'a', 'b']);
    const a = byName.get('a')!;
    assert.equal(a.ssl.enable, true);
    assert.equal(a.ssl.cacertfile, '/etc/ca.pem');
    assert.equal(a.request_timeout, 2000);
    assert.equal(a.failed_action, 'ignore');
    assert.equal(a.pool_size, 2);
    assert.equal(byName.get('b')!.ssl.enable, false);
    assert.equal(byName.get('new')!.request_timeout, 5000);
  });

  it('names the bad key of a 4.x entry', () => {
    const r = resolveConfig({ exhook: { server: { x: { url: 'grpc://h:1' } } } });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.errors.map((e) => e.path).join(' '), /exhook\.servers\.0\.url/);
  });

  it('loads a v1 server configured the 4.x way', async () => {
    const p = await TestProvider.start({ version: 'v1', hooks: [{ name: 'client.connected' }] });
    const b = await startBroker({ config: { exhook: { server: { default: { url: p.url } } } } });
    try {
      const s = b.node.exhook.server('default')!;
      assert.equal(s.status, 'connected');
      assert.equal(s.version, 'v1');
    } finally {
      await b.stop();
      await p.stop();
    }
  });
});
