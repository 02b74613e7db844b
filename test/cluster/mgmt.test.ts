import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { MgmtRpc } from '../../src/cluster/mgmt-rpc.js';
import { gatewayPort, stompConfig } from '../gateway/helpers.js';
import { StompRaw } from '../gateway/stomp-client.js';
import type { TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { connectClient, end, subscribe } from '../helpers/clients.js';
import { eventually, startClusterNodes } from '../helpers/cluster.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';

const N1 = 'hermod-1@127.0.0.1';
const N2 = 'hermod-2@127.0.0.1';
const N3 = 'hermod-3@127.0.0.1';

/** Resolves when the broker closed the client's connection. */
function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => c.once('close', () => resolve()));
}

describe('cluster management: nodes, cluster, stats and clients across nodes, ctl', () => {
  let nats: NatsServer;
  let nodes: TestBroker[] = [];
  let api1: ApiClient;
  let api2: ApiClient;
  const clients: MqttClient[] = [];

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(
      nats.url,
      3,
      { gateway: { stomp: stompConfig() } },
      { api: true, tempDataDir: true },
    );
    for (const n of nodes)
      await eventually(`${n.node.name} sees 3 nodes`, () => n.node.cluster?.membership.alive().length === 3);
    api1 = await adminClient(nodes[0]!);
    api2 = await adminClient(nodes[1]!);
    // a1 on node 1; b1, b2 on node 2; c1 on node 3; each subscribes to its own topic.
    const placed: Array<[number, string]> = [
      [0, 'a1'],
      [1, 'b1'],
      [1, 'b2'],
      [2, 'c1'],
    ];
    for (const [i, id] of placed) {
      const c = await connectClient(nodes[i]!.port, { clientId: id, username: `user-${id}` });
      await subscribe(c, `t/${id}`, { qos: 1 });
      clients.push(c);
    }
  });
  after(async () => {
    for (const c of clients) await end(c, true);
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('GET /nodes lists every running node with its own figures; one node, its stats and metrics by rpc', async () => {
    const list = await api1.get('/nodes');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.map((n: { node: string }) => n.node),
      [N1, N2, N3],
    );
    for (const n of list.body) {
      assert.equal(n.node_status, 'running');
      assert.equal(n.role, 'core');
      assert.equal(typeof n.version, 'string');
    }
    assert.deepEqual(
      list.body.map((n: { connections: number }) => n.connections),
      [1, 2, 1],
    );
    const two = await api1.get(`/nodes/${encodeURIComponent(N2)}`);
    assert.equal(two.status, 200);
    assert.equal(two.body.node, N2);
    assert.equal(two.body.live_connections, 2);
    const stats = await api1.get(`/nodes/${encodeURIComponent(N2)}/stats`);
    assert.equal(stats.body.node, N2);
    assert.equal(stats.body['connections.count'], 2);
    const metrics = await api1.get(`/nodes/${encodeURIComponent(N3)}/metrics`);
    assert.equal(metrics.body.node, N3);
    assert.ok(metrics.body['packets.connect.received'] >= 1);
    const missing = await api1.get('/nodes/nobody@127.0.0.1/stats');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
  });

  it('GET /cluster names the cluster, its running nodes and the answering node; join/leave answer 400', async () => {
    const c = await api2.get('/cluster');
    assert.deepEqual(c.body, { name: 'test', description: '', nodes: [N1, N2, N3], self: N2 });
    const topo = await api1.get('/cluster/topology');
    assert.deepEqual(
      topo.body.map((t: { core_node: string }) => t.core_node),
      [N1, N2, N3],
    );
    for (const [method, path] of [
      ['PUT', `/cluster/${encodeURIComponent('x@host')}/invite`],
      ['PUT', `/cluster/${encodeURIComponent('x@host')}/invite_async`],
      ['DELETE', `/cluster/${encodeURIComponent(N3)}/force_leave`],
    ] as const) {
      const r = await api1.req(method, `/api/v5${path}`, method === 'PUT' ? { body: {} } : {});
      assert.equal(r.status, 400, path);
      assert.equal(r.body.code, 'BAD_REQUEST');
      assert.match(r.body.message, /join the cluster on their own/);
    }
  });

  it('GET /stats and /metrics: per node without aggregate, summed with aggregate=true', async () => {
    const per = await api1.get('/stats');
    assert.deepEqual(
      per.body.map((s: Record<string, number>) => [s.node, s['connections.count']]),
      [
        [N1, 1],
        [N2, 2],
        [N3, 1],
      ],
    );
    const agg = await api1.get('/stats?aggregate=true');
    assert.equal(agg.body.node, undefined);
    assert.equal(agg.body['connections.count'], 4);
    assert.equal(agg.body['live_connections.count'], 4);
    assert.equal(agg.body['subscriptions.count'], 4);
    const perMetrics = await api1.get('/metrics');
    assert.equal(perMetrics.body.length, 3);
    const sum = perMetrics.body.reduce(
      (n: number, m: Record<string, number>) => n + m['packets.connect.received']!,
      0,
    );
    const aggMetrics = await api1.get('/metrics?aggregate=true');
    assert.equal(aggMetrics.body['packets.connect.received'], sum);
    assert.ok(sum >= 4);
    const current = await api1.get('/monitor_current');
    assert.equal(current.body.live_connections, 4);
    assert.equal(current.body.subscriptions, 4);
    const currentTwo = await api1.get(`/monitor_current/nodes/${encodeURIComponent(N2)}`);
    assert.equal(currentTwo.body.live_connections, 2);
    assert.equal(typeof currentTwo.body.node_uptime, 'number');
    assert.equal((await api1.get('/monitor_current/nodes/nobody@host')).status, 404);
  });

  it('GET /clients lists the clients of every node with their node; node filter, other filters, paging across nodes', async () => {
    const all = await api1.get('/clients');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.data.map((c: { clientid: string; node: string }) => [c.clientid, c.node]),
      [
        ['a1', N1],
        ['b1', N2],
        ['b2', N2],
        ['c1', N3],
      ],
    );
    assert.deepEqual(all.body.meta, { page: 1, limit: 100, count: 4, hasnext: false });
    assert.equal((await api1.get('/sessions_count')).body, 4);
    const onTwo = await api1.get(`/clients?node=${encodeURIComponent(N2)}`);
    assert.deepEqual(
      onTwo.body.data.map((c: { clientid: string }) => c.clientid),
      ['b1', 'b2'],
    );
    assert.equal(onTwo.body.meta.count, 2);
    const byUser = await api1.get('/clients?username=user-c1&fields=clientid,node');
    assert.deepEqual(byUser.body.data, [{ clientid: 'c1', node: N3 }]);
    const like = await api1.get('/clients?like_clientid=b');
    assert.equal(like.body.meta.count, 2);
    // Pages of 1 and of 3 walk across node boundaries.
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const p = await api1.get(`/clients?page=${page}&limit=1`);
      assert.equal(p.body.meta.count, 4);
      assert.equal(p.body.meta.hasnext, page < 4);
      seen.push(...p.body.data.map((c: { clientid: string }) => c.clientid));
    }
    assert.deepEqual(seen, ['a1', 'b1', 'b2', 'c1']);
    const p2 = await api1.get('/clients?page=2&limit=3');
    assert.deepEqual(
      p2.body.data.map((c: { clientid: string }) => c.clientid),
      ['c1'],
    );
    assert.deepEqual(p2.body.meta, { page: 2, limit: 3, count: 4, hasnext: false });
    assert.equal((await api1.get('/clients?node=nobody@host')).body.meta.count, 0);
    const bad = await api1.get('/clients?gte_created_at=yesterday');
    assert.equal(bad.status, 400);
  });

  it('GET /subscriptions lists every node’s subscriptions with their node, filtered and paged', async () => {
    const all = await api2.get('/subscriptions');
    assert.deepEqual(
      all.body.data.map((s: { clientid: string; topic: string; node: string }) => [
        s.clientid,
        s.topic,
        s.node,
      ]),
      [
        ['a1', 't/a1', N1],
        ['b1', 't/b1', N2],
        ['b2', 't/b2', N2],
        ['c1', 't/c1', N3],
      ],
    );
    const one = await api2.get('/subscriptions?topic=t/c1');
    assert.deepEqual(
      one.body.data.map((s: { clientid: string }) => s.clientid),
      ['c1'],
    );
    const matching = await api2.get(`/subscriptions?match_topic=${encodeURIComponent('t/+')}&page=2&limit=2`);
    assert.deepEqual(
      matching.body.data.map((s: { clientid: string }) => s.clientid),
      ['b2', 'c1'],
    );
    assert.deepEqual(matching.body.meta, { page: 2, limit: 2, count: 4, hasnext: false });
    const onThree = await api2.get(`/subscriptions?node=${encodeURIComponent(N3)}`);
    assert.equal(onThree.body.meta.count, 1);
    // A page larger than one bus answer: 450 subscriptions of one client on node 3, read from node 2.
    const many = await connectClient(nodes[2]!.port, { clientId: 'many' });
    try {
      await subscribe(
        many,
        Array.from({ length: 450 }, (_, i) => `many/${i}`),
        { qos: 0 },
      );
      const big = await api2.get('/subscriptions?clientid=many&limit=1000');
      assert.equal(big.body.meta.count, 450);
      assert.equal(big.body.data.length, 450);
      assert.equal(new Set(big.body.data.map((s: { topic: string }) => s.topic)).size, 450);
      const mid = await api2.get(
        `/subscriptions?node=${encodeURIComponent(N3)}&clientid=many&limit=300&page=2`,
      );
      assert.equal(mid.body.data.length, 150);
    } finally {
      await end(many, true);
    }
  });

  it('GET /gateways/{name}/clients lists the gateway clients of every node', async () => {
    const s2 = await StompRaw.login(gatewayPort(nodes[1]!.node), { 'client-id': 'stomp-2' });
    const s3 = await StompRaw.login(gatewayPort(nodes[2]!.node), { 'client-id': 'stomp-3' });
    try {
      const all = await api1.get('/gateways/stomp/clients');
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.data.map((c: { clientid: string; node: string }) => [c.clientid, c.node]),
        [
          ['stomp-2', N2],
          ['stomp-3', N3],
        ],
      );
      assert.deepEqual(all.body.meta, { page: 1, limit: 100, count: 2, hasnext: false });
      const page2 = await api1.get('/gateways/stomp/clients?limit=1&page=2');
      assert.deepEqual(
        page2.body.data.map((c: { clientid: string }) => c.clientid),
        ['stomp-3'],
      );
      const onThree = await api1.get(`/gateways/stomp/clients?node=${encodeURIComponent(N3)}`);
      assert.equal(onThree.body.meta.count, 1);
      assert.equal((await api1.get('/gateways/stomp/clients?gte_created_at=never')).status, 400);
      // MQTT lists stay MQTT: gateway clients are not in /clients.
      assert.equal((await api1.get('/clients?like_clientid=stomp')).body.meta.count, 0);
    } finally {
      s2.c.destroy();
      s3.c.destroy();
    }
  });

  it('finds a client on another node, shows its subscriptions and kicks it there', async () => {
    const b1 = await api1.get('/clients/b1');
    assert.equal(b1.status, 200);
    assert.equal(b1.body.node, N2);
    assert.equal(b1.body.username, 'user-b1');
    assert.equal(b1.body.connected, true);
    const subs = await api1.get('/clients/b1/subscriptions');
    assert.deepEqual(
      subs.body.map((s: { topic: string; node: string }) => [s.topic, s.node]),
      [['t/b1', N2]],
    );
    // The other per-client endpoints run where the client lives, their errors passed through as they are.
    const sub = await api1.post('/clients/b1/subscribe', { topic: 'x/+', qos: 1 });
    assert.equal(sub.status, 200);
    assert.deepEqual([sub.body.topic, sub.body.node], ['x/+', N2]);
    assert.equal((await api1.get('/clients/b1')).body.subscriptions_cnt, 2);
    const badTopic = await api1.post('/clients/b1/subscribe', { topic: 'x/#/y' });
    assert.equal(badTopic.status, 400);
    assert.match(badTopic.body.message, /invalid topic filter/);
    assert.equal((await api1.post('/clients/b1/unsubscribe', { topic: 'x/+' })).status, 204);
    assert.equal((await api1.get('/clients/b1')).body.subscriptions_cnt, 1);
    const keepalive = await api1.put('/clients/b1/keepalive', { interval: 42 });
    assert.equal(keepalive.body.keepalive, 42);
    const mqueue = await api1.get('/clients/b1/mqueue_messages');
    assert.equal(mqueue.status, 200);
    assert.deepEqual(mqueue.body.data, []);
    assert.equal((await api1.get('/clients/b1/authorization/cache')).status, 200);
    assert.equal((await api1.post('/clients/nobody/subscribe', { topic: 'x' })).status, 404);
    const gone = closed(clients[1]!);
    const kick = await api1.del('/clients/b1');
    assert.equal(kick.status, 204);
    await gone;
    await eventually('b1 gone from node 2', async () => (await api1.get('/clients/b1')).status === 404);
    assert.equal((await api1.del('/clients/b1')).status, 404);
    assert.equal((await api1.get('/clients/nobody')).body.code, 'CLIENTID_NOT_FOUND');
    // Bulk kick: one client here, one on node 3.
    const goneA = closed(clients[0]!);
    const goneC = closed(clients[3]!);
    const bulk = await api2.post('/clients/kickout/bulk', ['a1', 'c1']);
    assert.equal(bulk.status, 204);
    await Promise.all([goneA, goneC]);
    await eventually('only b2 left', async () => {
      const r = await api2.get('/clients');
      return r.body.data.map((c: { clientid: string }) => c.clientid).join() === 'b2';
    });
  });

  it('hermod ctl cluster status prints running and stopped nodes; join/leave explain that membership is automatic', async () => {
    const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', nodes[0]!.dataDir!, ...args]);
    const status = await ctl('cluster', 'status');
    assert.equal(status.code, 0, status.stderr);
    assert.equal(
      status.stdout.trim(),
      `Cluster status: #{running_nodes => ['${N1}','${N2}','${N3}'],stopped_nodes => []}`,
    );
    const json = await ctl('--json', 'cluster', 'status');
    assert.deepEqual(JSON.parse(json.stdout), { running_nodes: [N1, N2, N3], stopped_nodes: [] });
    for (const args of [['join', 'x@host'], ['leave'], ['force-leave', N3]]) {
      const r = await ctl('cluster', ...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /join the cluster on their own/);
    }
    assert.equal((await ctl('cluster', 'bogus')).code, 1);
  });

  it('a running node that does not answer in time is listed as stopped with the reason, not waited on forever', async () => {
    const peers = nodes[1]!.node.mgmt!.ctx.peers as MgmtRpc;
    const bus = nodes[1]!.node.cluster!.bus;
    peers.close();
    const never = bus.handle('mgmt_node', () => new Promise(() => undefined));
    try {
      const list = await api1.get('/nodes');
      assert.equal(list.status, 200);
      const two = list.body.find((n: { node: string }) => n.node === N2);
      assert.equal(two.node_status, 'stopped');
      assert.match(two.reason, /did not answer mgmt_node within/);
      assert.equal(list.body.find((n: { node: string }) => n.node === N1).node_status, 'running');
    } finally {
      never();
      peers.serve();
    }
    assert.equal((await api1.get(`/nodes/${encodeURIComponent(N2)}`)).body.node_status, 'running');
  });

  it('$SYS/brokers lists the running nodes', async () => {
    nodes[0]!.node.sys!.publishInfo();
    const c = await connectClient(nodes[0]!.port);
    const got = new Promise<string>((resolve) => c.on('message', (_t, p) => resolve(p.toString())));
    await subscribe(c, '$SYS/brokers');
    assert.equal(await got, [N1, N2, N3].join(','));
    await end(c);
  });

  it('a node cut off from the bus is shown stopped; the others still list, sum and answer', async () => {
    // Node 3 loses its NATS connections without leaving (as in a crash): its key stays until it goes stale.
    const bus = nodes[2]!.node.cluster!.bus;
    await bus.data.close();
    await bus.control.close();
    await eventually(
      'node 3 down for node 1',
      async () => (await api1.get('/cluster')).body.nodes.length === 2,
    );
    const list = await api1.get('/nodes');
    assert.deepEqual(
      list.body.map((n: { node: string; node_status: string }) => [n.node, n.node_status]),
      [
        [N1, 'running'],
        [N2, 'running'],
        [N3, 'stopped'],
      ],
    );
    assert.equal((await api1.get(`/nodes/${encodeURIComponent(N3)}`)).body.node_status, 'stopped');
    const down = await api1.get(`/nodes/${encodeURIComponent(N3)}/stats`);
    assert.equal(down.status, 503);
    assert.equal(down.body.code, 'NODE_DOWN');
    assert.deepEqual((await api1.get('/cluster')).body.nodes, [N1, N2]);
    assert.equal((await api1.get('/stats?aggregate=true')).body['connections.count'], 1);
    assert.equal((await api1.get('/clients')).body.meta.count, 1);
    const status = await hermod(['ctl', '--data-dir', nodes[1]!.dataDir!, 'cluster', 'status']);
    assert.equal(
      status.stdout.trim(),
      `Cluster status: #{running_nodes => ['${N1}','${N2}'],stopped_nodes => ['${N3}']}`,
    );
  });
});
