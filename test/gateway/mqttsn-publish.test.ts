/** MQTT-SN REGISTER and PUBLISH at QoS −1/0/1/2 with normal, predefined and short topic ids, both ways with MQTT. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/broker/message.js';
import { collect, connectClient } from '../helpers/clients.js';
import { PREDEFINED, type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, T } from './mqttsn-client/codec.js';

describe('mqttsn: register and publish', () => {
  let b: SnBroker;
  const clients: SnClient[] = [];
  let seq = 0;
  const login = async (o: { duration?: number } = {}) => {
    const c = await SnClient.connected(b.snPort, `pub-${++seq}`, o);
    clients.push(c);
    return c;
  };
  before(async () => {
    b = await startSnBroker();
  });
  after(async () => {
    for (const c of clients) c.close();
    await b.stop();
  });

  it('REGISTER ⇒ REGACK with ids from 1025; same name same id; predefined name ⇒ its id; wildcard ⇒ id 0 rc 3', async () => {
    const c = await login();
    const a = await c.register(1, 'abc');
    assert.deepEqual([a.topicId, a.msgId, a.rc], [1025, 1, 0]);
    assert.deepEqual([(await c.register(2, 'def')).topicId], [1026]);
    assert.equal((await c.register(3, 'abc')).topicId, 1025);
    assert.equal((await c.register(4, PREDEFINED[1]!.topic)).topicId, 2);
    const w = await c.register(5, 'a/+/c');
    assert.deepEqual([w.topicId, w.rc], [0, 0x03]);
    // Ids are per client.
    const c2 = await login();
    assert.equal((await c2.register(1, 'zzz')).topicId, 1025);
  });

  it('PUBLISH QoS 0/1/2 with a registered id reaches MQTT subscribers; QoS 1 ⇒ PUBACK, QoS 2 ⇒ PUBREC/PUBREL/PUBCOMP', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('sn/pub/#', { qos: 2 });
    const c = await login();
    const id = (await c.register(1, 'sn/pub/t')).topicId!;
    c.send(build.publish(id, 0, 'q0'));
    c.send(build.publish(id, 11, 'q1', { qos: 1 }));
    const ack = await c.next(T.PUBACK);
    assert.deepEqual([ack.topicId, ack.msgId, ack.rc], [id, 11, 0]);
    c.send(build.publish(id, 12, 'q2', { qos: 2 }));
    assert.equal((await c.next(T.PUBREC)).msgId, 12);
    // A retransmitted QoS 2 PUBLISH before PUBREL is not published twice.
    c.send(build.publish(id, 12, 'q2', { qos: 2, dup: true }));
    assert.equal((await c.next(T.PUBREC)).msgId, 12);
    c.send(build.pubrel(12));
    assert.equal((await c.next(T.PUBCOMP)).msgId, 12);
    const msgs = await got.next(3);
    assert.deepEqual(
      msgs.map((x) => [x.topic, x.payload.toString(), x.packet.qos]),
      [
        ['sn/pub/t', 'q0', 0],
        ['sn/pub/t', 'q1', 1],
        ['sn/pub/t', 'q2', 2],
      ],
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got.messages.length, 3);
    m.end(true);
  });

  it('predefined and short topic ids; retain flag travels', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync([PREDEFINED[0]!.topic, 'ab']);
    const c = await login();
    c.send(build.publish(1, 5, 'pre', { qos: 1, idType: 1 }));
    assert.deepEqual([(await c.next(T.PUBACK)).rc], [0]);
    c.send(build.publishShort('ab', 6, 'short', { qos: 1, retain: true }));
    assert.deepEqual([(await c.next(T.PUBACK)).rc], [0]);
    const msgs = await got.next(2);
    assert.deepEqual(
      msgs.map((x) => [x.topic, x.payload.toString()]),
      [
        [PREDEFINED[0]!.topic, 'pre'],
        ['ab', 'short'],
      ],
    );
    m.end(true);
    // The retained short-topic message is delivered to a later MQTT subscriber.
    const m2 = await connectClient(b.port);
    const got2 = collect(m2);
    await m2.subscribeAsync('ab');
    const [r] = await got2.next(1);
    assert.equal(r!.packet.retain, true);
    m2.publish('ab', '', { retain: true });
    m2.end();
  });

  it('unknown topic id ⇒ PUBACK rc 2 (even at QoS 0); wildcard short name ⇒ rc 3; unknown predefined ⇒ rc 2', async () => {
    const c = await login();
    c.send(build.publish(4000, 7, 'x', { qos: 1 }));
    const a = await c.next(T.PUBACK);
    assert.deepEqual([a.topicId, a.msgId, a.rc], [4000, 7, 0x02]);
    c.send(build.publish(4001, 0, 'x'));
    assert.equal((await c.next(T.PUBACK)).rc, 0x02);
    c.send(build.publishShort('a#', 8, 'x', { qos: 1 }));
    assert.equal((await c.next(T.PUBACK)).rc, 0x03);
    c.send(build.publish(99, 9, 'x', { qos: 1, idType: 1 }));
    assert.equal((await c.next(T.PUBACK)).rc, 0x02);
  });

  it('self-delivery byte-exact: subscribe by name, publish QoS 1, receive PUBLISH with the SUBACK id', async () => {
    const c = await login();
    const sub = await c.subscribe(1, 'self/t', 1);
    const id = sub.topicId!;
    assert.equal(id, 1025);
    c.send(build.publish(id, 2, 'me', { qos: 1 }));
    const [puback, pub] = [await c.next(T.PUBACK), await c.next(T.PUBLISH)];
    assert.equal(puback.rc, 0);
    assert.equal(pub.topicId, id);
    assert.equal(pub.idType, 0);
    assert.equal(pub.qos, 1);
    assert.equal(pub.data!.toString(), 'me');
    // The raw datagram: length, type, flags (QoS 1), topic id, msg id, payload.
    assert.deepEqual([...pub.raw.subarray(0, 3)], [9, 0x0c, 0x20]);
    c.send(build.puback(id, pub.msgId!, 0));
  });

  it('QoS −1 from an unconnected client: predefined or short topic, published as QoS 0 from NegQoS-Client, no answer', async () => {
    const froms: string[] = [];
    const off = b.node.broker.hooks.add('message.publish', (msg: Message) => {
      if (msg.topic.startsWith('/predefined') || msg.topic === 'nq') froms.push(msg.from);
      return undefined;
    });
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync([PREDEFINED[1]!.topic, 'nq'], { qos: 1 });
    const c = await SnClient.open(b.snPort);
    clients.push(c);
    c.send(build.publish(2, 0, 'neg-pre', { qos: -1, idType: 1 }));
    c.send(build.publishShort('nq', 0, 'neg-short', { qos: -1 }));
    // A normal topic id means nothing without a connection: dropped.
    c.send(build.publish(1025, 0, 'neg-normal', { qos: -1 }));
    const msgs = await got.next(2);
    assert.deepEqual(
      msgs.map((x) => [x.topic, x.payload.toString(), x.packet.qos]),
      [
        [PREDEFINED[1]!.topic, 'neg-pre', 0],
        ['nq', 'neg-short', 0],
      ],
    );
    await c.nothing(200);
    assert.deepEqual(froms, ['NegQoS-Client', 'NegQoS-Client']);
    off();
    m.end(true);
  });

  it('QoS −1 while connected is taken as QoS 0 with any topic id type', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('negc');
    const c = await login();
    const id = (await c.register(1, 'negc')).topicId!;
    c.send(build.publish(id, 0, 'n', { qos: -1 }));
    const [x] = await got.next(1);
    assert.equal(x!.packet.qos, 0);
    await c.nothing(200);
    m.end(true);
  });

  it('MQTT → MQTT-SN at QoS 0/1/2 with the right topic id types', async () => {
    const c = await login();
    const id = (await c.subscribe(1, 'down/n', 2)).topicId!;
    const pre = await (async () => {
      c.send(build.subscribeId(2, 1, { qos: 1 }));
      return c.next(T.SUBACK);
    })();
    assert.deepEqual([pre.topicId, pre.rc, pre.qos], [1, 0, 1]);
    c.send(build.subscribe(3, 'dn', { idType: 2 }));
    const short = await c.next(T.SUBACK);
    assert.deepEqual([short.topicId, short.rc], [0, 0]);
    const m = await connectClient(b.port);
    await m.publishAsync('down/n', 'to-normal', { qos: 2 });
    const p2 = await c.next(T.PUBLISH);
    assert.deepEqual([p2.topicId, p2.idType, p2.qos, p2.data!.toString()], [id, 0, 2, 'to-normal']);
    c.send(build.pubrec(p2.msgId!));
    assert.equal((await c.next(T.PUBREL)).msgId, p2.msgId);
    c.send(build.pubcomp(p2.msgId!));
    await m.publishAsync(PREDEFINED[0]!.topic, 'to-pre', { qos: 1 });
    const p1 = await c.next(T.PUBLISH);
    assert.deepEqual([p1.topicId, p1.idType, p1.qos], [1, 1, 1]);
    c.send(build.puback(1, p1.msgId!, 0));
    await m.publishAsync('dn', 'to-short', { qos: 0 });
    const p0 = await c.next(T.PUBLISH);
    assert.deepEqual([p0.topicId, p0.idType, p0.qos, p0.msgId], [0x646e, 2, 0, 0]);
    m.end(true);
  });
});

describe('mqttsn: options', () => {
  it('enable_qos3 = false: QoS −1 ⇒ PUBACK rc 3', async () => {
    const b = await startSnBroker({ enable_qos3: false });
    const c = await SnClient.open(b.snPort);
    try {
      c.send(build.publish(1, 3, 'x', { qos: -1, idType: 1 }));
      const a = await c.next(T.PUBACK);
      assert.deepEqual([a.topicId, a.msgId, a.rc], [1, 3, 0x03]);
    } finally {
      c.close();
      await b.stop();
    }
  });

  it('mountpoint: publishes go to mp/<topic>; deliveries strip it', async () => {
    const b = await startSnBroker({ mountpoint: 'mp/' });
    const c = await SnClient.connected(b.snPort, 'mounted');
    const m = await connectClient(b.port);
    try {
      const got = collect(m);
      await m.subscribeAsync('mp/#');
      const id = (await c.register(1, 'up')).topicId!;
      c.send(build.publish(id, 0, 'u'));
      const [x] = await got.next(1);
      assert.equal(x!.topic, 'mp/up');
      const sid = (await c.subscribe(2, 'down')).topicId!;
      await m.publishAsync('mp/down', 'd');
      const p = await c.next(T.PUBLISH);
      assert.equal(p.topicId, sid);
      assert.equal(p.data!.toString(), 'd');
    } finally {
      m.end(true);
      c.close();
      await b.stop();
    }
  });
});
