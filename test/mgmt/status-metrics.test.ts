import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { ApiClient, adminClient } from './http.js';

describe('management API: status, nodes, stats, metrics, prometheus, docs', () => {
  let b: TestBroker;
  let api: ApiClient;
  let anon: ApiClient;
  const node = 'hermod@127.0.0.1';

  before(async () => {
    b = await startBroker({ api: true });
    api = await adminClient(b);
    anon = new ApiClient(b.apiUrl!);
  });
  after(() => b.stop());

  it('serves /status and /api/v5/status without credentials, as text and JSON', async () => {
    for (const path of ['/status', '/api/v5/status']) {
      const t = await anon.req('GET', path);
      assert.equal(t.status, 200);
      assert.equal(t.text, `Node ${node} is started\nhermod is running`);
      const j = await anon.req('GET', `${path}?format=json`);
      assert.equal(j.status, 200);
      assert.equal(j.body.node_name, node);
      assert.equal(j.body.broker_status, 'started');
      assert.equal(j.body.app_status, 'running');
      assert.equal(typeof j.body.rel_vsn, 'string');
    }
  });

  it('lists nodes and one node; unknown node is 404', async () => {
    const c = await connectClient(b.port);
    const list = await api.get('/nodes');
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
    assert.equal(list.body[0].node, node);
    assert.equal(list.body[0].node_status, 'running');
    assert.equal(list.body[0].connections, 1);
    const one = await api.get(`/nodes/${encodeURIComponent(node)}`);
    assert.equal(one.body.node, node);
    const missing = await api.get('/nodes/other@host');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
    assert.equal((await api.get('/nodes/other@host/metrics')).status, 404);
    await end(c);
  });

  it('reports stats and metrics per node or aggregated', async () => {
    const sub = await connectClient(b.port);
    await subscribe(sub, 'm/1', { qos: 1 });
    const pub = await connectClient(b.port);
    await publish(pub, 'm/1', 'x', { qos: 1 });
    const per = await api.get('/stats');
    assert.equal(per.body[0].node, node);
    assert.equal(per.body[0]['connections.count'], 2);
    assert.equal(per.body[0]['subscriptions.count'], 1);
    const agg = await api.get('/stats?aggregate=true');
    assert.equal(agg.body.node, undefined);
    assert.equal(agg.body['topics.count'], 1);
    const metrics = await api.get('/metrics?aggregate=true');
    assert.ok(metrics.body['messages.received'] >= 1);
    assert.ok(metrics.body['packets.publish.received'] >= 1);
    const perNode = await api.get('/metrics');
    assert.equal(perNode.body[0].node, node);
    const nm = await api.get(`/nodes/${node}/metrics`);
    assert.equal(nm.body.node, node);
    assert.ok(nm.body['messages.received'] >= 1);
    const ns = await api.get(`/nodes/${node}/stats`);
    assert.equal(ns.body['connections.count'], 2);
    assert.equal((await api.get('/stats?aggregate=maybe')).status, 400);
    await Promise.all([end(sub), end(pub)]);
  });

  it('exposes Prometheus text without credentials', async () => {
    const r = await anon.get('/prometheus/stats');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(r.text, /^# TYPE emqx_connections_count gauge$/m);
    assert.match(r.text, /^emqx_messages_received \d+$/m);
    assert.match(r.text, /^# TYPE emqx_messages_received counter$/m);
  });

  it('lists error codes', async () => {
    const r = await api.get('/error_codes');
    assert.ok(r.body.some((c: { name: string }) => c.name === 'CLIENTID_NOT_FOUND'));
    assert.equal((await api.get('/error_codes/BAD_REQUEST')).body.name, 'BAD_REQUEST');
    assert.equal((await api.get('/error_codes/NOPE')).status, 404);
  });

  it('answers unknown paths with 404 NOT_FOUND, with or without credentials', async () => {
    for (const c of [api, anon]) {
      const r = await c.get('/no/such/thing');
      assert.equal(r.status, 404);
      assert.equal(r.body.code, 'NOT_FOUND');
    }
  });

  it('serves the OpenAPI document and Swagger UI without credentials', async () => {
    const doc = await anon.req('GET', '/api-docs/swagger.json');
    assert.equal(doc.status, 200);
    assert.match(doc.body.openapi, /^3\./);
    for (const p of [
      '/api/v5/clients',
      '/api/v5/publish',
      '/api/v5/listeners/{id}',
      '/api/v5/mqtt/retainer/messages',
    ]) {
      assert.ok(doc.body.paths[p], `documented: ${p}`);
    }
    const ui = await anon.req('GET', '/api-docs');
    assert.equal(ui.status, 200);
    assert.match(ui.text, /Swagger UI/);
  });
});
