/**
 * The bus goes away (nats-server stopped) and comes back: nodes keep serving their clients meanwhile, a
 * client id may then be live on two nodes; when the bus is back each node re-asserts its registry entries
 * and the newest connection wins, the older one being closed with DISCONNECT 0x8E (session taken over).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { connectClient, end } from '../helpers/clients.js';
import { eventually, startClusterNodes } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

describe('cluster registry across a bus outage', () => {
  let nats: NatsServer;
  let nodes: TestBroker[] = [];

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(nats.url, 2);
    for (const n of nodes) await eventually('2 nodes', () => n.node.cluster?.membership.alive().length === 2);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('both nodes serve during the outage; afterwards the newest connection wins', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = nodes;
    const owner = () => b!.node.broker.cluster!.registry!.ownerOf('mqtt', 'part-x');
    const persistent = { clientId: 'part-x', clean: false, properties: { sessionExpiryInterval: 300 } };
    const { client: older } = await RawClient.connect(a!.port, persistent, 5);
    await eventually('registered on node 1', async () => (await owner()) === 'hermod-1@127.0.0.1');

    const down = new Promise<void>((resolve) => {
      const off = b!.node.cluster!.bus.onEvent((e) => {
        if (e === 'disconnected') {
          off();
          resolve();
        }
      });
    });
    await nats.kill();
    await down;
    // Cut off from the bus, node 2 still takes a client, with the same id as node 1's.
    const { client: newer, connack } = await RawClient.connect(b!.port, persistent, 5);
    assert.equal(connack.reasonCode, 0);
    const other = await connectClient(a!.port, { clientId: 'part-local' });
    assert.ok(other.connected, 'node 1 keeps taking clients too');

    nats = (await nats.restart()) as NatsServer;
    const kicked = (await older.next('disconnect', 30_000)) as { reasonCode?: number };
    assert.equal(kicked.reasonCode, 0x8e, 'the older connection is closed: session taken over');
    await eventually('node 2 owns the client', async () => (await owner()) === 'hermod-2@127.0.0.1', 30_000);
    assert.equal(a!.node.broker.registry.get('mqtt', 'part-x'), undefined, 'node 1 dropped its copy');
    assert.equal(newer.closed, false, 'the newer connection stays');
    newer.destroy();
    older.destroy();
    await end(other);
  });
});
