import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { IPublishPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('shared subscriptions', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  async function members(broker: TestBroker, topic: string, n: number) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const c = await connectClient(broker.port, { clientId: `m${i}` });
      const g = collect(c);
      await subscribe(c, topic, { qos: 1 });
      out.push({ c, g });
    }
    return out;
  }

  it('gives each message to exactly one member, round robin', async () => {
    b = await startBroker({ config: { mqtt: { shared_subscription_strategy: 'round_robin' } } });
    const ms = await members(b, '$share/grp/sh/t', 3);
    const pub = await connectClient(b.port);
    for (let i = 0; i < 9; i++) await publish(pub, 'sh/t', `m${i}`, { qos: 1 });
    await sleep(200);
    const counts = ms.map((m) => m.g.messages.length);
    assert.deepEqual(counts, [3, 3, 3]);
    await end(pub);
    for (const m of ms) await end(m.c);
  });

  it('supports $queue/ and plain subscribers alongside groups', async () => {
    b = await startBroker();
    const q = await members(b, '$queue/qq/t', 2);
    const plain = await connectClient(b.port);
    const gp = collect(plain);
    await subscribe(plain, 'qq/t', { qos: 0 });
    const pub = await connectClient(b.port);
    for (let i = 0; i < 4; i++) await publish(pub, 'qq/t', `m${i}`, { qos: 1 });
    await gp.next(4);
    await sleep(100);
    assert.equal(q[0]!.g.messages.length + q[1]!.g.messages.length, 4);
    await end(pub);
    await end(plain);
    for (const m of q) await end(m.c);
  });

  for (const strategy of ['random', 'sticky', 'hash_clientid', 'hash_topic'] as const) {
    it(`delivers every message once with strategy ${strategy}`, async () => {
      b = await startBroker({ config: { mqtt: { shared_subscription_strategy: strategy } } });
      const ms = await members(b, '$share/s/st/+', 3);
      const pub = await connectClient(b.port, { clientId: 'fixed-publisher' });
      for (let i = 0; i < 12; i++) await publish(pub, `st/${i % 2}`, `m${i}`, { qos: 1 });
      await sleep(200);
      const total = ms.reduce((n, m) => n + m.g.messages.length, 0);
      assert.equal(total, 12);
      if (strategy === 'sticky' || strategy === 'hash_clientid') {
        assert.equal(ms.filter((m) => m.g.messages.length > 0).length, 1, 'one member takes everything');
      }
      await end(pub);
      for (const m of ms) await end(m.c);
    });
  }

  it('hands a leaving member unacknowledged QoS 1 messages to another member', async () => {
    b = await startBroker({ config: { mqtt: { shared_subscription_strategy: 'round_robin' } } });
    const { client: lazy } = await RawClient.connect(b.port, { clientId: 'lazy' }, 4);
    lazy.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/leave/t', qos: 1 }] });
    await lazy.next('suback');
    const good = await connectClient(b.port, { clientId: 'good' });
    const gg = collect(good);
    await subscribe(good, '$share/g/leave/t', { qos: 1 });
    const pub = await connectClient(b.port);
    for (let i = 0; i < 4; i++) await publish(pub, 'leave/t', `m${i}`, { qos: 1 });
    await sleep(200);
    const held = lazy.received.filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.ok(held.length > 0, 'the lazy member got some messages');
    lazy.destroy(); // never acked
    const all = await gg.next(4);
    assert.deepEqual(all.map((m) => m.payload.toString()).sort(), ['m0', 'm1', 'm2', 'm3']);
    await end(pub);
    await end(good);
  });

  it('hands a leaving member the messages still waiting in its queue, intact and in order', async () => {
    b = await startBroker({ config: { mqtt: { shared_subscription_strategy: 'round_robin' } } });
    // Receive Maximum 1: one message in flight, the member's other messages wait in its queue (their frames
    // are built only when they are sent, here to the other member).
    const { client: slow } = await RawClient.connect(
      b.port,
      { clientId: 'slow', properties: { receiveMaximum: 1 } },
      5,
    );
    slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/q/wait/t', qos: 1 }] });
    await slow.next('suback');
    const pub = await connectClient(b.port);
    for (let i = 0; i < 4; i++) await publish(pub, 'wait/t', `m${i}`, { qos: 1 });
    await sleep(100);
    const seen = slow.received.filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.deepEqual(
      seen.map((p) => p.payload.toString()),
      ['m0'],
    );
    const good = await connectClient(b.port, { clientId: 'good2' });
    const gg = collect(good);
    await subscribe(good, '$share/q/wait/t', { qos: 1 });
    slow.destroy(); // never acked
    const all = await gg.next(4);
    assert.deepEqual(
      all.map((m) => m.payload.toString()),
      ['m0', 'm1', 'm2', 'm3'],
    );
    await sleep(100);
    assert.equal(gg.messages.length, 4, 'each message once');
    await end(pub);
    await end(good);
  });

  it('refuses shared subscriptions when disabled (0x9E)', async () => {
    b = await startBroker({ config: { mqtt: { shared_subscription: false } } });
    const { client } = await RawClient.connect(b.port, { clientId: 'nos' }, 5);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/t', qos: 0 }] });
    const sa = (await client.next('suback')) as { granted: number[] };
    assert.deepEqual(sa.granted, [0x9e]);
    client.disconnect();
  });
});
