import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket, ISubackPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, end, sleep } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('configurable limits', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: {
        mqtt: {
          max_topic_levels: 3,
          max_qos_allowed: 1,
          max_subscriptions: 2,
          wildcard_subscription: false,
          retain_available: false,
        },
        listeners: { tcp: { default: { max_connections: 3 } } },
      },
    });
  });
  after(() => b.stop());

  it('refuses topics deeper than max_topic_levels', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'lv' }, 5);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b/c/d', qos: 0 }] });
    assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [0x8f]);
    client.send({
      cmd: 'publish',
      topic: 'a/b/c/d',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: false,
    });
    assert.equal(((await client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x90);
  });

  it('grants at most max_qos_allowed, and refuses publishes above it (0x9B)', async () => {
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'mq' }, 5);
    assert.equal(connack.properties?.maximumQoS, 1);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mq/t', qos: 2 }] });
    assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [1]);
    client.send({
      cmd: 'publish',
      topic: 'mq/t',
      payload: Buffer.from('x'),
      qos: 2,
      messageId: 2,
      dup: false,
      retain: false,
    });
    assert.equal(((await client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x9b);
  });

  it('refuses subscriptions beyond max_subscriptions with 0x97 and wildcards when disabled with 0xA2', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'ms' }, 5);
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 's/1', qos: 0 },
        { topic: 's/+', qos: 0 },
        { topic: 's/2', qos: 0 },
        { topic: 's/3', qos: 0 },
      ],
    });
    assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [0, 0xa2, 0, 0x97]);
    client.disconnect();
  });

  it('refuses retained publishes when retain is unavailable (0x9A)', async () => {
    const { client, connack } = await RawClient.connect(b.port, { clientId: 'ra' }, 5);
    assert.equal(connack.properties?.retainAvailable, false);
    client.send({
      cmd: 'publish',
      topic: 'r/t',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: true,
    });
    assert.equal(((await client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x9a);
  });

  it('closes connections beyond the listener max_connections and counts them', async () => {
    await sleep(100);
    const before = b.node.metrics.c['client.max_connections_exceeded'];
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await connectClient(b.port));
    const extra = await RawClient.open(b.port, 4);
    await extra.waitClosed();
    assert.equal(b.node.metrics.c['client.max_connections_exceeded'], before + 1);
    for (const c of held) await end(c);
  });
});
