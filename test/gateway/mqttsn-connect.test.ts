/** MQTT-SN over UDP: CONNECT (with and without the will dialogue), DISCONNECT, SEARCHGW, PINGREQ, keepalive. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collect, connectClient } from '../helpers/clients.js';
import { until } from './helpers.js';
import { type SnBroker, startSnBroker } from './mqttsn-client/broker.js';
import { SnClient } from './mqttsn-client/client.js';
import { build, T } from './mqttsn-client/codec.js';

describe('mqttsn: connect', () => {
  let b: SnBroker;
  const clients: SnClient[] = [];
  const open = async () => {
    const c = await SnClient.open(b.snPort);
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

  it('CONNECT ⇒ CONNACK <3,5,0>; DISCONNECT ⇒ <2,0x18>; client.connect is the first hook', async () => {
    const seen: string[] = [];
    const hooks = b.node.broker.hooks;
    const points = ['client.connect', 'client.authenticate', 'client.connack', 'client.connected'] as const;
    const offs = points.map((p) =>
      hooks.add(p, () => {
        seen.push(p);
        return undefined as never;
      }),
    );
    const c = await open();
    c.send(build.connect('client_id_test1'));
    const ack = await c.next(T.CONNACK);
    assert.deepEqual([...ack.raw], [3, 0x05, 0x00]);
    assert.equal(seen[0], 'client.connect');
    await until(() => b.node.gateways.get('mqttsn')!.connections.size >= 1);
    c.send(build.disconnect());
    const d = await c.next(T.DISCONNECT);
    assert.deepEqual([...d.raw], [2, 0x18]);
    for (const off of offs) if (typeof off === 'function') off();
  });

  it('DISCONNECT before CONNECT is acknowledged', async () => {
    const c = await open();
    c.send(build.disconnect());
    assert.deepEqual([...(await c.next(T.DISCONNECT)).raw], [2, 0x18]);
  });

  it('SEARCHGW (any state) ⇒ GWINFO <3,2,gw_id>', async () => {
    const c = await open();
    c.send(build.searchgw(1));
    assert.deepEqual([...(await c.next(T.GWINFO)).raw], [3, 0x02, 1]);
  });

  it('packets before CONNECT are dropped silently', async () => {
    const c = await open();
    c.send(build.subscribe(1, 'a/b'));
    c.send(build.register(2, 'a/b'));
    c.send(build.pingreq());
    c.send(build.publish(1, 3, 'x', { qos: 1 }));
    await c.nothing(300);
  });

  it('CONNECT with will: WILLTOPICREQ → WILLTOPIC → WILLMSGREQ → WILLMSG → CONNACK; will published on keepalive timeout', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('will/#', { qos: 1 });
    const c = await open();
    c.send(build.connect('willy', { will: true, duration: 1 }));
    await c.next(T.WILLTOPICREQ);
    c.send(build.willtopic('will/willy', { qos: 1 }));
    await c.next(T.WILLMSGREQ);
    c.send(build.willmsg('gone'));
    assert.equal((await c.next(T.CONNACK)).rc, 0);
    // keepalive 1 s: silence ⇒ DISCONNECT from the gateway and the will within ~1.5 s.
    const [w] = await got.next(1, 5000);
    assert.equal(w!.topic, 'will/willy');
    assert.equal(w!.payload.toString(), 'gone');
    assert.equal(w!.packet.qos, 1);
    await c.next(T.DISCONNECT, 3000);
    m.end(true);
  });

  it('an empty WILLTOPIC means no will: CONNACK and nothing published on timeout', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('will/#');
    const c = await open();
    c.send(build.connect('nowill', { will: true, duration: 1 }));
    await c.next(T.WILLTOPICREQ);
    c.send(build.willtopic(''));
    assert.equal((await c.next(T.CONNACK)).rc, 0);
    await c.next(T.DISCONNECT, 5000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got.messages.length, 0);
    m.end(true);
  });

  it('PINGREQ keeps a client alive; a plain DISCONNECT publishes no will', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('will/#');
    const c = await open();
    c.send(build.connect('pinger', { will: true, duration: 1 }));
    await c.next(T.WILLTOPICREQ);
    c.send(build.willtopic('will/pinger'));
    await c.next(T.WILLMSGREQ);
    c.send(build.willmsg('x'));
    await c.next(T.CONNACK);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 500));
      c.send(build.pingreq('pinger'));
      await c.next(T.PINGRESP);
    }
    c.send(build.pingreq());
    await c.next(T.PINGRESP);
    c.send(build.disconnect());
    await c.next(T.DISCONNECT);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got.messages.length, 0);
    m.end(true);
  });

  it('WILLTOPICUPD / WILLMSGUPD update the will (answered with rc 0); empty WILLTOPICUPD removes it', async () => {
    const m = await connectClient(b.port);
    const got = collect(m);
    await m.subscribeAsync('upd/#');
    const c = await open();
    c.send(build.connect('updater', { duration: 1 }));
    await c.next(T.CONNACK);
    c.send(build.willtopicupd('upd/one', { qos: 0 }));
    assert.deepEqual([...(await c.next(T.WILLTOPICRESP)).raw], [3, 0x1b, 0]);
    c.send(build.willmsgupd('bye'));
    assert.deepEqual([...(await c.next(T.WILLMSGRESP)).raw], [3, 0x1d, 0]);
    const [w] = await got.next(1, 5000);
    assert.equal(w!.topic, 'upd/one');
    assert.equal(w!.payload.toString(), 'bye');

    const c2 = await open();
    c2.send(build.connect('updater2', { duration: 1 }));
    await c2.next(T.CONNACK);
    c2.send(build.willtopicupd('upd/two'));
    await c2.next(T.WILLTOPICRESP);
    c2.send(build.willtopicupd(''));
    await c2.next(T.WILLTOPICRESP);
    await c2.next(T.DISCONNECT, 5000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got.messages.length, 1);
    m.end(true);
  });
});

describe('mqttsn: authentication', () => {
  it('a refused login ⇒ CONNACK 0x03 (MQTT-SN 1.2 has no 0x80); keepalive is the CONNECT duration', async () => {
    const b = await startSnBroker({
      clientinfo_override: { username: 'user1', password: 'pw123' },
      authentication: { mechanism: 'password_based', backend: 'built_in_database' },
    });
    const c = await SnClient.open(b.snPort);
    try {
      c.send(build.connect('nobody', { duration: 10 }));
      assert.equal((await c.next(T.CONNACK)).rc, 0x03);
      // With authentication off on the listener, the same client gets in.
      await b.stop();
      const b2 = await startSnBroker({
        authentication: { mechanism: 'password_based', backend: 'built_in_database' },
        listeners: { udp: { default: { enable_authn: false } } },
      });
      const c2 = await SnClient.connected(b2.snPort, 'somebody', { duration: 10 });
      const conn = [...b2.node.gateways.get('mqttsn')!.connections].find((x) => x.connected);
      assert.equal(conn?.connInfo.keepalive, 10);
      assert.equal(conn?.connInfo.proto_name, 'MQTT-SN');
      assert.equal(conn?.clientInfo.protocol, 'mqtt-sn');
      c2.close();
      await b2.stop();
    } finally {
      c.close();
    }
  });
});
