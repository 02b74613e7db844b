import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';

describe('metrics and stats', () => {
  it('count connections, sessions, subscriptions, packets, bytes and messages by type', async () => {
    const b = await startBroker();
    try {
      const m = b.node.metrics;
      const sub = await connectClient(b.port);
      const g = collect(sub);
      await subscribe(sub, ['m/a', 'm/+'], { qos: 1 });
      const pub = await connectClient(b.port);
      await publish(pub, 'm/a', 'x', { qos: 1 });
      await publish(pub, 'nobody', 'y', { qos: 0 });
      await g.next(2);
      await sleep(50);
      const stats = m.stats();
      assert.equal(stats['connections.count'], 2);
      assert.equal(stats['sessions.count'], 2);
      assert.equal(stats['subscriptions.count'], 2);
      assert.equal(stats['topics.count'], 2);
      assert.equal(m.c['packets.connect.received'], 2);
      assert.equal(m.c['packets.connack.sent'], 2);
      assert.equal(m.c['packets.subscribe.received'], 1);
      assert.equal(m.c['messages.qos1.received'], 1);
      assert.equal(m.c['messages.qos0.received'], 1);
      assert.equal(m.c['messages.qos1.sent'], 2);
      assert.equal(m.c['messages.dropped.no_subscribers'], 1);
      assert.ok(m.c['bytes.received'] > 0 && m.c['bytes.sent'] > 0);
      assert.ok(m.c['packets.puback.received'] >= 2);
      await end(pub);
      await end(sub);
      await sleep(50);
      assert.equal(m.stats()['connections.count'], 0);
      assert.equal(m.stats()['connections.max'], 2);
      assert.equal(m.stats()['subscriptions.count'], 0);
      assert.equal(m.c['client.disconnected'], 2);
    } finally {
      await b.stop();
    }
  });
});
