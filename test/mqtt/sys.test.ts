import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, sleep, subscribe } from '../helpers/clients.js';

describe('$SYS topics', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: {
        node: { name: 'sysnode@127.0.0.1' },
        sys_topics: {
          sys_msg_interval: '1s',
          sys_heartbeat_interval: '1s',
          sys_event_messages: { client_subscribed: true, client_unsubscribed: true },
        },
      },
    });
  });
  after(() => b.stop());

  it('publishes version, uptime, datetime, stats and metrics under $SYS/brokers/<node>/', async () => {
    const c = await connectClient(b.port);
    const g = collect(c);
    await subscribe(c, '$SYS/brokers/sysnode@127.0.0.1/#', { qos: 0 });
    await sleep(1300);
    const topics = new Set(g.messages.map((m) => m.topic.replace('$SYS/brokers/sysnode@127.0.0.1/', '')));
    for (const t of [
      'version',
      'sysdescr',
      'uptime',
      'datetime',
      'stats/connections/count',
      'metrics/messages/received',
    ]) {
      assert.ok(topics.has(t), `missing ${t}`);
    }
    const version = g.messages.find((m) => m.topic.endsWith('/version'))!;
    assert.equal(version.packet.retain, true, 'version is retained');
    await end(c);
  });

  it('announces client connected, subscribed, unsubscribed and disconnected events', async () => {
    const watcher = await connectClient(b.port);
    const g = collect(watcher);
    await subscribe(watcher, '$SYS/brokers/+/clients/#', { qos: 0 });
    const c = await connectClient(b.port, { clientId: 'evt', username: 'u1' });
    await subscribe(c, 'e/t', { qos: 1 });
    await new Promise<void>((r) => c.unsubscribe('e/t', () => r()));
    await end(c);
    const mine = async () => {
      for (;;) {
        const own = g.messages.filter((m) => m.topic.includes('/clients/evt/'));
        if (own.length >= 4) return own.slice(0, 4);
        await sleep(20);
      }
    };
    const msgs = await mine();
    const events = msgs.map((m) => m.topic.split('/').at(-1));
    assert.deepEqual(events, ['connected', 'subscribed', 'unsubscribed', 'disconnected']);
    const connected = JSON.parse(msgs[0]!.payload.toString());
    assert.equal(connected.clientid, 'evt');
    assert.equal(connected.username, 'u1');
    assert.equal(connected.proto_ver, 4);
    const disconnected = JSON.parse(msgs[3]!.payload.toString());
    assert.equal(disconnected.reason, 'normal');
    await end(watcher);
  });

  it('builds a client event only when it could reach someone (the retainer alone does not count)', async () => {
    const topic = '$SYS/brokers/sysnode@127.0.0.1/clients/nobody/connected';
    // The retainer listens on message.publish on every node; it only keeps retained messages.
    assert.equal(b.node.hooks.has('message.publish'), true);
    assert.equal(b.node.broker.mayDeliver(topic), false);
    const watcher = await connectClient(b.port);
    await subscribe(watcher, '$SYS/brokers/+/clients/+/connected', { qos: 0 });
    assert.equal(b.node.broker.mayDeliver(topic), true);
    await end(watcher);
    await sleep(50);
    assert.equal(b.node.broker.mayDeliver(topic), false);
    // Any other message.publish callback may act on the event: it is built for it.
    const off = b.node.hooks.add('message.publish', () => undefined, 0, 'test');
    assert.equal(b.node.broker.mayDeliver(topic), true);
    off();
  });

  it('does not match $SYS topics with a leading wildcard', async () => {
    const c = await connectClient(b.port);
    const g = collect(c);
    await subscribe(c, '#', { qos: 0 });
    await sleep(1300);
    assert.equal(g.messages.filter((m) => m.topic.startsWith('$SYS')).length, 0);
    await end(c);
  });
});
