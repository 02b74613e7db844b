/**
 * Routes across nodes with in-process nodes on one nats-server: a publish on one node reaches matching
 * subscribers on the others, once per matching (filter, node), in the publisher's order, for every legal
 * topic; and each shared group's message reaches exactly one member cluster-wide, with each strategy.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, type Received, sleep, subscribe } from '../helpers/clients.js';
import { eventually, startClusterNodes } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

/** Topics a subject cannot hold as they are: every one must cross the bus unchanged. */
const AWKWARD_TOPICS = [
  'plain/topic',
  'with.dots/a.b',
  'star*/gt>/both*>',
  'has space/and\ttab',
  'a//b',
  '/leading',
  'trailing/',
  '~tilde/~',
  'unicode/温度/😀',
  'x'.repeat(5000),
  // 120 levels (under max_topic_levels 128), each named so that the subject passes the control-line cap.
  `${'level-with-a-long-name/'.repeat(119)}end`,
];

/** Publishes every payload in `payloads` on `topic` and waits for each PUBACK (QoS 1). */
async function publishAll(c: MqttClient, topic: string, payloads: string[], qos: 0 | 1): Promise<void> {
  for (const p of payloads) await publish(c, topic, p, { qos });
}

describe('cluster routes', () => {
  let nats: NatsServer;
  let nodes: TestBroker[] = [];
  const clients: MqttClient[] = [];
  const client = async (node: number, opts: Parameters<typeof connectClient>[1] = {}) => {
    const c = await connectClient(nodes[node]!.port, opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(nats.url, 3);
    for (const n of nodes) await eventually('3 nodes', () => n.node.cluster?.membership.alive().length === 3);
  });
  after(async () => {
    for (const c of clients) await end(c, true);
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('a QoS 0 and a QoS 1 publish on node 1 reach a subscriber on node 2 as soon as SUBACK came', async () => {
    const sub = await client(1);
    const got = collect(sub);
    await subscribe(sub, 'r/basic/#', { qos: 1 });
    const pub = await client(0);
    await publish(pub, 'r/basic/a', 'zero', { qos: 0 });
    await publish(pub, 'r/basic/b', 'one', { qos: 1 });
    const m = await got.next(2);
    assert.deepEqual(
      m.map((x) => [x.topic, x.payload.toString(), x.packet.qos]),
      [
        ['r/basic/a', 'zero', 0],
        ['r/basic/b', 'one', 1],
      ],
    );
    assert.ok(nodes[0]!.node.metrics.c['messages.forward'] >= 2, 'counted as forwarded on node 1');
  });

  it('every legal topic crosses the bus unchanged, to exact and wildcard filters', async () => {
    const exact = await client(1);
    const wild = await client(2);
    const gotExact = collect(exact);
    const gotWild = collect(wild);
    for (const t of AWKWARD_TOPICS) await subscribe(exact, t, { qos: 1 });
    await subscribe(wild, '#', { qos: 1 });
    const pub = await client(0);
    await publishAll(pub, '$SYS/not-for-hash', ['x'], 1);
    for (const t of AWKWARD_TOPICS) await publish(pub, t, `p:${t.length}`, { qos: 1 });
    const e = await gotExact.next(AWKWARD_TOPICS.length);
    assert.deepEqual(
      e.map((x) => x.topic),
      AWKWARD_TOPICS,
    );
    const w = await gotWild.next(AWKWARD_TOPICS.length);
    // `#` never matches a `$` topic [MQTT-4.7.2-1], across nodes too.
    assert.deepEqual(
      w.map((x) => x.topic).filter((t) => AWKWARD_TOPICS.includes(t)),
      AWKWARD_TOPICS,
    );
    assert.ok(!w.some((x) => x.topic.startsWith('$SYS/not-for-hash')));
    await end(wild, true);
  });

  it('a `$` topic reaches a filter that names its first level', async () => {
    const sub = await client(1);
    const got = collect(sub);
    await subscribe(sub, '$app/+/state', { qos: 1 });
    const pub = await client(2);
    await publish(pub, '$app/dev1/state', 'on', { qos: 1 });
    assert.equal((await got.next(1))[0]!.topic, '$app/dev1/state');
  });

  it('one copy per matching filter on a node, as on a single node; none back to the publisher node', async () => {
    const a = await client(1);
    const b = await client(1);
    const local = await client(0);
    const gotA = collect(a);
    const gotB = collect(b);
    const gotLocal = collect(local);
    await subscribe(a, 'r/copies/+', { qos: 1 });
    await subscribe(b, 'r/copies/x', { qos: 1 });
    await subscribe(local, 'r/copies/#', { qos: 1 });
    const pub = await client(0);
    await publish(pub, 'r/copies/x', 'once', { qos: 1 });
    await gotA.next(1);
    await gotB.next(1);
    await gotLocal.next(1);
    await sleep(200);
    assert.equal(gotA.messages.length, 1);
    assert.equal(gotB.messages.length, 1);
    assert.equal(gotLocal.messages.length, 1, 'the publisher node delivers locally once, no bus echo');
  });

  it('keeps each publisher order: 900 QoS 1 messages from node 1 arrive in order on node 3', async () => {
    const sub = await client(2, { clientId: 'order-sub' });
    const got = collect(sub);
    await subscribe(sub, 'r/order', { qos: 1 });
    const pub = await client(0);
    // Pipelined, not one at a time: order must hold with many messages in flight on the bus. Fewer than
    // max_mqueue_len (1000), so a subscriber slower than the publisher loses none on any broker.
    const n = 900;
    await Promise.all(Array.from({ length: n }, (_, i) => publish(pub, 'r/order', String(i), { qos: 1 })));
    const m = await got.next(n, 20_000);
    assert.deepEqual(
      m.map((x) => Number(x.payload.toString())),
      Array.from({ length: n }, (_, i) => i),
    );
  });

  it('the last unsubscribe on a node removes its route: nothing is sent there any more', async () => {
    const sub = await client(1);
    await subscribe(sub, 'r/gone/+', { qos: 0 });
    await new Promise<void>((resolve, reject) =>
      sub.unsubscribe('r/gone/+', (err) => (err ? reject(err) : resolve())),
    );
    // Wait until the server processed the UNSUB before counting (the node flushes in the background).
    await sleep(200);
    const dropped = nodes[1]!.node.metrics.c['messages.dropped'];
    const pub = await client(0);
    for (let i = 0; i < 20; i++) await publish(pub, 'r/gone/x', 'late', { qos: 1 });
    await sleep(200);
    assert.equal(
      nodes[1]!.node.metrics.c['messages.dropped'],
      dropped,
      'node 2 got no copy to drop: its route left the bus',
    );
  });

  it('mosquitto_pub on one node and mosquitto_sub on another', async () => {
    const sub = spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(nodes[2]!.port),
      '-t',
      'r/mosq/#',
      '-q',
      '1',
      '-C',
      '3',
      '-v',
    ]);
    let out = '';
    sub.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // 'close', not 'exit': stdout may still hold the last line when the process exits.
    const exited = new Promise<number | null>((r) => sub.on('close', r));
    // mosquitto_sub has no "subscribed" signal: wait for its route to show on node 3.
    await eventually(
      'mosquitto_sub subscribed',
      () => nodes[2]!.node.broker.router.lookup('r/mosq/#') !== undefined,
    );
    for (let i = 0; i < 3; i++) {
      const pub = spawn('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(nodes[0]!.port),
        '-t',
        `r/mosq/${i}`,
        '-m',
        `m${i}`,
        '-q',
        '1',
      ]);
      assert.equal(await new Promise((r) => pub.on('exit', r)), 0);
    }
    assert.equal(await exited, 0);
    assert.equal(out.trim(), 'r/mosq/0 m0\nr/mosq/1 m1\nr/mosq/2 m2');
  });

  it('a shared group spread over three nodes: each message reaches exactly one member, every member gets some', async () => {
    const members = await Promise.all([0, 1, 2].map((i) => client(i)));
    const got = members.map((m) => collect(m));
    for (const m of members) await subscribe(m, '$share/g1/r/shared/+', { qos: 1 });
    // Other nodes learn a member from the directory watch, just after its SUBACK.
    await sleep(300);
    const pub = await client(0);
    const n = 300;
    for (let i = 0; i < n; i++) await publish(pub, `r/shared/${i % 7}`, String(i), { qos: 1 });
    await eventually('all delivered', () => got.reduce((s, g) => s + g.messages.length, 0) >= n);
    await sleep(200);
    const all = got.flatMap((g) => g.messages.map((m: Received) => Number(m.payload.toString())));
    assert.equal(all.length, n, 'no duplicates');
    assert.deepEqual(
      [...new Set(all)].sort((x, y) => x - y),
      Array.from({ length: n }, (_, i) => i),
    );
    for (const g of got) assert.ok(g.messages.length > n / 10, `a member got ${g.messages.length} of ${n}`);
  });

  it('a leaving member hands its unacknowledged QoS 1 messages to a member on another node', async () => {
    const other = await client(2);
    const gotOther = collect(other);
    await subscribe(other, '$share/g2/r/hand', { qos: 1 });
    await sleep(300);
    // The only member on node 2 never acknowledges (manual acks withheld), then leaves.
    const { client: raw } = await RawClient.connect(
      nodes[1]!.port,
      { clientId: 'r-hand-raw', clean: true },
      5,
    );
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g2/r/hand', qos: 1 }] });
    await raw.next('suback');
    // Publish from node 2 with the local strategy off: round_robin spreads them over both members.
    const pub = await client(1);
    for (let i = 0; i < 10; i++) await publish(pub, 'r/hand', String(i), { qos: 1 });
    await sleep(300);
    raw.destroy();
    await eventually('every message at the member on node 3', () => gotOther.messages.length >= 10);
    assert.deepEqual(
      gotOther.messages.map((m) => Number(m.payload.toString())).sort((x, y) => x - y),
      Array.from({ length: 10 }, (_, i) => i),
    );
  });
});

describe('cluster shared subscriptions: deterministic strategies', () => {
  let nats: NatsServer;
  const clients: MqttClient[] = [];
  after(async () => {
    for (const c of clients) await end(c, true);
    await nats?.stop();
  });
  before(async () => {
    nats = await startNats();
  });

  for (const strategy of ['hash_topic', 'hash_clientid', 'sticky', 'local'] as const) {
    it(`${strategy}: one member per message, picked as the strategy says`, async () => {
      const nodes = await startClusterNodes(nats.url, 2, {
        cluster: { name: `s-${strategy.replace('_', '-')}` },
        mqtt: { shared_subscription_strategy: strategy },
      });
      try {
        for (const n of nodes)
          await eventually('2 nodes', () => n.node.cluster?.membership.alive().length === 2);
        const members: MqttClient[] = [];
        for (const i of [0, 0, 1, 1]) {
          const c = await connectClient(nodes[i]!.port);
          clients.push(c);
          members.push(c);
          await subscribe(c, '$share/g/d/+', { qos: 1 });
        }
        const got = members.map((m) => collect(m));
        await sleep(300);
        const pubs = await Promise.all([0, 1].map((i) => connectClient(nodes[i]!.port)));
        clients.push(...pubs);
        const sent: Array<{ topic: string; from: number }> = [];
        for (let i = 0; i < 40; i++) {
          const from = i % 2;
          const topic = `d/${i % 4}`;
          sent.push({ topic, from });
          await publish(pubs[from]!, topic, `${from}:${i}`, { qos: 1 });
        }
        await eventually(
          'all delivered',
          () => got.reduce((s, g) => s + g.messages.length, 0) >= sent.length,
        );
        await sleep(200);
        assert.equal(
          got.reduce((s, g) => s + g.messages.length, 0),
          sent.length,
          'exactly one member per message',
        );
        const memberOf = (pred: (m: Received) => boolean) =>
          new Set(got.flatMap((g, k) => (g.messages.some(pred) ? [k] : [])));
        if (strategy === 'hash_topic')
          for (let t = 0; t < 4; t++)
            assert.equal(memberOf((m) => m.topic === `d/${t}`).size, 1, `topic d/${t} always to one member`);
        if (strategy === 'hash_clientid' || strategy === 'sticky')
          for (const from of [0, 1])
            assert.equal(
              memberOf((m) => m.payload.toString().startsWith(`${from}:`)).size,
              1,
              `publisher ${from} always to one member`,
            );
        if (strategy === 'local')
          for (const from of [0, 1]) {
            const picked = memberOf((m) => m.payload.toString().startsWith(`${from}:`));
            const onNode = from === 0 ? [0, 1] : [2, 3];
            assert.ok(
              [...picked].every((k) => onNode.includes(k)),
              `publisher on node ${from + 1} stays local`,
            );
          }
      } finally {
        for (const n of nodes) await n.stop();
      }
    });
  }
});
