/**
 * A node crash in a three-node cluster: every node is its own `hermod start` process on one nats-server,
 * and node B is killed with SIGKILL while a persistent subscriber's session lives there.
 *
 * Kept: the subscriber's session (subscriptions with their options, expiry) through its persisted record;
 * the survivor picked by the rendezvous hash adopts it, so messages published after the adoption queue for
 * it and reach it when it reconnects, with session present, to any node. The will of a client connected to
 * B is published by a survivor.
 * Lost: what only B's memory held, namely the subscriber's queue while it was offline on B (and its inflight
 * window), and messages published to B's clients between the kill and the node being found down.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { type NatsConnection, connect as natsConnect } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { rendezvous } from '../../src/cluster/adoption.js';
import { registryKey } from '../../src/cluster/registry-entry.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { eventually } from '../helpers/cluster.js';
import { type ChildNode, kill9, startChildNode } from '../helpers/cluster-process.js';
import { type NatsServer, startNats } from '../helpers/servers/nats.js';

const NAMES = ['hermod-a@127.0.0.1', 'hermod-b@127.0.0.1', 'hermod-c@127.0.0.1'];

describe('kill -9 of a node: its persistent sessions and wills survive on the other nodes', () => {
  let nats: NatsServer;
  let dir: string;
  let nc: NatsConnection;
  const nodes = new Map<string, ChildNode>();

  before(async () => {
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'hermod-failover-'));
    for (const name of NAMES) nodes.set(name, await startChildNode(dir, name, nats.url));
    nc = await natsConnect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    for (const n of nodes.values()) await kill9(n.child);
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The registry entry's owner, read straight from the cluster's bucket. */
  async function ownerOf(clientid: string): Promise<string | undefined> {
    const kv = await new Kvm(nc).open('hm_fo_clients');
    const e = await kv.get(registryKey('mqtt', clientid));
    return e === null || e.operation !== 'PUT' ? undefined : e.json<{ node: string }>().node;
  }

  it('the subscriber resumes on node C with its subscriptions; messages after the adoption arrive', {
    timeout: 90_000,
  }, async () => {
    const [A, B, C] = NAMES.map((n) => nodes.get(n)!);
    const survivors = [A!.name, C!.name].sort();
    const adopterOfSub = nodes.get(rendezvous('fo-sub', survivors)!)!;
    const adopterOfWill = nodes.get(rendezvous('fo-will', survivors)!)!;

    // The will is watched where it will be published (cross-node routing is the routes part's job).
    const watcher = await connectClient(adopterOfWill.port, { clientId: 'fo-watch' });
    await subscribe(watcher, 'fo/will', { qos: 1 });
    const wills = collect(watcher);

    // On B: a persistent subscriber, a client with a will, a publisher.
    const sub = await connectClient(B!.port, {
      clientId: 'fo-sub',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await subscribe(sub, ['fo/#', 'other/+'], { qos: 1 });
    const willClient = await connectClient(B!.port, {
      clientId: 'fo-will',
      protocolVersion: 5,
      will: { topic: 'fo/will', payload: Buffer.from('B is gone'), qos: 1, retain: false },
    });
    const pubB = await connectClient(B!.port, { clientId: 'fo-pub-b' });
    const before = collect(sub);
    for (let i = 0; i < 3; i++) await publish(pubB, 'fo/before', `before-${i}`, { qos: 1 });
    assert.deepEqual(
      (await before.next(3, 10_000)).map((m) => m.payload.toString()),
      ['before-0', 'before-1', 'before-2'],
    );
    // The subscriber goes offline; what is published now queues in B's memory only.
    await end(sub);
    await publish(pubB, 'fo/lost', 'queued-on-B', { qos: 1 });
    await eventually('the session record is written', async () => (await ownerOf('fo-sub')) === B!.name);

    await kill9(B!.child);
    nodes.delete(B!.name);
    pubB.end(true);
    willClient.end(true);

    await eventually(
      'a survivor adopts the session',
      async () => (await ownerOf('fo-sub')) === adopterOfSub.name,
      30_000,
    );
    const [will] = await wills.next(1, 15_000);
    assert.equal(
      will!.payload.toString(),
      'B is gone',
      'the will of a client on B is published by a survivor',
    );

    // Published after the adoption, on the adopting node: queued in the adopted session.
    const pub = await connectClient(adopterOfSub.port, { clientId: 'fo-pub' });
    for (let i = 0; i < 3; i++) await publish(pub, 'fo/after', `after-${i}`, { qos: 1 });

    const back = mqtt.connect({
      host: '127.0.0.1',
      port: C!.port,
      clientId: 'fo-sub',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      reconnectPeriod: 0,
    });
    const got = collect(back);
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      back.once('connect', resolve);
      back.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true, 'session present on node C');
    const afterMsgs = await got.next(3, 10_000);
    assert.deepEqual(
      afterMsgs.map((m) => m.payload.toString()),
      ['after-0', 'after-1', 'after-2'],
    );
    assert.equal(await ownerOf('fo-sub'), C!.name);

    // Its subscriptions work on C (both filters, with their QoS).
    const pubC = await connectClient(C!.port, { clientId: 'fo-pub-c' });
    await publish(pubC, 'other/x', 'live-on-C', { qos: 1 });
    const live = (await got.next(4, 10_000))[3]!;
    assert.equal(live.payload.toString(), 'live-on-C');
    assert.equal(live.packet.qos, 1);

    // Lost, as documented: the message queued in B's memory while the subscriber was offline.
    await sleep(300);
    assert.ok(
      !got.messages.some((m) => m.payload.toString() === 'queued-on-B'),
      'the queue held only in the dead node is lost',
    );
    back.end(true);
    await end(pub);
    await end(pubC);
    await end(watcher);
  });
});
