/**
 * The cluster's ordered config log, end to end over a real nats-server: changes made through one node's
 * REST API (a STOMP gateway, an authenticator, a plugin with its package) take effect on every node; a
 * change a peer cannot apply is reported and the peer moves on; a node that was down catches up from its
 * cursor, a new node from the snapshot, both before their listeners open.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatewayPort } from '../gateway/helpers.js';
import { StompRaw } from '../gateway/stomp-client.js';
import { merge, startBroker, type TestBroker } from '../helpers/broker.js';
import { clusterConfig, eventually } from '../helpers/cluster.js';
import { freePort } from '../helpers/servers/common.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { buildPackage } from '../plugins/packages.js';

const HELLO = `
let api;
export default {
  start(a) {
    api = a;
    api.route('GET', '/hello/:who', (req) => ({ body: { hello: req.params.who, node: api.node.name } }));
  },
};
`;

/** Uploads a package as the API's multipart field "plugin" (start=true also starts it). */
async function upload(api: ApiClient, file: string): Promise<number> {
  const form = new FormData();
  form.append('plugin', new Blob([readFileSync(file)]), file.replace(/^.*\//, ''));
  form.append('start', 'true');
  const res = await fetch(`${api.base}/api/v5/plugins/install`, {
    method: 'POST',
    headers: { authorization: api.auth! },
    body: form,
  });
  await res.text();
  return res.status;
}

async function stompWorks(b: TestBroker): Promise<void> {
  const { c } = await StompRaw.login(gatewayPort(b.node));
  c.destroy();
}

describe('cluster config log: API changes on one node apply on every node', () => {
  let nats: NatsServer;
  const dirs: string[] = [];
  const nodes: TestBroker[] = [];
  const apis: ApiClient[] = [];
  let pkgDir: string;
  const name = (i: number) => `hermod-${i}@127.0.0.1`;

  async function startNode(i: number, dir: string): Promise<TestBroker> {
    return startBroker({ api: true, dataDir: dir, config: merge(clusterConfig(nats.url, name(i)), {}) });
  }

  before(async () => {
    nats = await startNats();
    pkgDir = mkdtempSync(join(tmpdir(), 'hermod-conflog-pkg-'));
    for (let i = 1; i <= 3; i++) {
      dirs.push(mkdtempSync(join(tmpdir(), `hermod-conflog-${i}-`)));
      nodes.push(await startNode(i, dirs[i - 1]!));
      apis.push(await adminClient(nodes[i - 1]!));
    }
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
    await nats.stop();
    for (const d of [...dirs, pkgDir]) rmSync(d, { recursive: true, force: true });
  });

  async function synced(
    api: ApiClient,
  ): Promise<{ latest_tnx_id: number; nodes: Array<Record<string, unknown>> }> {
    const r = await api.get('/cluster_rpc/status?wait_ms=10000');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.peers_lagging, []);
    return r.body;
  }

  it('a STOMP gateway enabled through one node is listening on all three', async () => {
    const put = await apis[0]!.put('/gateways/stomp', {
      enable: true,
      listeners: [{ type: 'tcp', name: 'default', bind: '127.0.0.1:0' }],
    });
    assert.equal(put.status, 204, put.text);
    for (const n of nodes) {
      await eventually(`${n.node.name} runs stomp`, () => n.node.gateways.get('stomp')?.listeners.size === 1);
      await stompWorks(n);
    }
    const status = await synced(apis[2]!);
    assert.ok(status.latest_tnx_id >= 1);
    for (const n of status.nodes) assert.equal(n.tnx_id, status.latest_tnx_id);
  });

  it('an authentication change on B applies on A', async () => {
    const created = await apis[1]!.post('/authentication', {
      mechanism: 'password_based',
      backend: 'built_in_database',
    });
    assert.ok(created.status < 300, created.text);
    await eventually('A has the authenticator', async () => {
      const list = (await apis[0]!.get('/authentication')).body as Array<{ id: string }>;
      return list.length === 1 && list[0]!.id === 'password_based:built_in_database';
    });
  });

  it('a plugin installed and started on A runs on C; stopped on B it stops everywhere', async () => {
    const file = await buildPackage(pkgDir, { name: 'hello', vsn: '1.0.0', code: HELLO });
    nodes[0]!.node.plugins.allow('hello-1.0.0');
    assert.equal(await upload(apis[0]!, file), 204);
    await eventually('C serves the plugin route', async () => {
      const r = await apis[2]!.get('/plugin_api/hello/hello/there');
      return r.status === 200 && r.body.node === name(3);
    });
    assert.equal((await apis[1]!.put('/plugins/hello-1.0.0/stop')).status, 204);
    for (const n of nodes)
      await eventually(`stopped on ${n.node.name}`, () => n.node.plugins.status('hello-1.0.0') === 'stopped');
    assert.equal((await apis[2]!.put('/plugins/hello-1.0.0/start')).status, 204);
    for (const n of nodes)
      await eventually(`running on ${n.node.name}`, () => n.node.plugins.status('hello-1.0.0') === 'running');
  });

  it('concurrent changes of one key on two nodes get one order, and every node ends with the same value', async () => {
    const [a, b] = await Promise.all([
      apis[0]!.put('/gateways/stomp', { idle_timeout: '11s' }),
      apis[1]!.put('/gateways/stomp', { idle_timeout: '12s' }),
    ]);
    assert.equal(a.status, 204, a.text);
    assert.equal(b.status, 204, b.text);
    await synced(apis[0]!);
    const values = nodes.map(
      (n) =>
        (n.node.configService.getRaw('gateway') as { stomp: { idle_timeout: string } }).stomp.idle_timeout,
    );
    assert.ok(['11s', '12s'].includes(values[0]!), values.join());
    assert.deepEqual(values, [values[0], values[0], values[0]]);
    for (const n of nodes) await stompWorks(n);
  });

  it('a change a peer cannot apply (its port is taken) is reported; the peer moves on to later changes', async () => {
    const port = await freePort();
    const add = await apis[0]!.post('/gateways/stomp/listeners', {
      type: 'tcp',
      name: 'fixed',
      bind: `127.0.0.1:${port}`,
    });
    assert.equal(add.status, 201, add.text);
    const failed = await synced(apis[0]!);
    const seq = failed.latest_tnx_id;
    for (const n of failed.nodes.filter((x) => x.node !== name(1))) {
      const error = n.error as { tnx_id: number; message: string };
      assert.equal(error.tnx_id, seq, JSON.stringify(n));
      assert.match(error.message, /EADDRINUSE|in use/i);
      assert.equal(n.tnx_id, seq);
    }
    assert.equal((await apis[0]!.del('/gateways/stomp/listeners/stomp:tcp:fixed')).status, 204);
    await apis[0]!.put('/gateways/stomp', { idle_timeout: '13s' });
    const later = await synced(apis[1]!);
    assert.ok(later.latest_tnx_id > seq);
    for (const n of nodes)
      assert.equal(
        (n.node.configService.getRaw('gateway') as { stomp: { idle_timeout: string } }).stomp.idle_timeout,
        '13s',
      );
  });

  it('a malformed entry in the log is reported and skipped; the next change applies everywhere', async () => {
    const bus = nodes[0]!.node.cluster!.bus;
    await bus.js.publish(
      bus.sub('conf', 'junk'),
      new TextEncoder().encode('{"kind":"plugin","op":"explode"'),
    );
    assert.equal((await apis[1]!.put('/gateways/stomp', { idle_timeout: '14s' })).status, 204);
    const status = await synced(apis[2]!);
    for (const n of status.nodes) {
      assert.equal(n.tnx_id, status.latest_tnx_id);
      assert.match((n.error as { message: string }).message, /malformed entry: not JSON/);
    }
    for (const n of nodes) await stompWorks(n);
  });

  it('a file-only change (conf reload) stays on its node', async () => {
    const cs = nodes[0]!.node.configService;
    const raw = cs.getAllRaw();
    raw.flapping_detect = { ...(raw.flapping_detect as object), window_time: '2m' };
    assert.deepEqual(await cs.reload(raw), ['flapping_detect']);
    assert.equal((await apis[0]!.put('/gateways/stomp', { idle_timeout: '15s' })).status, 204);
    await synced(apis[0]!);
    const window = (b: TestBroker) =>
      (b.node.configService.getRaw('flapping_detect') as { window_time?: string }).window_time;
    assert.equal(window(nodes[0]!), '2m');
    assert.notEqual(window(nodes[1]!), '2m');
    assert.equal(
      (nodes[1]!.node.configService.getRaw('gateway') as { stomp: { idle_timeout: string } }).stomp
        .idle_timeout,
      '15s',
    );
  });

  it('a node that was down catches up from its cursor before its listeners open', async () => {
    await nodes[2]!.stop();
    assert.equal((await apis[0]!.put('/gateways/stomp', { idle_timeout: '21s' })).status, 204);
    const mqtt = nodes[0]!.node.configService.getRaw('mqtt') as Record<string, unknown>;
    assert.equal((await apis[0]!.put('/configs/mqtt', { ...mqtt, ignore_loop_deliver: true })).status, 200);
    nodes[2] = await startNode(3, dirs[2]!);
    apis[2] = await adminClient(nodes[2]);
    // No waiting: start() returned, so the change is in before anything listened.
    const gw = nodes[2].node.configService.getRaw('gateway') as { stomp: { idle_timeout: string } };
    assert.equal(gw.stomp.idle_timeout, '21s');
    assert.equal(nodes[2].node.broker.settings.ignoreLoopDeliver, true);
    await stompWorks(nodes[2]);
    assert.equal(nodes[2].node.plugins.status('hello-1.0.0'), 'running');
    const cursor = JSON.parse(readFileSync(join(dirs[2]!, 'configs', 'conf-log.json'), 'utf8'));
    assert.equal(cursor.tnx_id, (await synced(apis[0]!)).latest_tnx_id);
  });

  it('a new node starts from the snapshot plus the tail: gateway, authenticator and plugin are there at once', async () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'hermod-conflog-4-')));
    nodes.push(await startNode(4, dirs[3]!));
    const d = nodes[3]!;
    apis.push(await adminClient(d));
    await stompWorks(d);
    assert.equal(d.node.plugins.status('hello-1.0.0'), 'running');
    const authn = (await apis[3]!.get('/authentication')).body as Array<{ id: string }>;
    assert.deepEqual(
      authn.map((x) => x.id),
      ['password_based:built_in_database'],
    );
    const r = await apis[3]!.get('/plugin_api/hello/hello/new');
    assert.equal(r.body.node, name(4));
  });

  it('uninstalling on one node removes the plugin from every node', async () => {
    assert.equal((await apis[3]!.del('/plugins/hello-1.0.0')).status, 204);
    for (const n of nodes)
      await eventually(`gone on ${n.node.name}`, () => n.node.plugins.list().length === 0);
  });

  it('after a nats-server restart the log is still there and changes keep reaching every node', async () => {
    await nats.kill();
    nats = (await nats.restart()) as NatsServer;
    // The change may be made while the nodes are still reconnecting: it goes out once the bus is back.
    const put = await apis[1]!.put('/gateways/stomp', { idle_timeout: '31s' });
    assert.equal(put.status, 204, put.text);
    for (const n of nodes)
      await eventually(
        `${n.node.name} has the change`,
        () =>
          (n.node.configService.getRaw('gateway') as { stomp: { idle_timeout: string } }).stomp
            .idle_timeout === '31s',
      );
    await synced(apis[0]!);
  });

  it('a single node reports itself, in sync', async () => {
    const single = await startBroker({ api: true });
    try {
      const r = await (await adminClient(single)).get('/cluster_rpc/status');
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.peers_lagging, []);
      assert.equal(r.body.nodes[0].node, single.node.name);
    } finally {
      await single.stop();
    }
  });
});
