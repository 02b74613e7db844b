/** Sleeping MQTT-SN clients (§6.14): DISCONNECT with a duration, buffering, PINGREQ wake-up, asleep timeout. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { collect, connectClient } from '../helpers/clients.js';
import { type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, T } from './mqttsn-client/codec.js';

describe('mqttsn: sleeping clients', () => {
  let b: SnBroker;
  let m: MqttClient;
  const clients: SnClient[] = [];
  const login = async (id: string, duration = 60) => {
    const c = await SnClient.connected(b.snPort, id, { duration });
    clients.push(c);
    return c;
  };
  before(async () => {
    b = await startSnBroker();
    m = await connectClient(b.port);
  });
  after(async () => {
    m.end(true);
    for (const c of clients) c.close();
    await b.stop();
  });

  it('asleep: messages are buffered; PINGREQ(clientId) sends them (REGISTER first, acks awaited), then PINGRESP', async () => {
    const c = await login('sleeper1');
    const id = (await c.subscribe(1, 'zz/known', 1)).topicId!;
    await c.subscribe(2, 'zz/w/+', 0);
    c.send(build.disconnect(30));
    const ack = await c.next(T.DISCONNECT);
    assert.deepEqual([...ack.raw], [2, 0x18]);
    await m.publishAsync('zz/known', 'k1', { qos: 1 });
    await m.publishAsync('zz/w/x', 'w1', { qos: 0 });
    await m.publishAsync('zz/known', 'k2', { qos: 1 });
    await c.nothing(300);
    c.send(build.pingreq('sleeper1'));
    const p1 = await c.next(T.PUBLISH);
    assert.deepEqual([p1.topicId, p1.data!.toString()], [id, 'k1']);
    await c.nothing(150, T.PINGRESP);
    c.send(build.puback(id, p1.msgId!, 0));
    const reg = await c.next(T.REGISTER);
    assert.equal(reg.topicName, 'zz/w/x');
    c.send(build.regack(reg.topicId!, reg.msgId!, 0));
    const p2 = await c.next(T.PUBLISH);
    assert.equal(p2.data!.toString(), 'w1');
    const p3 = await c.next(T.PUBLISH);
    assert.equal(p3.data!.toString(), 'k2');
    await c.nothing(150, T.PINGRESP);
    c.send(build.puback(id, p3.msgId!, 0));
    await c.next(T.PINGRESP);
    // Back asleep: new messages wait for the next wake-up.
    await m.publishAsync('zz/known', 'k3', { qos: 0 });
    await c.nothing(300, T.PUBLISH);
    c.send(build.pingreq('sleeper1'));
    assert.equal((await c.next(T.PUBLISH)).data!.toString(), 'k3');
    await c.next(T.PINGRESP);
  });

  it('PINGREQ with nothing buffered ⇒ PINGRESP; an empty PINGREQ does not wake the client', async () => {
    const c = await login('sleeper2');
    await c.subscribe(1, 'yy/t');
    c.send(build.disconnect(30));
    await c.next(T.DISCONNECT);
    c.send(build.pingreq('sleeper2'));
    await c.next(T.PINGRESP);
    await m.publishAsync('yy/t', 'x');
    c.send(build.pingreq());
    await c.next(T.PINGRESP);
    await c.nothing(200, T.PUBLISH);
    c.send(build.pingreq('sleeper2'));
    assert.equal((await c.next(T.PUBLISH)).data!.toString(), 'x');
    await c.next(T.PINGRESP);
  });

  it('CONNECT from asleep ⇒ CONNACK and the client is active again (buffered messages flow)', async () => {
    const c = await login('sleeper3');
    await c.subscribe(1, 'xx/t');
    c.send(build.disconnect(30));
    await c.next(T.DISCONNECT);
    await m.publishAsync('xx/t', 'waited');
    await c.nothing(200);
    c.send(build.connect('sleeper3', { clean: false }));
    assert.equal((await c.next(T.CONNACK)).rc, 0);
    assert.equal((await c.next(T.PUBLISH)).data!.toString(), 'waited');
    await m.publishAsync('xx/t', 'live');
    assert.equal((await c.next(T.PUBLISH)).data!.toString(), 'live');
  });

  it('a client that does not wake within its sleep duration is lost: its will is published', async () => {
    const got = collect(m);
    await m.subscribeAsync('will/sleeper4');
    const c = await SnClient.open(b.snPort);
    clients.push(c);
    c.send(build.connect('sleeper4', { will: true, duration: 60 }));
    await c.next(T.WILLTOPICREQ);
    c.send(build.willtopic('will/sleeper4'));
    await c.next(T.WILLMSGREQ);
    c.send(build.willmsg('asleep too long'));
    await c.next(T.CONNACK);
    c.send(build.disconnect(1));
    await c.next(T.DISCONNECT);
    const [w] = await got.next(1, 5000);
    assert.equal(w!.payload.toString(), 'asleep too long');
    await m.unsubscribeAsync('will/sleeper4');
  });

  it('DISCONNECT with a new duration while asleep re-arms the timer; a plain DISCONNECT ends the session', async () => {
    const c = await login('sleeper5');
    c.send(build.disconnect(1));
    await c.next(T.DISCONNECT);
    c.send(build.disconnect(30));
    await c.next(T.DISCONNECT);
    await new Promise((r) => setTimeout(r, 1600));
    c.send(build.pingreq('sleeper5'));
    await c.next(T.PINGRESP);
    c.send(build.disconnect());
    await c.next(T.DISCONNECT);
    const gw = b.node.gateways.get('mqttsn')!;
    assert.ok(![...gw.connections].some((x) => x.connected && x.clientInfo.clientid === 'sleeper5'));
  });
});
