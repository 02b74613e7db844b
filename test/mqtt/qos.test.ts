import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  IPubackPacket,
  IPubcompPacket,
  IPublishPacket,
  IPubrecPacket,
  IPubrelPacket,
} from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('QoS 0, 1 and 2', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({
      config: { mqtt: { max_inflight: 4, retry_interval: '1s', max_awaiting_rel: 3 } },
    });
  });
  after(() => b.stop());

  for (const version of [4, 5] as const) {
    it(`delivers every QoS end to end with mqtt.js (v${version === 4 ? '3.1.1' : '5'})`, async () => {
      const sub = await connectClient(b.port, { protocolVersion: version });
      const got = collect(sub);
      await subscribe(sub, `qos${version}/#`, { qos: 2 });
      const pub = await connectClient(b.port, { protocolVersion: version });
      for (const qos of [0, 1, 2] as const) await publish(pub, `qos${version}/${qos}`, `q${qos}`, { qos });
      const msgs = await got.next(3);
      assert.deepEqual(
        msgs.map((m) => [m.topic, m.payload.toString(), m.packet.qos]),
        [
          [`qos${version}/0`, 'q0', 0],
          [`qos${version}/1`, 'q1', 1],
          [`qos${version}/2`, 'q2', 2],
        ],
      );
      await end(pub);
      await end(sub);
    });
  }

  it('downgrades to the subscription QoS', async () => {
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await subscribe(sub, 'down/t', { qos: 1 });
    const pub = await connectClient(b.port);
    await publish(pub, 'down/t', 'x', { qos: 2 });
    const [m] = await got.next(1);
    assert.equal(m!.packet.qos, 1);
    await end(pub);
    await end(sub);
  });

  it('publishes a repeated QoS 2 packet id only once (exactly once)', async () => {
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await subscribe(sub, 'eo/t', { qos: 2 });
    const { client } = await RawClient.connect(b.port, { clientId: 'eo-pub' }, 4);
    const publishPacket = {
      cmd: 'publish',
      topic: 'eo/t',
      payload: Buffer.from('once'),
      qos: 2,
      messageId: 7,
      dup: false,
      retain: false,
    } as const;
    client.send(publishPacket);
    const rec1 = (await client.next('pubrec')) as IPubrecPacket;
    assert.equal(rec1.messageId, 7);
    client.send({ ...publishPacket, dup: true });
    const rec2 = (await client.next('pubrec')) as IPubrecPacket;
    assert.equal(rec2.messageId, 7);
    client.send({ cmd: 'pubrel', messageId: 7 });
    const comp = (await client.next('pubcomp')) as IPubcompPacket;
    assert.equal(comp.messageId, 7);
    await got.next(1);
    await sleep(150);
    assert.equal(got.messages.length, 1);
    client.disconnect();
    await end(sub);
  });

  it('completes an outgoing QoS 2 delivery PUBLISH → PUBREC → PUBREL → PUBCOMP', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'q2-sub' }, 4);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q2out', qos: 2 }] });
    await client.next('suback');
    const pub = await connectClient(b.port);
    await publish(pub, 'q2out', 'x', { qos: 2 });
    const p = (await client.next('publish')) as IPublishPacket;
    assert.equal(p.qos, 2);
    client.send({ cmd: 'pubrec', messageId: p.messageId! });
    const rel = (await client.next('pubrel')) as IPubrelPacket;
    assert.equal(rel.messageId, p.messageId);
    client.send({ cmd: 'pubcomp', messageId: p.messageId! });
    client.disconnect();
    await end(pub);
  });

  it('keeps at most max_inflight unacknowledged messages, sending the rest as acks arrive', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'win' }, 4);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'win/t', qos: 1 }] });
    await client.next('suback');
    const pub = await connectClient(b.port);
    for (let i = 0; i < 6; i++) await publish(pub, 'win/t', `m${i}`, { qos: 1 });
    await sleep(200);
    const first = client.received.filter((p) => p.cmd === 'publish') as IPublishPacket[];
    assert.equal(first.length, 4);
    const ids = new Set(first.map((p) => p.messageId));
    assert.equal(ids.size, 4, 'distinct packet ids');
    client.received.length = 0;
    client.send({ cmd: 'puback', messageId: first[0]!.messageId! });
    const fifth = (await client.next('publish')) as IPublishPacket;
    assert.equal(fifth.payload.toString(), 'm4');
    assert.ok(!ids.has(fifth.messageId) || fifth.messageId === first[0]!.messageId);
    client.disconnect();
    await end(pub);
  });

  it('gives each subscriber its own packet ids, alone on a topic or one of several', async () => {
    const a = (await RawClient.connect(b.port, { clientId: 'ids-a' }, 4)).client;
    const c = (await RawClient.connect(b.port, { clientId: 'ids-c' }, 4)).client;
    a.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'ids/a', qos: 1 },
        { topic: 'ids/all', qos: 1 },
      ],
    });
    c.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'ids/c', qos: 1 },
        { topic: 'ids/all', qos: 1 },
      ],
    });
    await a.next('suback');
    await c.next('suback');
    const pub = await connectClient(b.port);
    // Same protocol level, so both get the one frame serialized for 'both'. c's packet ids run ahead of
    // a's: that frame must reach each with its own id.
    for (const [topic, payload] of [
      ['ids/c', 'c1'],
      ['ids/c', 'c2'],
      ['ids/a', 'a1'],
      ['ids/all', 'both'],
      ['ids/a', 'a2'],
    ])
      await publish(pub, topic!, payload!, { qos: 1 });
    const got = async (client: RawClient, n: number) => {
      const out: IPublishPacket[] = [];
      for (let i = 0; i < n; i++) out.push((await client.next('publish')) as IPublishPacket);
      return out.map((p) => [p.payload.toString(), p.messageId]);
    };
    const fromA = await got(a, 3);
    const fromC = await got(c, 3);
    assert.deepEqual(fromA, [
      ['a1', 1],
      ['both', 2],
      ['a2', 3],
    ]);
    assert.deepEqual(fromC, [
      ['c1', 1],
      ['c2', 2],
      ['both', 3],
    ]);
    a.disconnect();
    c.disconnect();
    await end(pub);
  });

  it('respects the client Receive Maximum (MQTT 5)', async () => {
    const { client } = await RawClient.connect(
      b.port,
      { clientId: 'rm', properties: { receiveMaximum: 2 } },
      5,
    );
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/t', qos: 1 }] });
    await client.next('suback');
    const pub = await connectClient(b.port);
    for (let i = 0; i < 4; i++) await publish(pub, 'rm/t', `m${i}`, { qos: 1 });
    await sleep(200);
    assert.equal(client.received.filter((p) => p.cmd === 'publish').length, 2);
    client.disconnect();
    await end(pub);
  });

  it('resends an unacknowledged message to a 3.1.1 client after retry_interval with DUP', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'retry' }, 4);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'retry/t', qos: 1 }] });
    await client.next('suback');
    const pub = await connectClient(b.port);
    await publish(pub, 'retry/t', 'r', { qos: 1 });
    const first = (await client.next('publish')) as IPublishPacket;
    const again = (await client.next('publish', 4000)) as IPublishPacket;
    assert.equal(again.dup, true);
    assert.equal(again.messageId, first.messageId);
    client.send({ cmd: 'puback', messageId: first.messageId! });
    client.disconnect();
    await end(pub);
  });

  it('answers a PUBREL for an unknown packet id with PUBCOMP 0x92 (MQTT 5)', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'relx' }, 5);
    client.send({ cmd: 'pubrel', messageId: 99 });
    const comp = (await client.next('pubcomp')) as IPubcompPacket;
    assert.equal(comp.reasonCode, 0x92);
    client.disconnect();
  });

  it('refuses QoS 2 beyond max_awaiting_rel with PUBREC 0x97 Quota exceeded (MQTT 5)', async () => {
    const b2 = await startBroker({ config: { mqtt: { max_awaiting_rel: 2, max_inflight: 10 } } });
    try {
      const { client } = await RawClient.connect(b2.port, { clientId: 'rel' }, 5);
      for (const id of [1, 2, 3]) {
        client.send({
          cmd: 'publish',
          topic: 'r/t',
          payload: Buffer.from('x'),
          qos: 2,
          messageId: id,
          dup: false,
          retain: false,
        });
      }
      const recs = [
        await client.next('pubrec'),
        await client.next('pubrec'),
        await client.next('pubrec'),
      ] as IPubrecPacket[];
      assert.deepEqual(
        recs.map((r) => [r.messageId, r.reasonCode ?? 0]),
        [
          [1, 0x10],
          [2, 0x10],
          [3, 0x97],
        ],
      );
      client.disconnect();
    } finally {
      await b2.stop();
    }
  });

  it('acknowledges QoS 1 with 0x10 No matching subscribers (MQTT 5) and 0 when delivered', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'nms' }, 5);
    client.send({
      cmd: 'publish',
      topic: 'nobody/here',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 3,
      dup: false,
      retain: false,
    });
    const ack = (await client.next('puback')) as IPubackPacket;
    assert.equal(ack.reasonCode, 0x10);
    client.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'me/t', qos: 0 }] });
    await client.next('suback');
    client.send({
      cmd: 'publish',
      topic: 'me/t',
      payload: Buffer.from('x'),
      qos: 1,
      messageId: 5,
      dup: false,
      retain: false,
    });
    const ack2 = (await client.next('puback')) as IPubackPacket;
    assert.equal(ack2.reasonCode ?? 0, 0);
    client.disconnect();
  });
});
