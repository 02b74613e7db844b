import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { buildPackage } from './packages.js';

// A real plugin brings its own TypeBox; the broker's copy stands in for it here (schemas are plain objects
// tagged with global symbols, so any copy works).
const TYPEBOX = import.meta.resolve('@sinclair/typebox');

const SCOPED = `
import { Type } from '${TYPEBOX}';
export default {
  start(api) {
    api.registerAuthnProvider({
      mechanism: 'password_based',
      backend: 'plugin_list',
      schema: Type.Object({ users: Type.Record(Type.String(), Type.String()) }, { additionalProperties: true }),
      secrets: [],
      create(config) {
        return {
          authenticate(c) {
            const want = config.users[c.username ?? ''];
            if (want === undefined) return { kind: 'ignore' };
            return c.password?.toString() === want ? { kind: 'ok' } : { kind: 'error', reason: 'bad_username_or_password' };
          },
        };
      },
    });
    api.subscribe('echo/in', (msg) => void api.publish('echo/out', 'echo:' + msg.payload.toString(), { qos: 1 }));
    api.setTimeout(() => void api.publish('timer/fired', api.node.name, { qos: 1 }), 1);
  },
};
`;

describe('plugin API: providers, broker-side publish/subscribe, timers, scoping', () => {
  let b: TestBroker;
  let api: ApiClient;
  let pkgDir: string;

  before(async () => {
    pkgDir = mkdtempSync(join(tmpdir(), 'hermod-pkgs-'));
    b = await startBroker({
      api: true,
      tempDataDir: true,
      config: { plugins: { slow_hook_threshold: '5ms' } },
    });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    rmSync(pkgDir, { recursive: true, force: true });
  });

  it('adds an authentication backend type usable in a chain, and removes it at stop', async () => {
    const watcher = await connectClient(b.port, { clientId: 'timer-watch' });
    const fired = collect(watcher);
    await subscribe(watcher, 'timer/fired', { qos: 1 });
    const file = await buildPackage(pkgDir, { name: 'scoped', vsn: '1.0', code: SCOPED });
    b.node.plugins.allow('scoped-1.0');
    await b.node.plugins.installUpload('scoped-1.0.tar.gz', readFileSync(file));
    assert.equal((await api.put('/plugins/scoped-1.0/start')).status, 204);
    assert.equal((await fired.next(1))[0]!.payload.toString(), b.node.name);
    await end(watcher);

    const created = await api.post('/authentication', {
      mechanism: 'password_based',
      backend: 'plugin_list',
      users: { alice: 'wonder' },
    });
    assert.equal(created.status, 200, created.text);
    const c = await connectClient(b.port, { username: 'alice', password: 'wonder' });
    await end(c);
    await assert.rejects(connectClient(b.port, { username: 'alice', password: 'nope', reconnectPeriod: 0 }));

    const echo = await connectClient(b.port, { clientId: 'echo', username: 'alice', password: 'wonder' });
    const got = collect(echo);
    await subscribe(echo, 'echo/out', { qos: 1 });
    await publish(echo, 'echo/in', 'hi', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'echo:hi');
    await end(echo);

    assert.equal((await api.del('/authentication/password_based:plugin_list')).status, 204);
    assert.equal((await api.put('/plugins/scoped-1.0/stop')).status, 204);
    const again = await api.post('/authentication', {
      mechanism: 'password_based',
      backend: 'plugin_list',
      users: { alice: 'wonder' },
    });
    assert.equal(again.status, 400, 'the backend type left with the plugin');
  });

  it('reports a hook callback slower than plugins.slow_hook_threshold, and the message still goes through', async () => {
    const file = await buildPackage(pkgDir, {
      name: 'slowpoke',
      vsn: '1.0',
      code: `export default { start(api) {
        api.hook('message.publish', (msg) => {
          if (msg.topic !== 'slow/t') return;
          const until = Date.now() + 50;
          while (Date.now() < until) {}
        });
      } };`,
    });
    b.node.plugins.allow('slowpoke-1.0');
    await b.node.plugins.installUpload('slowpoke-1.0.tar.gz', readFileSync(file));
    assert.equal((await api.put('/plugins/slowpoke-1.0/start')).status, 204);
    const c = await connectClient(b.port, { clientId: 'slow', username: 'alice', password: 'wonder' });
    const got = collect(c);
    await subscribe(c, 'slow/t', { qos: 1 });
    await publish(c, 'slow/t', 'late', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'late');
    await end(c);
    // At least the one that spun 50 ms; on a loaded machine another call may also cross the 5 ms budget.
    assert.ok((await api.get('/plugins/slowpoke-1.0')).body.slow_callbacks >= 1);
    assert.equal((await api.del('/plugins/nope-1.0')).body.code, 'PARAM_ERROR');
  });
});
