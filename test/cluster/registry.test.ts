/**
 * The cluster-wide client registry with in-process nodes on one nats-server: a client id is live once in
 * the cluster, a reconnect to another node takes the session over (QoS 1 messages in flight replayed with
 * DUP, queued messages kept) or discards it (clean start), and concurrent connects leave exactly one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KV } from '@nats-io/kv';
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { registryKey } from '../../src/cluster/registry-entry.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { clusterConfig, eventually, startClusterNodes } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

const v5 = (clientId: string, extra: mqtt.IClientOptions = {}): mqtt.IClientOptions => ({
  clientId,
  protocolVersion: 5,
  clean: false,
  properties: { sessionExpiryInterval: 300 },
  ...extra,
});

/** Resolves with the reason code of the DISCONNECT the broker sends this client. */
function disconnectCode(client: MqttClient): Promise<number | undefined> {
  return new Promise((resolve) => client.once('disconnect', (p) => resolve(p.reasonCode)));
}

/** Writes the registry entry and session record a node leaves behind for `clientid` (its will on `<id>/will`). */
async function leaveGhost(clients: KV, sessions: KV, clientid: string, willDelay: number): Promise<void> {
  const key = registryKey('mqtt', clientid);
  const client = {
    clientid,
    protocol: 'mqtt',
    mountpoint: '',
    listener: 'tcp:default',
    zone: 'default',
    peerhost: '127.0.0.1',
  };
  const now = Date.now();
  await sessions.put(
    key,
    JSON.stringify({
      clientid,
      namespace: 'mqtt',
      node: 'ghost@127.0.0.1',
      expiry_interval: 600,
      disconnected_at: 0,
      created_at: now,
      updated_at: now,
      receive_maximum: 10,
      client,
      subscriptions: [[`${clientid}/+`, { qos: 1, nl: 0, rap: 0, rh: 0 }]],
    }),
  );
  const payload = Buffer.from('ghost gone').toString('base64');
  await clients.put(
    key,
    JSON.stringify({
      clientid,
      namespace: 'mqtt',
      node: 'ghost@127.0.0.1',
      incarnation: 'x',
      state: 'connected',
      connected_at: now,
      claimed_at: now,
      expiry_interval: 600,
      will: {
        msg: {
          topic: `${clientid}/will`,
          payload,
          qos: 1,
          from: clientid,
          retain: false,
          timestamp: 0,
          expiresAt: 0,
        },
        delay: willDelay,
        expiry: 0,
      },
    }),
  );
}

describe('cluster client registry and takeover', () => {
  let nats: NatsServer;
  let nodes: TestBroker[] = [];
  const owner = (ns: string, id: string) => nodes[0]!.node.broker.cluster!.registry!.ownerOf(ns, id);
  const name = (i: number) => `hermod-${i + 1}@127.0.0.1`;

  before(async () => {
    nats = await startNats();
    nodes = await startClusterNodes(nats.url, 3);
    for (const n of nodes) await eventually('3 nodes', () => n.node.cluster?.membership.alive().length === 3);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await nats.stop();
  });

  it('a connect registers the client cluster-wide; a disconnect of a clean session removes it', async () => {
    const c = await connectClient(nodes[1]!.port, { clientId: 'reg-plain' });
    assert.equal(await owner('mqtt', 'reg-plain'), name(1));
    await end(c);
    await eventually('entry removed', async () => (await owner('mqtt', 'reg-plain')) === undefined);
  });

  it('takeover to another node: QoS 1 messages in flight come back with DUP, queued ones follow, routes move', async () => {
    const [a, b] = nodes;
    // A raw subscriber that never acknowledges: its QoS 1 deliveries stay in flight on node 1.
    const { client: first } = await RawClient.connect(
      a!.port,
      { clientId: 'reg-take', clean: false, properties: { sessionExpiryInterval: 300 } },
      5,
    );
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'take/#', qos: 1 }] });
    await first.next('suback');
    const pub = await connectClient(a!.port, { clientId: 'reg-take-pub' });
    for (let i = 0; i < 3; i++) await publish(pub, 'take/x', `inflight-${i}`, { qos: 1 });
    for (let i = 0; i < 3; i++) await first.next('publish');
    const session = a!.node.broker.registry.get('mqtt', 'reg-take')!.session;
    assert.equal(session.inflight.size, 3);
    const takenBefore = a!.node.metrics.c['session.takenover'];
    const resumedBefore = b!.node.metrics.c['session.resumed'];

    const second = await connectClient(b!.port, v5('reg-take'));
    const got2 = collect(second);
    const kicked = (await first.next('disconnect')) as { reasonCode?: number };
    assert.equal(kicked.reasonCode, 0x8e, 'the old connection gets DISCONNECT 0x8E (session taken over)');
    const replayed = await got2.next(3);
    assert.deepEqual(
      replayed.map((m) => m.payload.toString()),
      ['inflight-0', 'inflight-1', 'inflight-2'],
    );
    assert.ok(
      replayed.every((m) => m.packet.dup === true),
      'replayed with DUP',
    );
    assert.equal(await owner('mqtt', 'reg-take'), name(1));
    assert.equal(a!.node.broker.registry.get('mqtt', 'reg-take'), undefined, 'node 1 let go of the session');
    assert.equal(a!.node.metrics.c['session.takenover'], takenBefore + 1);
    assert.equal(b!.node.metrics.c['session.resumed'], resumedBefore + 1);

    // The subscription moved with the session: a publish on node 2 reaches it there.
    const pubB = await connectClient(b!.port, { clientId: 'reg-take-pub-b' });
    await publish(pubB, 'take/y', 'after', { qos: 1 });
    assert.equal((await got2.next(4))[3]!.payload.toString(), 'after');
    await end(second);
    first.destroy();
    await end(pub);
    await end(pubB);
  });

  it('messages queued for an offline session travel with it to the node the client reconnects to', async () => {
    const [a, , c] = nodes;
    const sub = await connectClient(a!.port, v5('reg-queue'));
    await subscribe(sub, 'queue/t', { qos: 1 });
    await end(sub);
    const pub = await connectClient(a!.port, { clientId: 'reg-queue-pub' });
    for (let i = 0; i < 4; i++) await publish(pub, 'queue/t', `q${i}`, { qos: 1 });
    const back = await connectClient(c!.port, v5('reg-queue'));
    const got = collect(back);
    assert.deepEqual(
      (await got.next(4)).map((m) => m.payload.toString()),
      ['q0', 'q1', 'q2', 'q3'],
    );
    assert.equal(await owner('mqtt', 'reg-queue'), name(2));
    await end(back);
    await end(pub);
  });

  it('clean start on another node discards the session there', async () => {
    const [a, b] = nodes;
    const first = await connectClient(a!.port, v5('reg-clean'));
    await subscribe(first, 'clean/t', { qos: 1 });
    const kicked = disconnectCode(first);
    const discardedBefore = a!.node.metrics.c['session.discarded'];
    const second = await connectClient(b!.port, v5('reg-clean', { clean: true }));
    assert.equal(await kicked, 0x8e);
    assert.equal(a!.node.broker.registry.get('mqtt', 'reg-clean'), undefined);
    assert.equal(a!.node.metrics.c['session.discarded'], discardedBefore + 1);
    const rec = b!.node.broker.registry.get('mqtt', 'reg-clean')!;
    assert.equal(rec.session.subscriptions.size, 0, 'a fresh session');
    await end(second);
  });

  it("a dead node's sessions left in the registry are adopted when a node starts, and its will published", async () => {
    // What a node that died with the rest of the cluster down leaves behind: its entries and records.
    const bus = nodes[0]!.node.cluster!.bus;
    await leaveGhost(await bus.kv('clients'), await bus.kv('sessions'), 'reg-ghost', 0);
    // This one's will waits 30 s for the client, which comes back before.
    await leaveGhost(await bus.kv('clients'), await bus.kv('sessions'), 'reg-ghost-late', 30);
    const fourth = await startBroker({ config: clusterConfig(nats.url, 'hermod-4@127.0.0.1') });
    nodes.push(fourth);
    // The starting node adopts it, unless a node that started just before took it first.
    let adopter: TestBroker | undefined;
    // The entry names the adopter a moment before its registry holds the session (read from the records
    // bucket after the claim): wait for both.
    await eventually('a live node adopts the session', async () => {
      const node = await owner('mqtt', 'reg-ghost');
      adopter = nodes.find((n) => n.node.name === node);
      return adopter?.node.broker.registry.get('mqtt', 'reg-ghost') !== undefined;
    });
    const adopted = adopter!.node.broker.registry.get('mqtt', 'reg-ghost')!;
    assert.deepEqual([...adopted.session.subscriptions.keys()], ['reg-ghost/+']);
    // The will went out on the adopter; the adopted session itself matches it, so it waits in its queue.
    await eventually('the will is queued', () => adopted.session.mqueue.length === 1);

    // The client comes back on node 1: the session is taken over from the adopter, will included.
    const back = mqtt.connect({
      host: '127.0.0.1',
      port: nodes[0]!.port,
      protocolVersion: 5,
      clientId: 'reg-ghost',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 0,
    });
    const got = collect(back);
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => back.once('connect', resolve));
    assert.equal(connack.sessionPresent, true);
    const [will] = await got.next(1);
    assert.equal(will!.topic, 'reg-ghost/will');
    assert.equal(will!.payload.toString(), 'ghost gone');
    await end(back);

    // The delayed will is pending on its adopter, and cancelled when the client resumes elsewhere.
    let lateAdopter: TestBroker | undefined;
    await eventually('the second session is adopted', async () => {
      const node = await owner('mqtt', 'reg-ghost-late');
      lateAdopter = nodes.find((n) => n.node.name === node);
      return lateAdopter?.node.broker.registry.get('mqtt', 'reg-ghost-late')?.pendingWill !== undefined;
    });
    const late = lateAdopter!.node.broker.registry.get('mqtt', 'reg-ghost-late')!;
    assert.equal(late.session.mqueue.length, 0, 'not published yet');
    const other = nodes.find((n) => n !== lateAdopter && n.node.cluster !== undefined)!;
    const lateBack = await connectClient(other.port, {
      clientId: 'reg-ghost-late',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    assert.equal(late.pendingWill, undefined, 'the will is cancelled: the client is back');
    assert.equal(lateAdopter!.node.broker.registry.get('mqtt', 'reg-ghost-late'), undefined);
    await end(lateBack);
  });

  it('many concurrent connects of one client id on three nodes leave exactly one connected', async () => {
    const id = 'reg-race';
    const clients: Array<{ client: MqttClient; node: number; outcome: string }> = [];
    const attempts = 9;
    await Promise.all(
      Array.from({ length: attempts }, (_, i) => {
        const node = i % 3;
        return new Promise<void>((resolve) => {
          const client = mqtt.connect({
            host: '127.0.0.1',
            port: nodes[node]!.port,
            protocolVersion: 5,
            clientId: id,
            clean: false,
            properties: { sessionExpiryInterval: 60 },
            reconnectPeriod: 0,
            connectTimeout: 15_000,
          });
          const entry = { client, node, outcome: 'pending' };
          clients.push(entry);
          client.on('connect', () => {
            entry.outcome = 'connected';
            resolve();
          });
          client.on('disconnect', (p) => {
            entry.outcome = `disconnect:0x${(p.reasonCode ?? 0).toString(16)}`;
          });
          client.on('error', (err) => {
            entry.outcome = `refused:${(err as { code?: number }).code ?? err.message}`;
            resolve();
          });
          client.on('close', () => {
            if (entry.outcome === 'pending') entry.outcome = 'closed';
            resolve();
          });
        });
      }),
    );
    await eventually('the race settles with one connection', () => {
      const live = clients.filter((c) => c.client.connected);
      return live.length === 1 && clients.every((c) => c.outcome !== 'pending');
    });
    // Give stray kicks time to land, then check again: still exactly one.
    await new Promise((r) => setTimeout(r, 500));
    const live = clients.filter((c) => c.client.connected);
    assert.equal(live.length, 1, clients.map((c) => c.outcome).join(' '));
    for (const c of clients) {
      if (c === live[0]) continue;
      assert.match(c.outcome, /^(disconnect:0x8e|refused:137)$/, `a loser is told why: ${c.outcome}`);
    }
    assert.equal(await owner('mqtt', id), name(live[0]!.node));
    let sessions = 0;
    for (const n of nodes) if (n.node.broker.registry.get('mqtt', id) !== undefined) sessions++;
    assert.equal(sessions, 1, 'one session in the cluster');
    for (const c of clients) c.client.end(true);
  });
});
