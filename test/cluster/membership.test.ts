import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { clusterConfig, eventually, startClusterNodes } from '../helpers/cluster.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

describe('cluster membership over NATS JetStream', () => {
  let nats: NatsServer;
  let nodes: TestBroker[] = [];

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(nats.url, 2);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('nodes on one NATS server see each other', async () => {
    const names = ['hermod-1@127.0.0.1', 'hermod-2@127.0.0.1'];
    for (const n of nodes)
      await eventually(
        `${n.node.name} sees both nodes`,
        () => n.node.cluster?.membership.alive().join() === names.join(),
      );
  });

  it('a node without cluster.nats.servers is a single broker and loads no cluster', async () => {
    const single = await startBroker();
    try {
      assert.equal(single.node.cluster, undefined);
    } finally {
      await single.stop();
    }
  });

  it('a second node with a name already in the cluster is refused, and the first keeps running', async () => {
    await assert.rejects(
      startBroker({ config: clusterConfig(nats.url, 'hermod-1@127.0.0.1') }),
      /node name hermod-1@127\.0\.0\.1 is already in use by a live node/,
    );
    assert.deepEqual(nodes[1]!.node.cluster?.membership.alive(), [
      'hermod-1@127.0.0.1',
      'hermod-2@127.0.0.1',
    ]);
  });

  it('rpc: a node answers a method another node serves; an unknown node is a clear error', async () => {
    const [a, b] = nodes.map((n) => n.node.cluster!);
    const stop = b!.bus.handle('test_echo', (body, from) => ({ body, from }));
    try {
      assert.deepEqual(await a!.bus.call('hermod-2@127.0.0.1', 'test_echo', { x: 1 }), {
        body: { x: 1 },
        from: 'hermod-1@127.0.0.1',
      });
      await assert.rejects(
        a!.bus.call('nobody@127.0.0.1', 'test_echo'),
        /nobody@127\.0\.0\.1 is not in the cluster/,
      );
    } finally {
      stop();
    }
  });

  it('a node that stops leaves at once; a node that comes back is up again', async () => {
    const third = await startBroker({ config: clusterConfig(nats.url, 'hermod-3@127.0.0.1') });
    const a = nodes[0]!.node.cluster!.membership;
    await eventually('node 3 up', () => a.isAlive('hermod-3@127.0.0.1'));
    const downs: string[] = [];
    const off = a.on((e) => {
      if (e.type === 'down') downs.push(`${e.node}:${e.reason}`);
    });
    await third.stop();
    await eventually('node 3 left', () => !a.isAlive('hermod-3@127.0.0.1'));
    off();
    assert.deepEqual(downs, ['hermod-3@127.0.0.1:left']);
  });
});
