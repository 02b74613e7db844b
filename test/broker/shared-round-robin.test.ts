/**
 * Round robin in a shared group as members see it: members take turns message by message while they keep
 * up; a burst that arrives in one read while the member whose turn it is has a backlog stays with that
 * member, in order. Either way every message reaches exactly one member, and nothing is lost when a
 * member leaves.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import mqttPacket, { type IPublishPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

/** QoS 1 PUBLISH frames for `payloads`, packet ids from `firstId`, in one buffer (one write). */
function burst(topic: string, payloads: string[], firstId: number): Buffer {
  return Buffer.concat(
    payloads.map((p, i) =>
      mqttPacket.generate({
        cmd: 'publish',
        topic,
        payload: p,
        qos: 1,
        messageId: firstId + i,
        dup: false,
        retain: false,
      }),
    ),
  );
}

/** A member that never acknowledges: with max_inflight 1 it has a backlog after its first message. */
async function lazyMember(port: number, id: string): Promise<RawClient> {
  const { client } = await RawClient.connect(port, { clientId: id }, 4);
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/rr/t', qos: 1 }] });
  await client.next('suback');
  return client;
}

function payloads(c: RawClient): string[] {
  return c.received.filter((p) => p.cmd === 'publish').map((p) => (p as IPublishPacket).payload.toString());
}

/** Waits until `pub` got `n` PUBACKs. */
async function acks(pub: RawClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await pub.next('puback');
}

describe('shared subscription round robin', () => {
  let b: TestBroker | undefined;
  afterEach(async () => {
    await b?.stop();
    b = undefined;
  });

  it('takes turns message by message while the members keep up, even within one read', async () => {
    b = await startBroker({ config: { mqtt: { shared_subscription_strategy: 'round_robin' } } });
    const members = [];
    for (let i = 0; i < 3; i++) {
      const c = await connectClient(b.port, { clientId: `m${i}` });
      const g = collect(c);
      await subscribe(c, '$share/g/rr/t', { qos: 1 });
      members.push({ c, g });
    }
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' }, 4);
    pub.sendBytes(
      burst(
        'rr/t',
        Array.from({ length: 9 }, (_, i) => `m${i}`),
        1,
      ),
    );
    await acks(pub, 9);
    await sleep(200);
    assert.deepEqual(
      members.map((m) => m.g.messages.length),
      [3, 3, 3],
    );
    pub.destroy();
    for (const m of members) await end(m.c);
  });

  it('keeps a burst from one read with a member that has a backlog, and passes the turn on for the next', async () => {
    b = await startBroker({
      config: { mqtt: { shared_subscription_strategy: 'round_robin', max_inflight: 1 } },
    });
    const members = [
      await lazyMember(b.port, 'lazy0'),
      await lazyMember(b.port, 'lazy1'),
      await lazyMember(b.port, 'lazy2'),
    ];
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' }, 4);
    // One message each, in separate reads: every member's window (1) is then full.
    for (let i = 0; i < 3; i++) {
      pub.sendBytes(burst('rr/t', [`first${i}`], 1 + i));
      await acks(pub, 1);
    }
    await sleep(100);
    assert.deepEqual(members.map(payloads), [['first0'], ['first1'], ['first2']]);
    // Two bursts of 4 in one write each: each stays with one member, the next burst goes to the next one.
    pub.sendBytes(burst('rr/t', ['a0', 'a1', 'a2', 'a3'], 10));
    await acks(pub, 4);
    pub.sendBytes(burst('rr/t', ['b0', 'b1', 'b2', 'b3'], 20));
    await acks(pub, 4);
    // Members 0 and 1 now acknowledge all they get; member 2 stays lazy.
    const got: string[][] = [[], [], []];
    for (const k of [0, 1]) {
      const c = members[k]!;
      for (let i = 0; i < 5; i++) {
        const p = (await c.next('publish')) as IPublishPacket;
        got[k]!.push(p.payload.toString());
        c.send({ cmd: 'puback', messageId: p.messageId! });
      }
    }
    assert.deepEqual(got[0], ['first0', 'a0', 'a1', 'a2', 'a3']);
    assert.deepEqual(got[1], ['first1', 'b0', 'b1', 'b2', 'b3']);
    pub.destroy();
    for (const c of members) c.destroy();
  });

  it('hands a leaving member its whole burst: every message still reaches one member once', async () => {
    b = await startBroker({
      config: { mqtt: { shared_subscription_strategy: 'round_robin', max_inflight: 1 } },
    });
    const good = await connectClient(b.port, { clientId: 'good' });
    const gg = collect(good);
    await subscribe(good, '$share/g/rr/t', { qos: 1 });
    const lazy = await lazyMember(b.port, 'lazy');
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' }, 4);
    // x0 goes to good; the burst is lazy's turn: x1 fills its window, x2…x5 stay with it (backlog).
    pub.sendBytes(burst('rr/t', ['x0'], 1));
    await acks(pub, 1);
    pub.sendBytes(burst('rr/t', ['x1', 'x2', 'x3', 'x4', 'x5'], 2));
    await acks(pub, 5);
    await sleep(100);
    assert.deepEqual(payloads(lazy), ['x1'], 'lazy holds the burst (one sent, four queued)');
    lazy.destroy(); // never acked: its inflight and queued messages go to the other member
    const all = await gg.next(6);
    assert.deepEqual(all.map((m) => m.payload.toString()).sort(), ['x0', 'x1', 'x2', 'x3', 'x4', 'x5']);
    await sleep(100);
    assert.equal(gg.messages.length, 6, 'each once');
    pub.destroy();
    await end(good);
  });
});
