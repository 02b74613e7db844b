/**
 * Faults under the cluster routes (issue 20): a node killed while messages cross between two others, the
 * NATS server restarting, and a node stalling until NATS cuts it off as a slow consumer. Each test says
 * what the cluster keeps and what it loses, and checks both as clients see them. The rules themselves are
 * in docs/cluster.md ("What is kept and what is lost on failures", "Routes").
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { merge, startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, type Received, subscribe } from '../helpers/clients.js';
import { clusterConfig, eventually, startClusterNodes } from '../helpers/cluster.js';
import { type ChildNode, kill9, startChildNode } from '../helpers/cluster-process.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

type Collector = ReturnType<typeof collect>;

/** Payloads received on `topic`, in arrival order. */
function payloadsOn(got: Collector, topic: string): string[] {
  return got.messages.filter((m: Received) => m.topic === topic).map((m) => m.payload.toString());
}

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from }, (_, i) => String(from + i));
}

/**
 * Waits until a route works again: publishes a probe on `topic` each round until `got` has one. Probes are
 * needed because a route comes back when both the publisher's and the subscriber's nodes are on the bus
 * again, which no client can see; a probe published too early is lost (or arrives late, still in order).
 */
async function routeWorks(what: string, pub: MqttClient, topic: string, got: Collector): Promise<void> {
  let n = 0;
  await eventually(
    what,
    async () => {
      await publish(pub, topic, `probe-${n++}`, { qos: 1 });
      return got.messages.some((m) => m.topic === topic);
    },
    30_000,
  );
}

/**
 * Publishes 0..n-1 on `topic`, then `end` on `endTopic`, QoS 1, and resolves with what `got` received on
 * `topic` once `end` arrived. The publisher's order holds across the bus, so when `end` is there every
 * earlier message (and any duplicate of one) is there too: exactly-once is checked without waiting a while.
 */
async function streamThrough(
  pub: MqttClient,
  got: Collector,
  topic: string,
  endTopic: string,
  n: number,
): Promise<string[]> {
  for (let i = 0; i < n; i++) await publish(pub, topic, String(i), { qos: 1 });
  await publish(pub, endTopic, 'end', { qos: 1 });
  await eventually(`${endTopic} arrives`, () => got.messages.some((m) => m.topic === endTopic));
  return payloadsOn(got, topic);
}

/**
 * Rounds of messages to shared group g, whose members (one collector each) subscribe to
 * `$share/g/<prefix>/shared/+` and, plainly, to `<prefix>/flush/+`. A round publishes `n` messages to the
 * group, then one on `<prefix>/flush/<round>` that every member gets over the same path as its group
 * messages (the publisher's node, its one bus connection, the member's node, the member's session), so once
 * every member has it, every group message of the round has arrived: no waiting a while to see that none
 * comes twice. Resolves with the payloads each member got in the round.
 */
function sharedRounds(prefix: string, members: Collector[]) {
  let round = 0;
  return async (pub: MqttClient, n: number): Promise<string[][]> => {
    const r = round++;
    const before = members.map((g) => g.messages.length);
    for (let i = 0; i < n; i++) await publish(pub, `${prefix}/shared/${i % 4}`, `${r}:${i}`, { qos: 1 });
    await publish(pub, `${prefix}/flush/${r}`, 'flush', { qos: 1 });
    await eventually(`every member has ${prefix}/flush/${r}`, () =>
      members.every((g) => g.messages.some((m) => m.topic === `${prefix}/flush/${r}`)),
    );
    return members.map((g, k) =>
      g.messages
        .slice(before[k])
        .filter((m) => m.topic.startsWith(`${prefix}/shared/`))
        .map((m) => m.payload.toString()),
    );
  };
}

/** Every member got some of a round (the publisher's node picks members on every node). */
function everyMemberGot(round: string[][]): boolean {
  return round.every((p) => p.length > 0);
}

describe('kill -9 of a node while QoS 1 messages cross between two other nodes', () => {
  // Kept: every message published on A for a subscriber on B arrives, once and in order, before, during
  // and after C dies and is found down (nats-server drops C's interest; A and B never wait for C).
  // Lost: what C's own subscriber had not received yet; its clean session lived only in C.
  const NAMES = ['hermod-a@127.0.0.1', 'hermod-b@127.0.0.1', 'hermod-c@127.0.0.1'];
  let nats: NatsServer;
  let dir: string;
  const nodes: ChildNode[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'hermod-route-kill-'));
    for (const name of NAMES) nodes.push(await startChildNode(dir, name, nats.url, { cluster: 'rf-kill' }));
  });
  after(async () => {
    for (const c of clients) await end(c, true);
    for (const n of nodes) await kill9(n.child);
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('every message from A reaches B once and in order; C’s subscriber loses the rest', {
    timeout: 60_000,
  }, async () => {
    const [A, B, C] = nodes as [ChildNode, ChildNode, ChildNode];
    const client = async (node: ChildNode, opts: Parameters<typeof connectClient>[1] = {}) => {
      const c = await connectClient(node.port, opts);
      clients.push(c);
      return c;
    };
    const subB = await client(B, { clientId: 'rf-sub-b' });
    const gotB = collect(subB);
    await subscribe(subB, 'rf/stream/#', { qos: 1 });
    // C subscribes to the same topics, so the stream also flows to C when it dies.
    const subC = await client(C, { clientId: 'rf-sub-c' });
    const gotC = collect(subC);
    const subCClosed = new Promise<void>((resolve) => subC.once('close', () => resolve()));
    await subscribe(subC, 'rf/stream/#', { qos: 1 });
    // C's death becomes visible to clients through this will, published by the survivor that adopts it.
    const watcher = await client(A, { clientId: 'rf-watch' });
    const gotWill = collect(watcher);
    await subscribe(watcher, 'rf/c-gone', { qos: 1 });
    await client(C, {
      clientId: 'rf-will-c',
      will: { topic: 'rf/c-gone', payload: Buffer.from('C is gone'), qos: 1, retain: false },
    });

    const pub = await client(A, { clientId: 'rf-pub-a' });
    let sent = 0;
    let stop = false;
    // A stream of QoS 1 publishes, 20 in flight at a time so that messages are on the bus when C dies. The
    // publisher stays at most 200 messages ahead of B's subscriber, well under B's queue for it
    // (max_mqueue_len 1000): a subscriber that falls further behind loses messages at its own node, which
    // is not what this test is about.
    const streaming = (async () => {
      while (!stop) {
        await eventually('B keeps up', () => payloadsOn(gotB, 'rf/stream/n').length >= sent - 200, 30_000);
        const batch: Promise<unknown>[] = [];
        for (let k = 0; k < 20; k++) batch.push(publish(pub, 'rf/stream/n', String(sent++), { qos: 1 }));
        await Promise.all(batch);
      }
    })();
    await eventually('B receives the stream', () => gotB.messages.length >= 200);
    await kill9(C.child);
    await gotWill.next(1, 20_000);
    // Keep streaming after C was found down (adoption of its clients runs now) before ending the stream.
    const atWill = sent;
    await eventually('more messages after C was found down', () => sent >= atWill + 300);
    stop = true;
    await streaming;
    await publish(pub, 'rf/stream/end', 'end', { qos: 1 });
    await eventually(
      'the end of the stream reaches B',
      () => payloadsOn(gotB, 'rf/stream/end').length > 0,
      30_000,
    );

    assert.deepEqual(payloadsOn(gotB, 'rf/stream/n'), range(0, sent), 'B got every message once, in order');
    await subCClosed;
    const onC = payloadsOn(gotC, 'rf/stream/n');
    assert.deepEqual(onC, range(0, onC.length), 'C’s subscriber got an in-order prefix of the stream');
    assert.ok(onC.length < sent, `C’s subscriber lost the rest (${onC.length} of ${sent})`);
  });
});

describe('nats-server restart', () => {
  // Kept: each node serves its own clients while the bus is away (local publish → local subscriber, QoS 1
  // acknowledged); a SUBSCRIBE made meanwhile is answered; when the server is back, routes across nodes
  // work again without any client re-subscribing, including the one made while away, and a shared group
  // with members on both nodes again gives each message to exactly one member, on either node.
  // Lost: cross-node messages published while the bus is away (the bus is at most once between nodes).
  let nats: NatsServer;
  let nodes: TestBroker[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(nats.url, 2, { cluster: { name: 'rf-restart' } });
    for (const n of nodes) await eventually('2 nodes', () => n.node.cluster?.membership.alive().length === 2);
  });
  after(async () => {
    for (const c of clients) await end(c, true);
    for (const n of nodes) await n.stop();
    await nats?.stop();
  });

  it('local traffic goes on while the bus is away; routes and shared groups come back by themselves', {
    timeout: 60_000,
  }, async () => {
    const [A, B] = nodes as [TestBroker, TestBroker];
    const client = async (node: TestBroker, clientId: string) => {
      const c = await connectClient(node.port, { clientId });
      clients.push(c);
      return c;
    };
    const pubA = await client(A, 'rn-pub-a');
    const pubB = await client(B, 'rn-pub-b');
    const subA = await client(A, 'rn-sub-a');
    const gotA = collect(subA);
    await subscribe(subA, 'rn/a/#', { qos: 1 });
    const subB = await client(B, 'rn-sub-b');
    const gotB = collect(subB);
    await subscribe(subB, ['rn/b/#', 'rn/cross/#'], { qos: 1 });
    // Connected now (a new connection needs the cluster registry), subscribes while the bus is away.
    const late = await client(B, 'rn-late');
    const gotLate = collect(late);
    // One member of group g on each node; both also hold a plain subscription to rn/flush (see below).
    const members = [await client(A, 'rn-member-a'), await client(B, 'rn-member-b')];
    const gotMembers = members.map((m) => collect(m));
    for (const m of members) await subscribe(m, ['$share/g/rn/shared/+', 'rn/flush/+'], { qos: 1 });
    const closed: string[] = [];
    for (const c of clients) c.on('close', () => closed.push(c.options.clientId ?? '?'));

    const sharedRound = sharedRounds('rn', gotMembers);

    // Before the fault: the route A → B and the group work (B's member is known on A once its directory
    // entry arrived, a moment after its SUBACK).
    await routeWorks('route A → B', pubA, 'rn/cross/probe-before', gotB);
    await eventually('the group spans both nodes', async () => everyMemberGot(await sharedRound(pubA, 4)));

    await nats.kill();
    // A long outage: each node counts the other down (longer than node_down_after), so each forgets the
    // other's group members and must learn them again from the directory once the bus is back.
    await eventually('each node sees the other down', () =>
      nodes.every((n) => n.node.cluster?.membership.alive().length === 1),
    );
    await publish(pubA, 'rn/a/away', 'local-a', { qos: 1 });
    await publish(pubB, 'rn/b/away', 'local-b', { qos: 1 });
    assert.deepEqual(
      (await gotA.next(1)).map((m) => m.payload.toString()),
      ['local-a'],
      'A serves its own subscriber',
    );
    await eventually('B serves its own subscriber', () => payloadsOn(gotB, 'rn/b/away').length === 1);
    // Acknowledged by A (QoS 1 is between the client and its node), but nothing carries it to B.
    await publish(pubA, 'rn/cross/away', 'lost', { qos: 1 });
    // SUBACK comes though the bus is away (after at most 2 s); nats.js sends the route when it is back.
    const granted = await subscribe(late, 'rn/late/#', { qos: 1 });
    assert.equal(granted[0]?.qos, 1);

    nats = (await nats.restart()) as NatsServer;

    // Routes come back by themselves: the clients did not re-subscribe (nor reconnect).
    await routeWorks('route A → B is back', pubA, 'rn/cross/probe-after', gotB);
    assert.deepEqual(
      await streamThrough(pubA, gotB, 'rn/cross/after', 'rn/cross/end', 50),
      range(0, 50),
      'after the restart, A → B delivers every message once, in order',
    );
    await publish(pubA, 'rn/late/x', 'late', { qos: 1 });
    assert.equal((await gotLate.next(1, 10_000))[0]!.payload.toString(), 'late', 'the route made while away');
    await publish(pubB, 'rn/a/from-b', 'b-to-a', { qos: 1 });
    await eventually('route B → A is back', () => payloadsOn(gotA, 'rn/a/from-b').length === 1);
    assert.deepEqual(closed, [], 'no client was disconnected');
    assert.deepEqual(payloadsOn(gotB, 'rn/cross/away'), [], 'the cross-node message sent while away is lost');

    // The group: each message to exactly one member, and both nodes' members picked again.
    await eventually('the group spans both nodes again', async () =>
      everyMemberGot(await sharedRound(pubA, 4)),
    );
    const got = await sharedRound(pubA, 40);
    assert.deepEqual(
      got
        .flat()
        .map((p) => Number(p.split(':')[1]))
        .sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i),
      'each group message reached exactly one member',
    );
    assert.ok(
      got.every((p) => p.length > 0),
      `both members got some: ${got.map((p) => p.length)}`,
    );
  });
});

describe('a stalled node is cut off as a slow consumer and comes back', () => {
  // Node B (its own process) is frozen with SIGSTOP while A floods a topic B subscribes to; nats-server,
  // with a write deadline of 1s, cuts B's bus connection off once its socket stays full that long.
  // node_down_after is long, so this stall (a GC pause, a busy loop) is not a node death: nobody counts B
  // down or adopts its clients.
  // Kept: B's clients stay connected; once B runs again its bus connection comes back by itself, with its
  // routes, and A → B delivers every later message once, in order.
  // Lost: what was pending for B on the bus when it was cut off and what was published until it was back:
  // the flood arrives in order and at most once, with part of it missing.
  let nats: NatsServer;
  let dir: string;
  let A: TestBroker;
  let B: ChildNode;
  const clients: MqttClient[] = [];

  before(async () => {
    nats = await startNats({ writeDeadline: '1s' });
    dir = mkdtempSync(join(tmpdir(), 'hermod-route-slow-'));
    A = await startBroker({
      config: merge(clusterConfig(nats.url, 'hermod-a@127.0.0.1', 'rf-slow'), {
        cluster: { node_down_after: '60s' },
      }),
    });
    B = await startChildNode(dir, 'hermod-b@127.0.0.1', nats.url, {
      cluster: 'rf-slow',
      nodeDownAfter: '60s',
    });
    await eventually('2 nodes', () => A.node.cluster?.membership.alive().length === 2);
  });
  after(async () => {
    for (const c of clients) await end(c, true);
    if (B !== undefined) await kill9(B.child);
    await A?.stop();
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('B is cut off while frozen, reconnects by itself, and routes to B work again', {
    timeout: 60_000,
  }, async () => {
    const sub = await connectClient(B.port, { clientId: 'rs-sub-b' });
    clients.push(sub);
    const got = collect(sub);
    let subClosed = false;
    sub.on('close', () => (subClosed = true));
    // At most a few hundred flood messages reach B (what the sockets held when it was cut off), fewer than
    // B queues for a slow subscriber (max_mqueue_len 1000): what is missing was lost on the bus.
    await subscribe(sub, 'slow/flood', { qos: 0 });
    await subscribe(sub, 'slow/after/#', { qos: 1 });
    const pub = await connectClient(A.port, { clientId: 'rs-pub-a' });
    clients.push(pub);
    await routeWorks('route A → B', pub, 'slow/after/probe-before', got);

    B.child.kill('SIGSTOP');
    // 64 KB messages until nats-server reports B's data connection as a slow consumer (in its log).
    const filler = Buffer.alloc(64 * 1024, 'x');
    let flooded = 0;
    const cutOff = /hermod-b@127\.0\.0\.1\/data" - Slow Consumer Detected/;
    await eventually(
      'nats-server cuts B off',
      async () => {
        for (let k = 0; k < 16; k++)
          await publish(pub, 'slow/flood', Buffer.concat([Buffer.from(`${flooded++}:`), filler]), { qos: 0 });
        return cutOff.test(nats.output());
      },
      30_000,
    );
    B.child.kill('SIGCONT');

    await routeWorks('route A → B is back', pub, 'slow/after/probe-after', got);
    assert.deepEqual(
      await streamThrough(pub, got, 'slow/after/n', 'slow/after/end', 50),
      range(0, 50),
      'after B came back, A → B delivers every message once, in order',
    );
    assert.equal(subClosed, false, 'B’s subscriber stayed connected');
    const flood = got.messages
      .filter((m) => m.topic === 'slow/flood')
      .map((m) => Number(m.payload.subarray(0, m.payload.indexOf(':')).toString()));
    assert.ok(
      flood.every((n, i) => i === 0 || n > flood[i - 1]!),
      'the flood arrives in order, at most once',
    );
    assert.ok(flood.length < flooded, `part of the flood is lost (${flood.length} of ${flooded} arrived)`);
  });
});

describe('a node stalled for longer than node_down_after', () => {
  // Node B (its own process) is frozen with SIGSTOP until A counts it down, then runs again; little traffic
  // meanwhile, so nats-server holds B's messages in its socket and never cuts it off.
  // Kept: B's clients stay connected; what A published for B during the stall arrives when B runs again
  // (nats-server held it); routes both ways carry on; once both count each other up again, the shared
  // group with a member on each node gives each message to exactly one member, on either node.
  // Lost: nothing on the routes. Shared-group messages published while A counted B down go to A's member
  // only (a down node is never picked), so none of them is lost either.
  // A node counted down keeps its directory entries (it is only skipped while down), so the group spans
  // both nodes again as soon as they count each other up.
  let nats: NatsServer;
  let dir: string;
  let A: TestBroker;
  let B: ChildNode;
  const clients: MqttClient[] = [];
  const client = async (port: number, clientId: string) => {
    const c = await connectClient(port, { clientId });
    clients.push(c);
    return c;
  };
  let pubA: MqttClient;
  let pubB: MqttClient;
  let gotMembers: Collector[];
  let sharedRound: ReturnType<typeof sharedRounds>;

  before(async () => {
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'hermod-route-stall-'));
    A = await startBroker({ config: clusterConfig(nats.url, 'hermod-a@127.0.0.1', 'rf-stall') });
    B = await startChildNode(dir, 'hermod-b@127.0.0.1', nats.url, { cluster: 'rf-stall' });
    await eventually('2 nodes', () => A.node.cluster?.membership.alive().length === 2);
  });
  after(async () => {
    for (const c of clients) await end(c, true);
    if (B !== undefined) await kill9(B.child);
    await A?.stop();
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('B is counted down and up again; its clients and routes carry on', { timeout: 60_000 }, async () => {
    pubA = await client(A.port, 'st-pub-a');
    pubB = await client(B.port, 'st-pub-b');
    const subA = await client(A.port, 'st-sub-a');
    const gotA = collect(subA);
    await subscribe(subA, 'st/to-a/#', { qos: 1 });
    const subB = await client(B.port, 'st-sub-b');
    const gotB = collect(subB);
    await subscribe(subB, 'st/to-b/#', { qos: 1 });
    const members = [await client(A.port, 'st-member-a'), await client(B.port, 'st-member-b')];
    gotMembers = members.map((m) => collect(m));
    for (const m of members) await subscribe(m, ['$share/g/st/shared/+', 'st/flush/+'], { qos: 1 });
    const closed: string[] = [];
    for (const c of clients) c.on('close', () => closed.push(c.options.clientId ?? '?'));
    sharedRound = sharedRounds('st', gotMembers);
    await routeWorks('route A → B', pubA, 'st/to-b/probe', gotB);
    await routeWorks('route B → A', pubB, 'st/to-a/probe', gotA);
    for (const pub of [pubA, pubB])
      await eventually('the group spans both nodes', async () => everyMemberGot(await sharedRound(pub, 4)));

    B.child.kill('SIGSTOP');
    await eventually('A counts B down', () => A.node.cluster?.membership.alive().length === 1);
    // For B's subscriber, while B is frozen: nats-server holds it in B's socket.
    await publish(pubA, 'st/to-b/during', 'held', { qos: 1 });
    // For the group: B is down for A, so A's own member gets all of these.
    const memberA = gotMembers[0]!;
    const atA = memberA.messages.length;
    for (let i = 0; i < 8; i++) await publish(pubA, `st/shared/${i % 4}`, `during:${i}`, { qos: 1 });
    await eventually(
      'the member on A gets every group message of the stall',
      () => memberA.messages.slice(atA).filter((m) => m.topic.startsWith('st/shared/')).length === 8,
    );
    B.child.kill('SIGCONT');
    await eventually('A counts B up again', () => A.node.cluster?.membership.alive().length === 2);

    assert.deepEqual(
      await streamThrough(pubA, gotB, 'st/to-b/n', 'st/to-b/end', 50),
      range(0, 50),
      'A → B delivers every message once, in order',
    );
    assert.deepEqual(payloadsOn(gotB, 'st/to-b/during'), ['held'], 'what A sent during the stall arrived');
    assert.deepEqual(
      await streamThrough(pubB, gotA, 'st/to-a/n', 'st/to-a/end', 50),
      range(0, 50),
      'B → A delivers every message once, in order',
    );
    assert.deepEqual(closed, [], 'no client was disconnected');
  });

  it('the shared group spans both nodes again', { timeout: 30_000 }, async () => {
    for (const pub of [pubA, pubB])
      await eventually(
        'the group spans both nodes again',
        async () => everyMemberGot(await sharedRound(pub, 4)),
        10_000,
      );
  });
});
