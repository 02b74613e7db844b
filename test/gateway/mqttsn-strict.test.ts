/**
 * MQTT-SN hardening: QoS −1 publishes do not bypass the gateway's authenticator, refused logins use the
 * MQTT-SN 1.2 return codes, one source address cannot take every client slot, keepalive durations are
 * held to max_keepalive, malformed-but-parseable requests are refused, and a PUBACK leaves before the
 * delivery the same publish causes back to its sender.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collect, connectClient, sleep } from '../helpers/clients.js';
import { PREDEFINED, type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, flagByte, frame, T } from './mqttsn-client/codec.js';

const AUTHN = { mechanism: 'password_based', backend: 'built_in_database' };

describe('mqttsn: a full gateway', () => {
  it('answers a new CONNECT with CONNACK 0x01 congestion when max_connections is reached', async () => {
    const b = await startSnBroker({
      listeners: { udp: { default: { bind: '127.0.0.1:0', max_connections: 2 } } },
    });
    const clients: SnClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = await SnClient.open(b.snPort);
        clients.push(c);
        c.send(build.connect(`full-${i}`));
        assert.equal((await c.next(T.CONNACK)).rc, 0);
      }
      const late = await SnClient.open(b.snPort);
      clients.push(late);
      late.send(build.connect('full-late'));
      assert.equal((await late.next(T.CONNACK)).rc, 0x01);
      // Anything but a CONNECT from a refused peer gets no answer (there is nothing it could mean).
      late.send(build.pingreq());
      await late.nothing(200);
    } finally {
      for (const c of clients) c.close();
      await b.stop();
    }
  });
});

describe('mqttsn: QoS −1 with an authenticator', () => {
  it('dropped (counted) without qos3_identity; CONNACK for a refused login is 0x03', async () => {
    const b = await startSnBroker({ authentication: AUTHN });
    const clients: SnClient[] = [];
    try {
      const m = await connectClient(b.port);
      const got = collect(m);
      await m.subscribeAsync([PREDEFINED[0]!.topic, 'nq'], { qos: 0 });
      const c = await SnClient.open(b.snPort);
      clients.push(c);
      c.send(build.connect('nobody'));
      assert.equal((await c.next(T.CONNACK)).rc, 0x03);
      const d = await SnClient.open(b.snPort);
      clients.push(d);
      const before = b.node.gateways.get('mqttsn')!.metrics.snapshot()['messages.dropped'] ?? 0;
      d.send(build.publish(1, 0, 'sneaky', { qos: -1, idType: 1 }));
      d.send(build.publishShort('nq', 0, 'sneaky', { qos: -1 }));
      await sleep(300);
      assert.equal(got.messages.length, 0, 'no QoS −1 publish reached MQTT');
      const after = b.node.gateways.get('mqttsn')!.metrics.snapshot()['messages.dropped'] ?? 0;
      assert.equal(after, before + 2);
      m.end(true);
    } finally {
      for (const c of clients) c.close();
      await b.stop();
    }
  });

  it('taken and authorized as qos3_identity when it is configured', async () => {
    const b = await startSnBroker({
      authentication: AUTHN,
      qos3_identity: { clientid: 'sensor-net', username: 'sensors' },
    });
    const c = await SnClient.open(b.snPort);
    try {
      const m = await connectClient(b.port);
      const got = collect(m);
      await m.subscribeAsync('nq', { qos: 0 });
      c.send(build.publishShort('nq', 0, 'allowed', { qos: -1 }));
      const [x] = await got.next(1);
      assert.equal(x!.payload.toString(), 'allowed');
      m.end(true);
    } finally {
      c.close();
      await b.stop();
    }
  });
});

describe('mqttsn: limits and strictness', () => {
  let b: SnBroker;
  const clients: SnClient[] = [];
  const open = async () => {
    const c = await SnClient.open(b.snPort);
    clients.push(c);
    return c;
  };
  before(async () => {
    b = await startSnBroker({ max_clients_per_source: 3, max_keepalive: '30s' });
  });
  after(async () => {
    for (const c of clients) c.close();
    await b.stop();
  });

  it('a source address past max_clients_per_source gets CONNACK 0x01 congestion; a slot freed is reusable', async () => {
    const ok: SnClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await open();
      c.send(build.connect(`src-${i}`, { duration: 65535 }));
      assert.equal((await c.next(T.CONNACK)).rc, 0);
      ok.push(c);
    }
    const extra = await open();
    extra.send(build.connect('src-extra'));
    assert.equal((await extra.next(T.CONNACK)).rc, 0x01);
    // One client leaves: its slot goes to the next CONNECT.
    ok[0]!.send(build.disconnect());
    await ok[0]!.next(T.DISCONNECT);
    const again = await open();
    again.send(build.connect('src-again'));
    assert.equal((await again.next(T.CONNACK)).rc, 0);
    for (const c of [...ok.slice(1), again]) {
      c.send(build.disconnect());
      await c.next(T.DISCONNECT);
    }
  });

  it('a keepalive duration of 65535 s is held to max_keepalive', async () => {
    const c = await open();
    c.send(build.connect('long-ka', { duration: 65535 }));
    assert.equal((await c.next(T.CONNACK)).rc, 0);
    const conn = [...b.node.gateways.get('mqttsn')!.connections].find(
      (x) => x.connected && x.clientInfo.clientid === 'long-ka',
    );
    assert.equal(conn?.connInfo.keepalive, 30);
    c.send(build.disconnect());
    await c.next(T.DISCONNECT);
  });

  it('CONNECT with a protocol id other than 1 ⇒ CONNACK 0x03', async () => {
    const c = await open();
    c.send(frame(T.CONNECT, [flagByte({ clean: true }), 0x02, 0, 60], 'proto2'));
    assert.equal((await c.next(T.CONNACK)).rc, 0x03);
  });

  it('REGISTER with an empty or non-UTF-8 name is refused; SUBSCRIBE QoS −1 or empty is answered 0x03', async () => {
    const c = await SnClient.connected(b.snPort, 'strict-1');
    clients.push(c);
    const empty = await c.register(1, '');
    assert.deepEqual([empty.topicId, empty.rc], [0, 0x03]);
    c.send(frame(T.REGISTER, [0, 0, 0, 2], Buffer.from([0x61, 0xff, 0x62])));
    await c.nothing(300, T.REGACK);
    c.send(build.subscribe(3, 'neg/sub', { qos: -1 }));
    const neg = await c.next(T.SUBACK);
    assert.deepEqual([neg.msgId, neg.rc], [3, 0x03]);
    c.send(frame(T.SUBSCRIBE, [flagByte({ qos: 0 }), 0, 4]));
    const none = await c.next(T.SUBACK);
    assert.deepEqual([none.msgId, none.rc], [4, 0x03]);
    c.send(build.disconnect());
    await c.next(T.DISCONNECT);
  });

  it('QoS 1 PUBLISH to a topic the sender subscribes to: PUBACK before the PUBLISH delivery', async () => {
    const c = await SnClient.connected(b.snPort, 'echo-1');
    clients.push(c);
    const sub = await c.subscribe(1, 'echo/t', 1);
    assert.equal(sub.rc, 0);
    c.send(build.publish(sub.topicId!, 2, 'hello', { qos: 1 }));
    const first = await c.next();
    const second = await c.next();
    assert.deepEqual([first.type, second.type], [T.PUBACK, T.PUBLISH], 'PUBACK first, then the delivery');
    assert.equal(first.msgId, 2);
    c.send(build.puback(second.topicId!, second.msgId!));
    c.send(build.disconnect());
    await c.next(T.DISCONNECT);
  });
});
