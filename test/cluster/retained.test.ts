import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { FROM_NODE_HEADER } from '../../src/broker/cluster-seam.js';
import { Message } from '../../src/broker/message.js';
import type { RetainedPart } from '../../src/cluster/retained.js';
import { decodeRetained, retainedKey } from '../../src/cluster/retained-codec.js';
import { merge, startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, run, subscribe } from '../helpers/clients.js';
import { clusterConfig, eventually, startClusterNodes } from '../helpers/cluster.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';
import { adminClient } from '../mgmt/http.js';

const extra = { retainer: { msg_clear_interval: '300ms' } };

function part(b: TestBroker): RetainedPart {
  return b.node.broker.cluster!.retained as RetainedPart;
}

/** Payload of a topic's retained message as a node sees it ('' when it has none). */
function seen(b: TestBroker, topic: string): string {
  return b.node.retainer.get(topic)?.payload.toString() ?? '';
}

/** The retained messages a new subscription to `filter` on `b` gets. */
async function retainedOn(b: TestBroker, filter: string, n: number, v5 = false) {
  const c = await connectClient(b.port, v5 ? { protocolVersion: 5 } : {});
  try {
    const got = collect(c);
    await subscribe(c, filter, { qos: 1 });
    return await got.next(n, 10_000);
  } finally {
    await end(c);
  }
}

describe('cluster retained messages (JetStream KV, every node)', () => {
  let nats: NatsServer;
  let nodes: TestBroker[] = [];
  let a: TestBroker;
  let b: TestBroker;
  let c: TestBroker;
  let pub: MqttClient;

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(nats.url, 3, extra, { api: true });
    [a, b, c] = nodes as [TestBroker, TestBroker, TestBroker];
    pub = await connectClient(a.port, { protocolVersion: 5 });
  });
  after(async () => {
    await end(pub, true);
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('a message retained on A reaches new subscribers on B and C, with its properties', async () => {
    await publish(pub, 'ret/one', 'hello', {
      qos: 1,
      retain: true,
      properties: { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 3600 },
    });
    for (const n of [b, c]) {
      await eventually(`${n.node.name} has ret/one`, () => seen(n, 'ret/one') === 'hello');
      const [m] = await retainedOn(n, 'ret/+', 1, true);
      assert.equal(m!.payload.toString(), 'hello');
      assert.equal(m!.packet.retain, true);
      assert.equal(m!.packet.qos, 1);
      assert.equal(m!.packet.properties?.contentType, 'text/plain');
      assert.deepEqual({ ...m!.packet.properties?.userProperties }, { k: 'v' });
      const left = m!.packet.properties?.messageExpiryInterval ?? 0;
      assert.ok(left > 3500 && left <= 3600, `expiry interval left: ${left}`);
    }
  });

  it('mosquitto: retained on B with mosquitto_pub -r, read on C with --retained-only, cleared on C with -r -n, gone on A', async () => {
    const args = (n: TestBroker) => ['-h', '127.0.0.1', '-p', String(n.port), '-V', 'mqttv311'];
    const p = await run('mosquitto_pub', [
      ...args(b),
      '-t',
      'ret/mosq',
      '-m',
      'from-mosquitto',
      '-r',
      '-q',
      '1',
    ]);
    assert.equal(p.code, 0, p.stderr);
    await eventually('C has ret/mosq', () => seen(c, 'ret/mosq') === 'from-mosquitto');
    const s = await run('mosquitto_sub', [
      ...args(c),
      '-t',
      'ret/mosq',
      '--retained-only',
      '-C',
      '1',
      '-v',
      '-W',
      '10',
    ]);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout.trim(), 'ret/mosq from-mosquitto');

    const del = await run('mosquitto_pub', [...args(c), '-t', 'ret/mosq', '-r', '-n', '-q', '1']);
    assert.equal(del.code, 0, del.stderr);
    for (const n of [a, b, c])
      await eventually(`${n.node.name} lost ret/mosq`, () => seen(n, 'ret/mosq') === '');
    // A new subscriber on A gets nothing retained for that topic (a sentinel retained later arrives alone).
    await publish(pub, 'ret/mosq2', 'sentinel', { qos: 1, retain: true });
    await eventually('A has the sentinel', () => seen(a, 'ret/mosq2') === 'sentinel');
    const got = await retainedOn(a, 'ret/+', 2);
    assert.deepEqual(got.map((m) => m.topic).sort(), ['ret/mosq2', 'ret/one']);
  });

  it('the retainer API lists, shows and deletes the whole cluster set from any node', async () => {
    await publish(pub, 'ret/api', 'via-a', { qos: 1, retain: true });
    await eventually('C has ret/api', () => seen(c, 'ret/api') === 'via-a');
    const apiC = await adminClient(c);
    const list = await apiC.get('/mqtt/retainer/messages?topic=ret/%23');
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((m: { topic: string }) => m.topic === 'ret/api'));
    const one = await apiC.get(`/mqtt/retainer/message/${encodeURIComponent('ret/api')}`);
    assert.equal(Buffer.from(one.body.payload, 'base64').toString(), 'via-a');

    const apiB = await adminClient(b);
    const del = await apiB.del(`/mqtt/retainer/message/${encodeURIComponent('ret/api')}`);
    assert.equal(del.status, 204);
    for (const n of [a, c]) await eventually(`${n.node.name} lost ret/api`, () => seen(n, 'ret/api') === '');
    const apiA = await adminClient(a);
    assert.equal((await apiA.get(`/mqtt/retainer/message/${encodeURIComponent('ret/api')}`)).status, 404);
  });

  it('nodes writing one topic at once end up agreeing with the bucket', async () => {
    const onB = await connectClient(b.port);
    const onC = await connectClient(c.port);
    try {
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < 150; i++)
        for (const [name, cl] of [
          ['a', pub],
          ['b', onB],
          ['c', onC],
        ] as const)
          sends.push(publish(cl, 'ret/race', `${name}${i}`, { qos: 1, retain: true }));
      await Promise.all(sends);
      const kv = await a.node.cluster!.bus.kv('retained');
      await eventually('every node holds the bucket value', async () => {
        const e = await kv.get(retainedKey('ret/race'));
        if (e === null || e.operation !== 'PUT') return false;
        const v = decodeRetained(e.value);
        if (v instanceof Error) return false;
        const want = v.payload.toString();
        return [a, b, c].every((n) => seen(n, 'ret/race') === want);
      });
      // And it stays so: no late echo moves any node back.
      await new Promise((r) => setTimeout(r, 300));
      const values = new Set([a, b, c].map((n) => seen(n, 'ret/race')));
      assert.equal(values.size, 1, [...values].join());
    } finally {
      await end(onB);
      await end(onC);
    }
  });

  it('expired retained messages are ignored by every node and removed once from the bucket', async () => {
    const kv = await a.node.cluster!.bus.kv('retained');
    await publish(pub, 'ret/short', 'brief', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await eventually('C has ret/short', () => c.node.retainer.match('ret/short').length === 1);
    await eventually(
      'ret/short gone from the bucket and every node',
      async () => {
        const e = await kv.get(retainedKey('ret/short'));
        return (e === null || e.operation !== 'PUT') && [a, b, c].every((n) => seen(n, 'ret/short') === '');
      },
      10_000,
    );
    assert.equal(part(a).housekeeper, true);
    assert.equal(part(b).housekeeper, false);
  });

  it('a bus copy of a retained message (from another node) is not stored again', () => {
    const copy = new Message('ret/copy', Buffer.from('x'), 0, 'other', true, undefined, {
      [FROM_NODE_HEADER]: 'hermod-9@127.0.0.1',
    });
    b.node.broker.publish(copy);
    assert.equal(seen(b, 'ret/copy'), '');
  });

  it('a watch that ends (consumer gone) is resumed after its last entry', async () => {
    // Ending the iterator stands in for the server dropping the watch's consumer.
    (part(c) as unknown as { watcher: { stop(): void } }).watcher.stop();
    await publish(pub, 'ret/resumed', 'yes', { qos: 1, retain: true });
    await eventually('C resumed its watch', () => seen(c, 'ret/resumed') === 'yes');
  });

  it('a node that joins has every retained message before its listeners open', async (t) => {
    const total = 10_000;
    const loader = await connectClient(b.port);
    try {
      for (let i = 0; i < total; i++)
        loader.publish(`bulk/${i % 100}/${i}`, `v${i}`, { qos: 0, retain: true });
      await publish(loader, 'bulk/done', 'x', { qos: 1, retain: true });
    } finally {
      await end(loader);
    }
    await eventually(
      'A has the bulk set',
      () => a.node.retainer.match('bulk/#').length === total + 1,
      60_000,
    );
    const before = a.node.retainer.count;
    const d = await startBroker({ config: merge(clusterConfig(nats.url, 'hermod-4@127.0.0.1'), extra) });
    nodes.push(d);
    // No waiting: startBroker resolved once the listeners were open.
    assert.equal(d.node.retainer.count, before);
    assert.equal(seen(d, 'bulk/7/1207'), 'v1207');
    t.diagnostic(`joining node loaded ${part(d).stats.loaded} entries in ${part(d).stats.loadMs} ms`);
    const got = await retainedOn(d, 'bulk/7/+', 100);
    assert.equal(got.length, 100);
  });

  it('NATS restart: a message retained while the bus is down is kept locally and written when it is back', async () => {
    await nats.kill();
    await publish(pub, 'ret/offline', 'while-down', { qos: 1, retain: true });
    assert.equal(seen(a, 'ret/offline'), 'while-down');
    const [m] = await retainedOn(a, 'ret/offline', 1);
    assert.equal(m!.payload.toString(), 'while-down');
    await eventually(
      'A counted the failed write',
      () => part(a).stats.unsent > 0 || part(a).stats.failedWrites > 0,
    );
    nats = (await nats.restart()) as NatsServer;
    for (const n of [b, c])
      await eventually(
        `${n.node.name} got ret/offline`,
        () => seen(n, 'ret/offline') === 'while-down',
        30_000,
      );
    // The watch carries on after the restart: a change on C reaches A.
    const onC = await connectClient(c.port);
    await publish(onC, 'ret/after', 'back', { qos: 1, retain: true });
    await end(onC);
    await eventually('A got ret/after', () => seen(a, 'ret/after') === 'back', 30_000);
  });
});

describe('cluster retained messages: max_retained_messages counts the whole cluster', () => {
  let nats: NatsServer;
  const nodes: TestBroker[] = [];

  before(async () => {
    nats = await startNats();
    const limit = { retainer: { backend: { max_retained_messages: 3 } } };
    for (const name of ['m-1@127.0.0.1', 'm-2@127.0.0.1'])
      nodes.push(await startBroker({ config: merge(clusterConfig(nats.url, name, 'limits'), limit) }));
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('messages retained on one node count against the limit on the other', async () => {
    const [x, y] = nodes as [TestBroker, TestBroker];
    const cx = await connectClient(x.port);
    for (const t of ['lim/1', 'lim/2', 'lim/3']) await publish(cx, t, t, { qos: 1, retain: true });
    await end(cx);
    await eventually('y sees 3', () => y.node.retainer.count === 3);
    const cy = await connectClient(y.port);
    await publish(cy, 'lim/4', 'over', { qos: 1, retain: true });
    // An existing topic may still be replaced.
    await publish(cy, 'lim/1', 'replaced', { qos: 1, retain: true });
    await end(cy);
    await eventually('x sees the replacement', () => seen(x, 'lim/1') === 'replaced');
    assert.equal(seen(x, 'lim/4'), '');
    assert.equal(seen(y, 'lim/4'), '');
    assert.equal(x.node.retainer.count, 3);
  });
});

describe('cluster retained messages: a single node becomes the first node of a new cluster', () => {
  let nats: NatsServer;
  let dir: string;
  const nodes: TestBroker[] = [];

  before(async () => {
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'hermod-retained-import-'));
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('its stored retained messages are copied into the cluster and seen by the next node', async () => {
    const single = await startBroker({ dataDir: dir });
    const cl = await connectClient(single.port);
    await publish(cl, 'old/kept', 'from-sqlite', { qos: 1, retain: true });
    await end(cl);
    await single.stop();

    nodes.push(
      await startBroker({ dataDir: dir, config: clusterConfig(nats.url, 'i-1@127.0.0.1', 'import') }),
    );
    nodes.push(await startBroker({ config: clusterConfig(nats.url, 'i-2@127.0.0.1', 'import') }));
    const [first, second] = nodes as [TestBroker, TestBroker];
    assert.equal(seen(first, 'old/kept'), 'from-sqlite');
    await eventually('the second node has it', () => seen(second, 'old/kept') === 'from-sqlite');
    const [m] = await retainedOn(second, 'old/#', 1);
    assert.equal(m!.payload.toString(), 'from-sqlite');
  });
});
