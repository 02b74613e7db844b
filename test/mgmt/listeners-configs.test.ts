import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, sleep } from '../helpers/clients.js';
import { freePort } from '../helpers/servers/common.js';
import { type ApiClient, adminClient } from './http.js';

async function refused(port: number): Promise<boolean> {
  try {
    const c = await connectClient(port, { connectTimeout: 1000 });
    await end(c);
    return false;
  } catch {
    return true;
  }
}

describe('management API: listeners', () => {
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    b = await startBroker({
      api: true,
      ws: true,
      config: { listeners: { tcp: { extra: { bind: '127.0.0.1:0' } } } },
    });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('lists listeners with their status, filters by type, and gets one by id', async () => {
    const c = await connectClient(b.port);
    const list = await api.get('/listeners');
    assert.equal(list.status, 200);
    const ids = list.body.map((l: { id: string }) => l.id).sort();
    assert.deepEqual(ids, ['tcp:default', 'tcp:extra', 'ws:default']);
    const def = list.body.find((l: { id: string }) => l.id === 'tcp:default');
    assert.equal(def.type, 'tcp');
    assert.equal(def.name, 'default');
    assert.equal(def.bind, '127.0.0.1:0');
    assert.equal(def.running, true);
    assert.equal(def.status.running, true);
    assert.equal(def.status.current_connections, 1);
    assert.equal(def.max_connections, 'infinity');
    assert.equal((await api.get('/listeners?type=ws')).body.length, 1);
    const one = await api.get('/listeners/ws:default');
    assert.equal(one.body.websocket.mqtt_path, '/mqtt');
    assert.equal((await api.get('/listeners/tcp:nope')).status, 404);
    assert.equal((await api.get('/listeners/tcp:nope')).body.code, 'BAD_LISTENER_ID');
    assert.equal((await api.get('/listeners/bogus')).status, 400);
    await end(c);
  });

  it('changes a bind: only that listener restarts, the change is validated', async () => {
    const stay = await connectClient(b.port, { clientId: 'stays' });
    const oldExtra = b.node.port('tcp:extra');
    const port = await freePort();
    const r = await api.put('/listeners/tcp:extra', { bind: `127.0.0.1:${port}` });
    assert.equal(r.status, 200);
    assert.equal(r.body.bind, `127.0.0.1:${port}`);
    assert.equal(r.body.running, true);
    assert.equal(b.node.port('tcp:extra'), port);
    assert.equal(await refused(port), false, 'the new port accepts');
    assert.equal(await refused(oldExtra), true, 'the old port is closed');
    assert.equal(stay.connected, true, 'tcp:default kept its client');
    assert.equal((await api.get('/clients/stays')).body.connected, true);
    const bad = await api.put('/listeners/tcp:extra', { bind: 'not a bind', max_connections: -1 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /listeners\.tcp\.extra\.bind/);
    assert.equal((await api.get('/listeners/tcp:extra')).body.bind, `127.0.0.1:${port}`);
    await end(stay);
  });

  it('stops, starts and restarts a listener; stop/start persist enable', async () => {
    const port = b.node.port('tcp:extra');
    assert.equal((await api.post('/listeners/tcp:extra/stop')).status, 200);
    const stopped = await api.get('/listeners/tcp:extra');
    assert.equal(stopped.body.running, false);
    assert.equal(stopped.body.enable, false);
    assert.equal(await refused(port), true);
    assert.equal((await api.post('/listeners/tcp:extra/start')).status, 200);
    assert.equal((await api.get('/listeners/tcp:extra')).body.running, true);
    const again = b.node.port('tcp:extra');
    assert.equal(await refused(again), false);
    const c = await connectClient(again);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    assert.equal((await api.post('/listeners/tcp:extra/restart')).status, 200);
    await closed;
    assert.equal(await refused(b.node.port('tcp:extra')), false);
    assert.equal((await api.post('/listeners/tcp:extra/explode')).status, 400);
    assert.equal((await api.post('/listeners/tcp:none/start')).status, 404);
    c.end(true);
  });

  it('creates and deletes a listener', async () => {
    const port = await freePort();
    const created = await api.post('/listeners', {
      type: 'tcp',
      name: 'made',
      bind: `127.0.0.1:${port}`,
      max_connections: 10,
    });
    assert.equal(created.status, 200);
    assert.equal(created.body.id, 'tcp:made');
    assert.equal(created.body.running, true);
    assert.equal(created.body.max_connections, 10);
    assert.equal(await refused(port), false);
    const dup = await api.post('/listeners', { id: 'tcp:made', bind: `127.0.0.1:${port}` });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.code, 'ALREADY_EXISTS');
    assert.equal((await api.post('/listeners', { type: 'quic', name: 'x' })).status, 400);
    assert.equal((await api.post('/listeners', { type: 'tcp', name: '9bad' })).status, 400);
    assert.equal((await api.del('/listeners/tcp:made')).status, 204);
    await sleep(20);
    assert.equal(await refused(port), true);
    assert.equal((await api.get('/listeners/tcp:made')).status, 404);
    assert.equal((await api.del('/listeners/tcp:made')).status, 404);
  });
});

describe('management API: configs', () => {
  it('gets every root key, validates a PUT with every offending key, and persists it across a restart', async () => {
    const b = await startBroker({ api: true, tempDataDir: true });
    const dir = b.dataDir!;
    try {
      const api = await adminClient(b);
      const all = await api.get('/configs', { accept: 'application/json' });
      for (const k of ['node', 'mqtt', 'listeners', 'retainer', 'sys_topics', 'log', 'dashboard', 'api_key'])
        assert.ok(k in all.body, k);
      const mqtt = await api.get('/configs/mqtt');
      assert.equal(mqtt.body.max_inflight, 32);
      assert.equal((await api.get('/configs/nosuchkey')).status, 404);
      const bad = await api.put('/configs/mqtt', { ...mqtt.body, max_inflight: 'many', bogus: true });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, 'UPDATE_FAILED');
      assert.match(bad.body.message, /mqtt\.max_inflight/);
      assert.match(bad.body.message, /mqtt\.bogus: unknown key/);
      assert.equal((await api.put('/configs/node', { name: 'x@y' })).status, 400, 'node is read-only');
      const ok = await api.put('/configs/mqtt', { ...mqtt.body, max_inflight: 7 });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.max_inflight, 7);
      assert.equal(b.node.config.mqtt.max_inflight, 7);
    } finally {
      await b.node.stop();
    }
    const b2 = await startBroker({ api: true, dataDir: dir });
    try {
      const api2 = await adminClient(b2);
      assert.equal((await api2.get('/configs/mqtt')).body.max_inflight, 7);
      const reload = await api2.post('/configs/reload');
      assert.equal(reload.status, 400, 'reload needs a node started from files');
    } finally {
      await b2.stop();
      await b.stop();
    }
  });
});
