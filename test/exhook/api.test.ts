/** `/api/v5/exhooks`: list, create, read, update, delete, hooks and move, with EMQX's shapes and errors. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { TestProvider } from './provider.js';

describe('exhook API', () => {
  let b: TestBroker;
  let api: ApiClient;
  let p1: TestProvider;
  let p2: TestProvider;
  before(async () => {
    p1 = await TestProvider.start({ hooks: [{ name: 'client.connected' }] });
    p2 = await TestProvider.start({
      hooks: [{ name: 'client.connect' }, { name: 'message.publish', topics: ['a/#', 'b/+'] }],
    });
    b = await startBroker({ api: true, config: { exhook: { servers: [{ name: 'first', url: p1.url }] } } });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    await p1.stop();
    await p2.stop();
  });

  const names = async () => ((await api.get('/exhooks')).body as Array<{ name: string }>).map((s) => s.name);

  it('lists the servers with config, metrics, status and hooks', async () => {
    const c = await connectClient(b.port);
    await p1.waitFor('OnClientConnected');
    await end(c);
    const r = await api.get('/exhooks');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1);
    const s = r.body[0];
    assert.equal(s.name, 'first');
    assert.equal(s.enable, true);
    assert.equal(s.url, p1.url);
    assert.equal(s.request_timeout, '5s');
    assert.equal(s.failed_action, 'deny');
    assert.equal(s.auto_reconnect, '60s'); // as written (the default), not re-rendered
    assert.equal(s.pool_size, 8);
    assert.equal(s.ssl.enable, false);
    assert.equal(s.socket_options.nodelay, true);
    assert.deepEqual(s.node_status, [{ node: 'hermod@127.0.0.1', status: 'connected' }]);
    assert.deepEqual(s.hooks, [{ name: 'client.connected', params: { topics: [] } }]);
    assert.equal(s.metrics.succeed, 1);
    assert.deepEqual(Object.keys(s.metrics).sort(), ['failed', 'max_rate', 'rate', 'succeed']);
    assert.deepEqual(s.node_metrics, [{ node: 'hermod@127.0.0.1', metrics: s.metrics }]);
  });

  it('creates a server, refusing a taken name and bad arguments', async () => {
    const r = await api.post('/exhooks', {
      name: 'second',
      url: p2.url,
      auto_reconnect: false,
      pool_size: 2,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'second');
    assert.equal(r.body.auto_reconnect, false);
    assert.deepEqual(r.body.node_status, [{ node: 'hermod@127.0.0.1', status: 'connected' }]);
    assert.equal(p2.of('OnProviderLoaded').length, 1);
    assert.deepEqual(await names(), ['first', 'second']);

    const dup = await api.post('/exhooks', { name: 'second', url: p2.url });
    assert.equal(dup.status, 400);
    assert.deepEqual(dup.body, { code: 'BAD_REQUEST', message: 'Already exists' });
    const badName = await api.post('/exhooks', { name: 'no spaces', url: p2.url });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.code, 'BAD_REQUEST');
    assert.match(badName.body.message, /name/);
    const badUrl = await api.post('/exhooks', { name: 'third', url: 'ftp://127.0.0.1:1' });
    assert.equal(badUrl.status, 400);
    assert.match(badUrl.body.message, /url/);
    const badAction = await api.post('/exhooks', { name: 'third', url: p2.url, failed_action: 'explode' });
    assert.equal(badAction.status, 400);
    assert.deepEqual(await names(), ['first', 'second']);
  });

  it('reads one server, 404 for an unknown one', async () => {
    const r = await api.get('/exhooks/second');
    assert.equal(r.status, 200);
    assert.equal(r.body.pool_size, 2);
    const missing = await api.get('/exhooks/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
  });

  it('lists a server hooks with their topic filters and metrics', async () => {
    const r = await api.get('/exhooks/second/hooks');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.map((h: { name: string; params: unknown }) => [h.name, h.params]),
      [
        ['client.connect', { topics: [] }],
        ['message.publish', { topics: ['a/#', 'b/+'] }],
      ],
    );
    assert.deepEqual(Object.keys(r.body[0].metrics).sort(), ['failed', 'max_rate', 'rate', 'succeed']);
    assert.equal(r.body[0].node_metrics[0].node, 'hermod@127.0.0.1');
    assert.equal((await api.get('/exhooks/nope/hooks')).status, 400);
  });

  it('updates a server (it is reloaded) and masks its TLS password', async () => {
    const r = await api.put('/exhooks/second', {
      url: p2.url,
      request_timeout: '2s',
      failed_action: 'ignore',
      ssl: { password: 'hush' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.request_timeout, '2s');
    assert.equal(r.body.failed_action, 'ignore');
    assert.equal(r.body.ssl.password, '******');
    assert.equal(p2.of('OnProviderUnloaded').length, 1);
    assert.equal(p2.of('OnProviderLoaded').length, 2);
    assert.equal(b.node.exhook.server('second')!.cfg.ssl.password, 'hush');
    // Sending the mask back keeps the stored password.
    const again = await api.put('/exhooks/second', { ...r.body, ssl: { ...r.body.ssl } });
    assert.equal(again.status, 200, again.text);
    assert.equal(b.node.exhook.server('second')!.cfg.ssl.password, 'hush');
    assert.equal((await api.put('/exhooks/nope', { url: p2.url })).status, 404);
    const renamed = await api.put('/exhooks/second', { name: 'other', url: p2.url });
    assert.equal(renamed.status, 400);
    const bad = await api.put('/exhooks/second', { url: p2.url, pool_size: 0 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /pool_size/);
  });

  it('moves a server to front, rear, before and after another', async () => {
    await api.post('/exhooks', { name: 'third', url: p1.url, enable: false });
    const move = (name: string, position: string) => api.post(`/exhooks/${name}/move`, { position });
    assert.equal((await move('third', 'front')).status, 204);
    assert.deepEqual(await names(), ['third', 'first', 'second']);
    assert.equal((await move('third', 'rear')).status, 204);
    assert.deepEqual(await names(), ['first', 'second', 'third']);
    assert.equal((await move('third', 'before:second')).status, 204);
    assert.deepEqual(await names(), ['first', 'third', 'second']);
    assert.equal((await move('first', 'after:second')).status, 204);
    assert.deepEqual(await names(), ['third', 'second', 'first']);
    for (const bad of ['sideways', 'before:nope', 'after:first']) {
      const r = await move('first', bad);
      assert.equal(r.status, 400, bad);
      assert.deepEqual(r.body, { code: 'BAD_REQUEST', message: 'Invalid Position' });
    }
    assert.equal((await move('nope', 'front')).status, 404);
    assert.equal(b.node.exhook.server('third')!.status, 'disabled');
    assert.deepEqual(
      b.node.exhook.servers().map((s) => s.name),
      ['third', 'second', 'first'],
    );
  });

  it('deletes a server (unloading it) and persists every change', async () => {
    const r = await api.del('/exhooks/second');
    assert.equal(r.status, 204);
    assert.equal(p2.of('OnProviderUnloaded').length, 2);
    assert.equal((await api.get('/exhooks/second')).status, 404);
    assert.equal((await api.del('/exhooks/second')).status, 404);
    const saved = b.node.configService.overrideValues.exhook as { servers: Array<{ name: string }> };
    assert.deepEqual(
      saved.servers.map((s) => s.name),
      ['third', 'first'],
    );
  });
});
