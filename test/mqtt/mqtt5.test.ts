import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket, IPublishPacket, ISubackPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('MQTT 5 features', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { max_topic_alias: 10, response_information: 'resp/' } } });
  });
  after(() => b.stop());

  it('carries every publish property end to end, user properties in order', async () => {
    const s = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(s);
    await subscribe(s, 'props/t', { qos: 1 });
    const { client } = await RawClient.connect(b.port, { clientId: 'props-pub' }, 5);
    client.send({
      cmd: 'publish',
      topic: 'props/t',
      payload: Buffer.from('{"a":1}'),
      qos: 1,
      messageId: 1,
      dup: false,
      retain: false,
      properties: {
        payloadFormatIndicator: true,
        messageExpiryInterval: 60,
        contentType: 'application/json',
        responseTopic: 'reply/here',
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: { z: '1', a: ['2', '3'] },
      },
    });
    const [m] = await g.next(1);
    const p = m!.packet.properties!;
    assert.equal(p.payloadFormatIndicator, true);
    assert.ok(p.messageExpiryInterval! <= 60 && p.messageExpiryInterval! >= 59);
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.responseTopic, 'reply/here');
    assert.deepEqual([...p.correlationData!], [1, 2, 3]);
    assert.deepEqual({ ...p.userProperties }, { z: '1', a: ['2', '3'] });
    assert.deepEqual(Object.keys(p.userProperties!), ['z', 'a'], 'user properties keep their order');
    client.disconnect();
    await end(s);
  });

  it('updates the Message Expiry Interval to the time left when queued', async () => {
    const sub = await RawClient.connect(
      b.port,
      { clientId: 'mei', clean: false, properties: { sessionExpiryInterval: 60 } },
      5,
    );
    sub.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mei/t', qos: 1 }] });
    await sub.client.next('suback');
    sub.client.disconnect();
    await sub.client.waitClosed();
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await publish(pub, 'mei/t', 'x', { qos: 1, properties: { messageExpiryInterval: 10 } });
    await sleep(2100);
    const back = await RawClient.connect(
      b.port,
      { clientId: 'mei', clean: false, properties: { sessionExpiryInterval: 60 } },
      5,
    );
    const m = (await back.client.next('publish')) as IPublishPacket;
    const left = m.properties?.messageExpiryInterval ?? 0;
    assert.ok(left <= 8 && left >= 7, `expected ~8s left, got ${left}`);
    back.client.disconnect();
    await end(pub);
  });

  it('resolves topic aliases sent by the client', async () => {
    const s = await connectClient(b.port);
    const g = collect(s);
    await subscribe(s, 'alias/t', { qos: 0 });
    const { client } = await RawClient.connect(b.port, { clientId: 'alias-in' }, 5);
    client.send({
      cmd: 'publish',
      topic: 'alias/t',
      payload: Buffer.from('1'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 3 },
    });
    client.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('2'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 3 },
    });
    const msgs = await g.next(2);
    assert.deepEqual(
      msgs.map((m) => [m.topic, m.payload.toString()]),
      [
        ['alias/t', '1'],
        ['alias/t', '2'],
      ],
    );
    client.disconnect();
    await end(s);
  });

  it('disconnects on a topic alias above Topic Alias Maximum (0x94) or an unknown alias (0x82)', async () => {
    const a = await RawClient.connect(b.port, { clientId: 'alias-big' }, 5);
    a.client.send({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 11 },
    });
    assert.equal(((await a.client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x94);
    const c = await RawClient.connect(b.port, { clientId: 'alias-unknown' }, 5);
    c.client.send({
      cmd: 'publish',
      topic: '',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { topicAlias: 5 },
    });
    assert.equal(((await c.client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x82);
  });

  it('uses topic aliases towards a client that allows them', async () => {
    const { client } = await RawClient.connect(
      b.port,
      { clientId: 'alias-out', properties: { topicAliasMaximum: 5 } },
      5,
    );
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ao/t', qos: 0 }] });
    await client.next('suback');
    const pub = await connectClient(b.port);
    await publish(pub, 'ao/t', '1');
    await publish(pub, 'ao/t', '2');
    const p1 = (await client.next('publish')) as IPublishPacket;
    const p2 = (await client.next('publish')) as IPublishPacket;
    assert.equal(p1.topic, 'ao/t');
    assert.equal(p1.properties?.topicAlias, 1);
    assert.equal(p2.topic, '');
    assert.equal(p2.properties?.topicAlias, 1);
    client.disconnect();
    await end(pub);
  });

  it('drops (and counts) a delivery above the client Maximum Packet Size', async () => {
    const { client } = await RawClient.connect(
      b.port,
      { clientId: 'mps', properties: { maximumPacketSize: 64 } },
      5,
    );
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mps/t', qos: 1 }] });
    await client.next('suback');
    const before = b.node.metrics.c['delivery.dropped.too_large'];
    const pub = await connectClient(b.port);
    await publish(pub, 'mps/t', 'x'.repeat(100), { qos: 1 });
    await publish(pub, 'mps/t', 'small', { qos: 1 });
    const p = (await client.next('publish')) as IPublishPacket;
    assert.equal(p.payload.toString(), 'small');
    assert.equal(b.node.metrics.c['delivery.dropped.too_large'], before + 1);
    client.disconnect();
    await end(pub);
  });

  it('advertises its own Maximum Packet Size and refuses bigger packets with 0x95', async () => {
    const b2 = await startBroker({ config: { mqtt: { max_packet_size: '1KB' } } });
    try {
      const { client, connack } = await RawClient.connect(b2.port, { clientId: 'big' }, 5);
      assert.equal(connack.properties?.maximumPacketSize, 1024);
      client.send({
        cmd: 'publish',
        topic: 't',
        payload: Buffer.alloc(2000),
        qos: 0,
        dup: false,
        retain: false,
      });
      assert.equal(((await client.next('disconnect')) as IDisconnectPacket).reasonCode, 0x95);
      await client.waitClosed();
    } finally {
      await b2.stop();
    }
  });

  it('honours No Local', async () => {
    const c = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(c);
    await subscribe(c, 'nl/t', { qos: 0, nl: true });
    await subscribe(c, 'nl/+', { qos: 0 });
    await publish(c, 'nl/t', 'self', { qos: 1 });
    const [m] = await g.next(1);
    assert.equal(m!.topic, 'nl/t');
    await sleep(100);
    assert.equal(g.messages.length, 1, 'only the subscription without No Local delivered');
    await end(c);
  });

  it('sends Subscription Identifiers with deliveries', async () => {
    const c = await connectClient(b.port, { protocolVersion: 5 });
    const g = collect(c);
    await subscribe(c, 'sid/a', { qos: 0, properties: { subscriptionIdentifier: 42 } });
    const pub = await connectClient(b.port);
    await publish(pub, 'sid/a', 'x');
    const [m] = await g.next(1);
    assert.deepEqual(m!.packet.properties?.subscriptionIdentifier, 42);
    await Promise.all([end(pub), end(c)]);
  });

  it('answers Request Response Information with Response Information', async () => {
    const { client, connack } = await RawClient.connect(
      b.port,
      { clientId: 'rri', properties: { requestResponseInformation: true } },
      5,
    );
    assert.equal(connack.properties?.responseInformation, 'resp/');
    client.disconnect();
    const other = await RawClient.connect(b.port, { clientId: 'rri2' }, 5);
    assert.equal(other.connack.properties?.responseInformation, undefined);
    other.client.disconnect();
  });

  it('gives a reason code per filter in SUBACK and UNSUBACK', async () => {
    const { client } = await RawClient.connect(b.port, { clientId: 'rc' }, 5);
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'ok/1', qos: 1 },
        { topic: 'bad/#/x', qos: 0 },
        { topic: '$share/g/ok/2', qos: 2 },
      ],
    });
    const sa = (await client.next('suback')) as ISubackPacket;
    assert.deepEqual(sa.granted, [1, 0x8f, 2]);
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['ok/1', 'never/subscribed'] });
    const ua = await client.next('unsuback');
    assert.deepEqual((ua as unknown as { granted: number[] }).granted, [0, 0x11]);
    client.disconnect();
  });
});
