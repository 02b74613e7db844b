/** MQTT-SN SUBSCRIBE/UNSUBSCRIBE and gateway-side REGISTER before delivery (retries, refusals, re-register). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient } from '../helpers/clients.js';
import { PREDEFINED, type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, T } from './mqttsn-client/codec.js';

describe('mqttsn: subscribe', () => {
  let b: SnBroker;
  let m: MqttClient;
  const clients: SnClient[] = [];
  let seq = 0;
  const login = async () => {
    const c = await SnClient.connected(b.snPort, `sub-${++seq}`);
    clients.push(c);
    return c;
  };
  before(async () => {
    b = await startSnBroker({ predefined: [...PREDEFINED, { id: 2000, topic: 'pre/high' }] });
    m = await connectClient(b.port);
  });
  after(async () => {
    m.end(true);
    for (const c of clients) c.close();
    await b.stop();
  });

  it('SUBACK ids and codes: name ⇒ new id, wildcard ⇒ 0, predefined ⇒ its id, unknown predefined ⇒ rc 2, reserved ⇒ rc 3', async () => {
    const c = await login();
    const s1 = await c.subscribe(1, 'sub/a', 1);
    assert.deepEqual([s1.topicId, s1.msgId, s1.rc, s1.qos, s1.idType], [1025, 1, 0, 1, 0]);
    const s2 = await c.subscribe(2, 'sub/+', 2);
    assert.deepEqual([s2.topicId, s2.rc, s2.qos], [0, 0, 2]);
    c.send(build.subscribeId(3, 2));
    const s3 = await c.next(T.SUBACK);
    assert.deepEqual([s3.topicId, s3.rc], [2, 0]);
    c.send(build.subscribeId(4, 77));
    const s4 = await c.next(T.SUBACK);
    assert.deepEqual([s4.topicId, s4.msgId, s4.rc], [0, 4, 0x02]);
    c.send(build.subscribe(5, 'zz', { idType: 3 }));
    assert.equal((await c.next(T.SUBACK)).rc, 0x03);
    // [Q] predefined ids above 1024 are allowed (EMQX docs: 1..65535); registered ids skip them.
    c.send(build.subscribeId(6, 2000));
    assert.equal((await c.next(T.SUBACK)).topicId, 2000);
  });

  it('registered ids skip a predefined id in their range', async () => {
    const b2 = await startSnBroker({ predefined: [{ id: 1025, topic: 'taken' }] });
    const c = await SnClient.connected(b2.snPort, 'skipper');
    try {
      assert.equal((await c.register(1, 'first')).topicId, 1026);
      assert.equal((await c.register(2, 'taken')).topicId, 1025);
    } finally {
      c.close();
      await b2.stop();
    }
  });

  it('UNSUBSCRIBE always gets UNSUBACK and stops deliveries', async () => {
    const c = await login();
    const id = (await c.subscribe(1, 'uns/t')).topicId!;
    await m.publishAsync('uns/t', 'one');
    assert.equal((await c.next(T.PUBLISH)).topicId, id);
    c.send(build.unsubscribe(2, 'uns/t'));
    assert.equal((await c.next(T.UNSUBACK)).msgId, 2);
    c.send(build.unsubscribe(3, 'never/subscribed'));
    assert.equal((await c.next(T.UNSUBACK)).msgId, 3);
    c.send(build.unsubscribeId(4, 1));
    assert.equal((await c.next(T.UNSUBACK)).msgId, 4);
    await m.publishAsync('uns/t', 'two');
    await c.nothing(300, T.PUBLISH);
  });

  it('wildcard subscription: the gateway REGISTERs the topic before the first PUBLISH and holds later messages', async () => {
    const c = await login();
    await c.subscribe(1, 'wild/#', 1);
    await m.publishAsync('wild/a/b', 'first', { qos: 1 });
    await m.publishAsync('wild/a/b', 'second', { qos: 0 });
    const reg = await c.next(T.REGISTER);
    assert.equal(reg.topicName, 'wild/a/b');
    assert.equal(reg.topicId, 1025);
    await c.nothing(200, T.PUBLISH);
    c.send(build.regack(reg.topicId!, reg.msgId!, 0));
    const p1 = await c.next(T.PUBLISH);
    assert.deepEqual([p1.topicId, p1.data!.toString(), p1.qos], [1025, 'first', 1]);
    c.send(build.puback(p1.topicId!, p1.msgId!, 0));
    const p2 = await c.next(T.PUBLISH);
    assert.deepEqual([p2.topicId, p2.data!.toString(), p2.qos, p2.msgId], [1025, 'second', 0, 0]);
    // Next message on the same topic needs no REGISTER.
    await m.publishAsync('wild/a/b', 'third');
    assert.equal((await c.next(T.PUBLISH)).data!.toString(), 'third');
    assert.equal(c.inbox.filter((x) => x.type === T.REGISTER).length, 0);
  });

  it('REGACK with an error skips that topic; other topics still flow', async () => {
    const c = await login();
    await c.subscribe(1, 'skip/+');
    await m.publishAsync('skip/bad', 'lost');
    const reg = await c.next(T.REGISTER);
    c.send(build.regack(reg.topicId!, reg.msgId!, 0x03));
    await m.publishAsync('skip/good', 'kept');
    const reg2 = await c.next(T.REGISTER);
    assert.equal(reg2.topicName, 'skip/good');
    c.send(build.regack(reg2.topicId!, reg2.msgId!, 0));
    const p = await c.next(T.PUBLISH);
    assert.equal(p.data!.toString(), 'kept');
  });

  it('PUBACK "invalid topic id" ⇒ the gateway REGISTERs again and replays the message', async () => {
    const c = await login();
    const id = (await c.subscribe(1, 'inv/t', 1)).topicId!;
    await m.publishAsync('inv/t', 'again', { qos: 1 });
    const p = await c.next(T.PUBLISH);
    assert.equal(p.topicId, id);
    c.send(build.puback(p.topicId!, p.msgId!, 0x02));
    const reg = await c.next(T.REGISTER);
    assert.equal(reg.topicName, 'inv/t');
    assert.notEqual(reg.topicId, id);
    c.send(build.regack(reg.topicId!, reg.msgId!, 0));
    const replay = await c.next(T.PUBLISH);
    assert.deepEqual(
      [replay.topicId, replay.msgId, replay.dup, replay.data!.toString()],
      [reg.topicId, p.msgId, true, 'again'],
    );
    c.send(build.puback(replay.topicId!, replay.msgId!, 0));
  });

  it('one QoS 1 message in flight at a time', async () => {
    const c = await login();
    await c.subscribe(1, 'one/t', 1);
    for (const x of ['a', 'b', 'c']) await m.publishAsync('one/t', x, { qos: 1 });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await c.next(T.PUBLISH);
      got.push(p.data!.toString());
      await c.nothing(150, T.PUBLISH);
      c.send(build.puback(p.topicId!, p.msgId!, 0));
    }
    assert.deepEqual(got, ['a', 'b', 'c']);
  });

  it('retained messages follow the SUBACK', async () => {
    await m.publishAsync('ret/t', 'kept', { retain: true });
    const c = await login();
    c.send(build.subscribe(1, 'ret/t'));
    const first = await c.next();
    assert.equal(first.type, T.SUBACK);
    const p = await c.next(T.PUBLISH);
    assert.deepEqual([p.topicId, p.retain, p.data!.toString()], [first.topicId, true, 'kept']);
    await m.publishAsync('ret/t', '', { retain: true });
  });

  it('an unanswered REGISTER is sent 3 more times, 5 s apart, then the client is disconnected', {
    timeout: 60_000,
  }, async () => {
    const c = await login();
    await c.subscribe(1, 'mute/#');
    await m.publishAsync('mute/x', 'never');
    const regs = [await c.next(T.REGISTER)];
    for (let i = 0; i < 3; i++) regs.push(await c.next(T.REGISTER, 12_000));
    assert.ok(regs.every((r) => r.topicName === 'mute/x' && r.msgId === regs[0]!.msgId));
    await c.next(T.DISCONNECT, 12_000);
  });
});
