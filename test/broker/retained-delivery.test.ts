/**
 * Large retained sets as subscribers see them: each matching retained message arrives exactly once, in
 * the order it was stored, with RETAIN set, however small the subscriber's window and queue; and a full
 * store comes back after a restart.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, type Received, sleep, subscribe } from '../helpers/clients.js';

/** Topics a/<i>/c and a/<i>/d for i < PAIRS, stored in that order (c before d). */
const PAIRS = 10_000;

function topicAt(k: number): string {
  return `a/${k >> 1}/${k & 1 ? 'd' : 'c'}`;
}

/** Publishes `topicAt(k)` for k in [from, to) as retained QoS 1 with payload `prefix + k`, in order. */
async function store(pub: MqttClient, from: number, to: number, prefix: string): Promise<void> {
  const acks: Promise<unknown>[] = [];
  for (let k = from; k < to; k++)
    acks.push(publish(pub, topicAt(k), `${prefix}${k}`, { qos: 1, retain: true }));
  await Promise.all(acks);
}

/** Asserts `got` is exactly `want` (topic, payload), in order, every one with RETAIN set. */
function assertSequence(got: Received[], want: Array<[string, string]>, who: string): void {
  assert.equal(got.length, want.length, `${who}: count`);
  for (let i = 0; i < want.length; i++) {
    const m = got[i]!;
    const [topic, payload] = want[i]!;
    if (m.topic !== topic || m.payload.toString() !== payload || m.packet.retain !== true) {
      assert.fail(
        `${who}: message ${i} is ${m.topic} "${m.payload}" retain=${m.packet.retain}, expected ${topic} "${payload}"`,
      );
    }
  }
}

describe('a large retained set to wildcard subscribers', () => {
  let b: TestBroker;
  const all: Array<[string, string]> = [];
  before(async () => {
    // A queue far smaller than the set and a small window: the set must be paced, never dropped.
    b = await startBroker({ config: { mqtt: { max_mqueue_len: 100, max_inflight: 8 } } });
    const pub = await connectClient(b.port);
    await store(pub, 0, 2 * PAIRS, 'v');
    await end(pub);
    for (let k = 0; k < 2 * PAIRS; k++) all.push([topicAt(k), `v${k}`]);
    assert.equal(b.node.retainer.count, 2 * PAIRS);
  });
  after(() => b.stop());

  it('delivers 20 000 retained to # and a/+/c subscribers exactly once, in store order (Receive Maximum 2)', async () => {
    const opts = { protocolVersion: 5 as const, properties: { receiveMaximum: 2 } };
    const [hash, column] = await Promise.all([connectClient(b.port, opts), connectClient(b.port, opts)]);
    const gHash = collect(hash);
    const gColumn = collect(column);
    // Both at once: their deliveries of the same messages interleave.
    await Promise.all([subscribe(hash, '#', { qos: 1 }), subscribe(column, 'a/+/c', { qos: 1 })]);
    const [fromHash, fromColumn] = await Promise.all([
      gHash.next(2 * PAIRS, 60_000),
      gColumn.next(PAIRS, 60_000),
    ]);
    assertSequence(fromHash, all, '#');
    assertSequence(
      fromColumn,
      all.filter(([t]) => t.endsWith('/c')),
      'a/+/c',
    );
    await sleep(100);
    assert.equal(gHash.messages.length, 2 * PAIRS, '# got nothing more');
    assert.equal(gColumn.messages.length, PAIRS, 'a/+/c got nothing more');
    assert.equal(b.node.metrics.c['delivery.dropped'], 0);
    await Promise.all([end(hash), end(column)]);
  });

  it('sends the same bytes to later subscribers, of either protocol level and QoS', async () => {
    // By now every message went out at least once (QoS 1, MQTT 5): these deliveries may reuse frames
    // serialized before, with this subscriber's packet ids.
    const v5 = await connectClient(b.port, { protocolVersion: 5, properties: { receiveMaximum: 3 } });
    const v311 = await connectClient(b.port);
    const g5 = collect(v5);
    const g311 = collect(v311);
    await Promise.all([subscribe(v5, 'a/+/d', { qos: 1 }), subscribe(v311, 'a/#', { qos: 0 })]);
    const [from5, from311] = await Promise.all([g5.next(PAIRS, 60_000), g311.next(2 * PAIRS, 60_000)]);
    assertSequence(
      from5,
      all.filter(([t]) => t.endsWith('/d')),
      'a/+/d (MQTT 5, QoS 1)',
    );
    assertSequence(from311, all, 'a/# (MQTT 3.1.1, QoS 0)');
    for (const m of from5) assert.equal(m.packet.qos, 1);
    for (const m of from311) assert.equal(m.packet.qos, 0);
    await Promise.all([end(v5), end(v311)]);
  });
});

describe('a full retained store across a restart', () => {
  it('comes back whole: replaced payloads, deletions and expiry kept, in store order', async () => {
    const b1 = await startBroker({ tempDataDir: true });
    const dir = b1.dataDir!;
    let b2: TestBroker | undefined;
    try {
      const pub = await connectClient(b1.port, { protocolVersion: 5 });
      await store(pub, 0, 2 * PAIRS, 'v');
      // Later publishes in a later millisecond, so their place in the store's order is certain.
      await sleep(5);
      // Replace every 100th, delete every 100th + 1, and one that expires a second after it was stored.
      const replaced: number[] = [];
      const acks: Promise<unknown>[] = [];
      for (let k = 0; k < 2 * PAIRS; k += 100) {
        replaced.push(k);
        acks.push(publish(pub, topicAt(k), `new${k}`, { qos: 1, retain: true }));
        acks.push(publish(pub, topicAt(k + 1), '', { qos: 1, retain: true }));
      }
      await Promise.all(acks);
      await publish(pub, 'b/expiring', 'gone soon', {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: 1 },
      });
      await end(pub);
      assert.equal(b1.node.retainer.count, 2 * PAIRS - replaced.length + 1);
      await b1.node.stop();

      b2 = await startBroker({ dataDir: dir });
      // The expiring message is dropped at load if the restart took over a second, else kept until then.
      const loaded = b2.node.retainer.count - (2 * PAIRS - replaced.length);
      assert.ok(loaded === 0 || loaded === 1, `${b2.node.retainer.count} retained after the restart`);
      await sleep(1100);
      const want: Array<[string, string]> = [];
      for (let k = 0; k < 2 * PAIRS; k++) if (k % 100 > 1) want.push([topicAt(k), `v${k}`]);
      for (const k of replaced) want.push([topicAt(k), `new${k}`]);
      const s = await connectClient(b2.port, { protocolVersion: 5, properties: { receiveMaximum: 4 } });
      const g = collect(s);
      await subscribe(s, '#', { qos: 1 });
      assertSequence(await g.next(want.length, 60_000), want, '# after restart');
      await sleep(100);
      assert.equal(g.messages.length, want.length, 'nothing more (the expired message is not delivered)');
      await end(s);
    } finally {
      if (b2 !== undefined) await b2.stop();
      else await b1.node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
