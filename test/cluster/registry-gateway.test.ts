/**
 * Gateway clients register in the cluster too, in their gateway's namespace: an MQTT-SN client id logged
 * in on a second node is live only there afterwards, and the same id in the mqtt namespace is another client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type SnBroker, startSnBroker } from '../gateway/mqttsn-client/broker.js';
import { SnClient } from '../gateway/mqttsn-client/client.js';
import { build, T } from '../gateway/mqttsn-client/codec.js';
import { connectClient, end } from '../helpers/clients.js';
import { clusterConfig, eventually } from '../helpers/cluster.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

describe('cluster registry: gateway namespaces', () => {
  let nats: NatsServer;
  const nodes: SnBroker[] = [];
  const clients: SnClient[] = [];

  before(async () => {
    nats = await startNats();
    for (const name of ['hermod-1@127.0.0.1', 'hermod-2@127.0.0.1'])
      nodes.push(await startSnBroker({}, clusterConfig(nats.url, name)));
    for (const n of nodes) await eventually('2 nodes', () => n.node.cluster?.membership.alive().length === 2);
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('an MQTT-SN client id moves to the node it logged in last', async () => {
    const [a, b] = nodes;
    const owner = () => a!.node.broker.cluster!.registry!.ownerOf('mqttsn', 'sn-x');
    const first = await SnClient.open(a!.snPort);
    clients.push(first);
    first.send(build.connect('sn-x'));
    assert.deepEqual([...(await first.next(T.CONNACK)).raw], [3, 0x05, 0x00]);
    assert.equal(await owner(), 'hermod-1@127.0.0.1');
    // The same id over MQTT is another client (another namespace).
    const mqttX = await connectClient(b!.port, { clientId: 'sn-x' });
    assert.equal(await a!.node.broker.cluster!.registry!.ownerOf('mqtt', 'sn-x'), 'hermod-2@127.0.0.1');

    const second = await SnClient.open(b!.snPort);
    clients.push(second);
    second.send(build.connect('sn-x'));
    assert.deepEqual([...(await second.next(T.CONNACK)).raw], [3, 0x05, 0x00]);
    assert.equal(await owner(), 'hermod-2@127.0.0.1');
    await eventually(
      'node 1 dropped the session',
      () => a!.node.broker.registry.get('mqttsn', 'sn-x') === undefined,
    );
    assert.ok(b!.node.broker.registry.get('mqttsn', 'sn-x')?.channel !== undefined);
    assert.ok(mqttX.connected, 'the MQTT client of the same id is untouched');
    await end(mqttX);
  });
});
