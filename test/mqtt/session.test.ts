import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

describe('sessions', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker({ config: { mqtt: { max_mqueue_len: 5, session_expiry_interval: '2s' } } });
  });
  after(() => b.stop());

  it('keeps a 3.1.1 persistent session while offline and resumes it with Session Present', async () => {
    const sub = await connectClient(b.port, { clientId: 'p1', clean: false });
    await subscribe(sub, 'persist/1', { qos: 1 });
    await end(sub);
    const pub = await connectClient(b.port);
    await publish(pub, 'persist/1', 'while-away', { qos: 1 });
    await end(pub);
    const back = await connectClient(b.port, { clientId: 'p1', clean: false });
    const got = collect(back);
    const [m] = await got.next(1);
    assert.equal(m!.payload.toString(), 'while-away');
    await end(back);
  });

  it('reports Session Present only when a session was resumed', async () => {
    const first = await RawClient.connect(b.port, { clientId: 'sp', clean: false }, 4);
    assert.equal(first.connack.sessionPresent, false);
    first.client.disconnect();
    await first.client.waitClosed();
    const second = await RawClient.connect(b.port, { clientId: 'sp', clean: false }, 4);
    assert.equal(second.connack.sessionPresent, true);
    second.client.disconnect();
    await second.client.waitClosed();
    const clean = await RawClient.connect(b.port, { clientId: 'sp', clean: true }, 4);
    assert.equal(clean.connack.sessionPresent, false);
    clean.client.disconnect();
  });

  it('drops a session when its expiry interval passes (v5)', async () => {
    const one = await RawClient.connect(
      b.port,
      { clientId: 'exp', clean: true, properties: { sessionExpiryInterval: 1 } },
      5,
    );
    one.client.disconnect();
    await one.client.waitClosed();
    const soon = await RawClient.connect(
      b.port,
      { clientId: 'exp', clean: false, properties: { sessionExpiryInterval: 1 } },
      5,
    );
    assert.equal(soon.connack.sessionPresent, true);
    soon.client.disconnect();
    await soon.client.waitClosed();
    await sleep(1500);
    const late = await RawClient.connect(b.port, { clientId: 'exp', clean: false }, 5);
    assert.equal(late.connack.sessionPresent, false);
    late.client.disconnect();
  });

  it('bounds the offline queue (max_mqueue_len) dropping the oldest', async () => {
    const sub = await connectClient(b.port, { clientId: 'q1', clean: false });
    await subscribe(sub, 'q/1', { qos: 1 });
    await end(sub);
    const pub = await connectClient(b.port);
    for (let i = 0; i < 8; i++) await publish(pub, 'q/1', `m${i}`, { qos: 1 });
    await end(pub);
    const back = await connectClient(b.port, { clientId: 'q1', clean: false });
    const got = collect(back);
    const msgs = await got.next(5);
    assert.deepEqual(
      msgs.map((m) => m.payload.toString()),
      ['m3', 'm4', 'm5', 'm6', 'm7'],
    );
    await sleep(100);
    assert.equal(got.messages.length, 5);
    await end(back);
  });

  it('redelivers unacknowledged QoS 1 messages with DUP after reconnect', async () => {
    const { client: raw } = await RawClient.connect(b.port, { clientId: 'dup1', clean: false }, 4);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/1', qos: 1 }] });
    await raw.next('suback');
    const pub = await connectClient(b.port);
    await publish(pub, 'dup/1', 'once', { qos: 1 });
    const first = (await raw.next('publish')) as IPublishPacket;
    assert.equal(first.dup, false);
    raw.destroy(); // no PUBACK
    await sleep(50);
    const again = await RawClient.connect(b.port, { clientId: 'dup1', clean: false }, 4);
    const redelivered = (await again.client.next('publish')) as IPublishPacket;
    assert.equal(redelivered.dup, true);
    assert.equal(redelivered.messageId, first.messageId);
    assert.equal(redelivered.payload.toString(), 'once');
    again.client.send({ cmd: 'puback', messageId: redelivered.messageId! });
    again.client.disconnect();
    await end(pub);
  });

  it('takes over a live connection: the old one gets DISCONNECT 0x8E and the session moves', async () => {
    const old = await RawClient.connect(
      b.port,
      { clientId: 'tk', clean: false, properties: { sessionExpiryInterval: 60 } },
      5,
    );
    old.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'tk/t', qos: 1 }] });
    await old.client.next('suback');
    const neu = await RawClient.connect(
      b.port,
      { clientId: 'tk', clean: false, properties: { sessionExpiryInterval: 60 } },
      5,
    );
    const d = (await old.client.next('disconnect')) as IDisconnectPacket;
    assert.equal(d.reasonCode, 0x8e);
    await old.client.waitClosed();
    assert.equal(neu.connack.sessionPresent, true);
    const pub = await connectClient(b.port);
    await publish(pub, 'tk/t', 'to-new', { qos: 1 });
    const m = (await neu.client.next('publish')) as IPublishPacket;
    assert.equal(m.payload.toString(), 'to-new');
    neu.client.disconnect(0);
    await end(pub);
  });

  it('discards the old session when the new connection starts clean', async () => {
    const old = await RawClient.connect(b.port, { clientId: 'dc', clean: false }, 4);
    old.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dc/t', qos: 0 }] });
    await old.client.next('suback');
    const neu = await RawClient.connect(b.port, { clientId: 'dc', clean: true }, 4);
    await old.client.waitClosed();
    assert.equal(neu.connack.sessionPresent, false);
    const pub = await connectClient(b.port);
    await publish(pub, 'dc/t', 'x', { qos: 0 });
    await sleep(150);
    assert.equal(neu.client.received.filter((p) => p.cmd === 'publish').length, 0);
    neu.client.disconnect();
    await end(pub);
  });

  it('does not queue QoS 0 for offline sessions when mqueue_store_qos0 = false', async () => {
    const b2 = await startBroker({ config: { mqtt: { mqueue_store_qos0: false } } });
    try {
      const sub = await connectClient(b2.port, { clientId: 'q0', clean: false });
      await subscribe(sub, 'q0/t', { qos: 1 });
      await end(sub);
      const pub = await connectClient(b2.port);
      await publish(pub, 'q0/t', 'zero', { qos: 0 });
      await publish(pub, 'q0/t', 'one', { qos: 1 });
      await end(pub);
      const back = await connectClient(b2.port, { clientId: 'q0', clean: false });
      const got = collect(back);
      const [m] = await got.next(1);
      assert.equal(m!.payload.toString(), 'one');
      await sleep(100);
      assert.equal(got.messages.length, 1);
      await end(back);
    } finally {
      await b2.stop();
    }
  });
});
