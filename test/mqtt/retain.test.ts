import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';

describe('retained messages', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: { retainer: { max_payload_size: '16B', backend: { max_retained_messages: 50 } } },
    });
  });
  after(() => b.stop());

  it('stores, replaces and deletes (empty payload) a retained message', async () => {
    const pub = await connectClient(b.port);
    await publish(pub, 'ret/a', 'one', { qos: 1, retain: true });
    await publish(pub, 'ret/a', 'two', { qos: 1, retain: true });
    const s1 = await connectClient(b.port);
    const g1 = collect(s1);
    await subscribe(s1, 'ret/a', { qos: 1 });
    const [m] = await g1.next(1);
    assert.equal(m!.payload.toString(), 'two');
    assert.equal(m!.packet.retain, true);
    await publish(pub, 'ret/a', '', { qos: 1, retain: true });
    const s2 = await connectClient(b.port);
    const g2 = collect(s2);
    await subscribe(s2, 'ret/a', { qos: 1 });
    await sleep(150);
    assert.equal(g2.messages.length, 0);
    await Promise.all([end(pub), end(s1), end(s2)]);
  });

  it('delivers retained messages matching a wildcard filter', async () => {
    const pub = await connectClient(b.port);
    await publish(pub, 'wc/x/1', 'a', { qos: 1, retain: true });
    await publish(pub, 'wc/y/2', 'b', { qos: 1, retain: true });
    await publish(pub, 'other/1', 'c', { qos: 1, retain: true });
    const s = await connectClient(b.port);
    const g = collect(s);
    await subscribe(s, 'wc/#', { qos: 0 });
    const msgs = await g.next(2);
    assert.deepEqual(msgs.map((x) => x.topic).sort(), ['wc/x/1', 'wc/y/2']);
    await Promise.all([end(pub), end(s)]);
  });

  it('keeps retained messages at a topic and below it apart, whatever order they come and go in', async () => {
    const pub = await connectClient(b.port);
    const lookup = async (filter: string, want: number): Promise<string[]> => {
      const s = await connectClient(b.port);
      const g = collect(s);
      await subscribe(s, filter, { qos: 1 });
      await g.next(want);
      await sleep(100);
      await end(s);
      return g.messages.map((m) => `${m.topic}=${m.payload.toString()}`).sort();
    };
    await publish(pub, 'nest/a', 'top', { qos: 1, retain: true });
    await publish(pub, 'nest/a/b', 'below', { qos: 1, retain: true });
    await publish(pub, 'nest/a', 'top2', { qos: 1, retain: true });
    assert.deepEqual(await lookup('nest/#', 2), ['nest/a/b=below', 'nest/a=top2']);
    assert.deepEqual(await lookup('nest/a/#', 2), ['nest/a/b=below', 'nest/a=top2']);
    assert.deepEqual(await lookup('nest/+', 1), ['nest/a=top2']);
    assert.deepEqual(await lookup('nest/a/+', 1), ['nest/a/b=below']);
    assert.deepEqual(await lookup('nest/a', 1), ['nest/a=top2']);
    await publish(pub, 'nest/a', '', { qos: 1, retain: true });
    assert.deepEqual(await lookup('nest/#', 1), ['nest/a/b=below']);
    assert.deepEqual(await lookup('nest/a', 0), []);
    await publish(pub, 'nest/a/b', '', { qos: 1, retain: true });
    assert.deepEqual(await lookup('nest/#', 0), []);
    await publish(pub, 'nest/a', 'again', { qos: 1, retain: true });
    assert.deepEqual(await lookup('nest/#', 1), ['nest/a=again']);
    await publish(pub, 'nest/a', '', { qos: 1, retain: true });
    await end(pub);
  });

  it('follows Retain Handling 0, 1 and 2 (MQTT 5)', async () => {
    const pub = await connectClient(b.port);
    await publish(pub, 'rh/t', 'kept', { qos: 1, retain: true });
    const s = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(s);
    await subscribe(s, 'rh/t', { qos: 0, rh: 2 });
    await sleep(100);
    assert.equal(g.messages.length, 0, 'rh=2 sends nothing');
    await subscribe(s, 'rh/t', { qos: 0, rh: 1 });
    await sleep(100);
    assert.equal(g.messages.length, 0, 'rh=1 sends nothing for an existing subscription');
    await subscribe(s, 'rh/+', { qos: 0, rh: 1 });
    await g.next(1);
    await subscribe(s, 'rh/+', { qos: 0, rh: 0 });
    await g.next(2);
    await Promise.all([end(pub), end(s)]);
  });

  it('sets RETAIN on live deliveries only with Retain As Published', async () => {
    const s = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(s);
    await subscribe(s, 'rap/plain', { qos: 0 });
    await subscribe(s, 'rap/kept', { qos: 0, rap: true });
    const pub = await connectClient(b.port);
    await publish(pub, 'rap/plain', 'x', { qos: 1, retain: true });
    await publish(pub, 'rap/kept', 'y', { qos: 1, retain: true });
    const msgs = await g.next(2);
    const byTopic = Object.fromEntries(msgs.map((m) => [m.topic, m.packet.retain]));
    assert.deepEqual(byTopic, { 'rap/plain': false, 'rap/kept': true });
    await Promise.all([end(pub), end(s)]);
  });

  it('does not store a payload above retainer.max_payload_size but still forwards it', async () => {
    const s = await connectClient(b.port);
    const g = collect(s);
    await subscribe(s, 'big/t', { qos: 0 });
    const pub = await connectClient(b.port);
    await publish(pub, 'big/t', 'x'.repeat(17), { qos: 1, retain: true });
    await g.next(1);
    const late = await connectClient(b.port);
    const gl = collect(late);
    await subscribe(late, 'big/t', { qos: 0 });
    await sleep(100);
    assert.equal(gl.messages.length, 0);
    await Promise.all([end(pub), end(s), end(late)]);
  });

  it('does not deliver a retained message whose Message Expiry Interval has passed', async () => {
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await publish(pub, 'expire/t', 'short', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await publish(pub, 'expire/u', 'long', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 100 },
    });
    await sleep(1200);
    const s = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(s);
    await subscribe(s, 'expire/+', { qos: 1 });
    const [m] = await g.next(1);
    assert.equal(m!.topic, 'expire/u');
    const left = m!.packet.properties?.messageExpiryInterval ?? 0;
    assert.ok(left > 0 && left <= 99, `remaining expiry ${left} counts down`);
    await sleep(100);
    assert.equal(g.messages.length, 1);
    await Promise.all([end(pub), end(s)]);
  });

  it('refuses new topics beyond backend.max_retained_messages and keeps replacing existing ones', async () => {
    const b2 = await startBroker({ config: { retainer: { backend: { max_retained_messages: 2 } } } });
    try {
      const pub = await connectClient(b2.port);
      for (const t of ['lim/1', 'lim/2', 'lim/3']) await publish(pub, t, t, { qos: 1, retain: true });
      await publish(pub, 'lim/1', 'replaced', { qos: 1, retain: true });
      const s = await connectClient(b2.port);
      const g = collect(s);
      await subscribe(s, 'lim/#', { qos: 0 });
      const msgs = await g.next(2);
      assert.deepEqual(msgs.map((m) => `${m.topic}=${m.payload}`).sort(), ['lim/1=replaced', 'lim/2=lim/2']);
      await sleep(100);
      assert.equal(g.messages.length, 2);
      await Promise.all([end(pub), end(s)]);
    } finally {
      await b2.stop();
    }
  });

  it('never sends retained messages to a shared subscription', async () => {
    const pub = await connectClient(b.port);
    await publish(pub, 'sh/ret', 'x', { qos: 1, retain: true });
    const s = await connectClient(b.port);
    const g = collect(s);
    await subscribe(s, '$share/g/sh/ret', { qos: 0 });
    await sleep(150);
    assert.equal(g.messages.length, 0);
    await Promise.all([end(pub), end(s)]);
  });
});

describe('retained messages across a restart', () => {
  it('are kept in the embedded store', async () => {
    const b1 = await startBroker({ tempDataDir: true });
    const dir = b1.dataDir!;
    const pub = await connectClient(b1.port);
    await publish(pub, 'durable/t', 'survives', { qos: 1, retain: true });
    await end(pub);
    await b1.node.stop();
    const b2 = await startBroker({ dataDir: dir });
    try {
      const s = await connectClient(b2.port);
      const g = collect(s);
      await subscribe(s, 'durable/#', { qos: 1 });
      const [m] = await g.next(1);
      assert.equal(m!.payload.toString(), 'survives');
      assert.equal(m!.packet.retain, true);
      await end(s);
    } finally {
      await b2.stop();
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keep their MQTT 5 properties, and one that expired while the node was down is dropped', async () => {
    const b1 = await startBroker({ tempDataDir: true });
    const dir = b1.dataDir!;
    const pub = await connectClient(b1.port, { protocolVersion: 5 });
    await publish(pub, 'durable5/props', 'with props', {
      qos: 1,
      retain: true,
      properties: { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 3600 },
    });
    await publish(pub, 'durable5/short', 'gone', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await end(pub);
    await b1.node.stop();
    await sleep(1100);
    const b2 = await startBroker({ dataDir: dir });
    try {
      assert.equal(b2.node.retainer.count, 1, 'the expired message is not loaded');
      const s = await connectClient(b2.port, { protocolVersion: 5 });
      const g = collect(s);
      await subscribe(s, 'durable5/#', { qos: 1 });
      const [m] = await g.next(1);
      await sleep(150);
      assert.equal(g.messages.length, 1);
      assert.equal(m!.topic, 'durable5/props');
      assert.equal(m!.payload.toString(), 'with props');
      assert.equal(m!.packet.properties?.contentType, 'text/plain');
      assert.deepEqual({ ...m!.packet.properties?.userProperties }, { k: 'v' });
      const left = m!.packet.properties?.messageExpiryInterval ?? 0;
      assert.ok(left > 3590 && left <= 3600, `expiry interval counts on from the publish: ${left}`);
      await end(s);
      await b2.node.stop();
      // Dropped from the store too: a third start loads only the one message.
      const b3 = await startBroker({ dataDir: dir });
      assert.equal(b3.node.retainer.count, 1);
      await b3.stop();
    } finally {
      await b2.stop();
      const { rmSync } = await import('node:fs');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
