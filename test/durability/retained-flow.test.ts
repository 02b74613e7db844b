import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';

const TOPICS = 5000;

describe('retained flow control', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { max_mqueue_len: 50, max_inflight: 8 } } });
    const pub = await connectClient(b.port);
    // QoS 1 retained messages: each delivery takes a slot of the subscriber's inflight window.
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < TOPICS; i++) acks.push(publish(pub, `big/${i}`, `v${i}`, { qos: 1, retain: true }));
    await Promise.all(acks);
    await end(pub);
    assert.equal(b.node.retainer.count, TOPICS);
  });
  after(() => b.stop());

  it('delivers every retained message to a subscriber with a small window and queue', async () => {
    const sub = await connectClient(b.port, { protocolVersion: 5, properties: { receiveMaximum: 4 } });
    const got = collect(sub);
    await subscribe(sub, 'big/#', { qos: 1 });
    const msgs = await got.next(TOPICS, 20_000);
    const topics = new Set(msgs.map((m) => m.topic));
    assert.equal(topics.size, TOPICS);
    for (const m of msgs) assert.equal(m.packet.retain, true);
    assert.equal(b.node.metrics.c['delivery.dropped.queue_full'], 0);
    await end(sub);
  });

  it('paces a QoS 0 subscription through the queue as well', async () => {
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await subscribe(sub, 'big/#', { qos: 0 });
    const msgs = await got.next(TOPICS, 20_000);
    assert.equal(new Set(msgs.map((m) => m.topic)).size, TOPICS);
    assert.equal(b.node.metrics.c['delivery.dropped.queue_full'], 0);
    await end(sub);
  });
});
