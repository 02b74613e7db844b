import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HookPoint } from '../../src/broker/hooks.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';

/** Records every hook call with a summary of its arguments. */
function record(b: TestBroker, points: HookPoint[]) {
  const calls: Array<{ point: HookPoint; args: unknown[] }> = [];
  for (const point of points) {
    b.node.hooks.add(
      point,
      ((...args: unknown[]) => {
        // $SYS event messages go through message.publish too; they are not what these tests watch.
        if (point === 'message.publish' && (args[0] as { flags: { sys: boolean } }).flags.sys)
          return undefined;
        calls.push({ point, args });
        return undefined;
      }) as never,
      1,
    );
  }
  return calls;
}

describe('hook points', () => {
  let b: TestBroker;
  let calls: Array<{ point: HookPoint; args: unknown[] }>;
  before(async () => {
    b = await startBroker();
    calls = record(b, [
      'client.connect',
      'client.connack',
      'client.authenticate',
      'client.authorize',
      'client.connected',
      'client.disconnected',
      'client.subscribe',
      'client.unsubscribe',
      'session.created',
      'session.subscribed',
      'session.unsubscribed',
      'session.resumed',
      'session.discarded',
      'session.takenover',
      'session.terminated',
      'message.publish',
      'message.delivered',
      'message.acked',
      'message.dropped',
      'delivery.dropped',
    ]);
  });
  after(() => b.stop());
  const of = (p: HookPoint) => calls.filter((c) => c.point === p);

  it('fires the connect sequence in EMQX order with ConnInfo and ClientInfo', async () => {
    calls.length = 0;
    const c = await connectClient(b.port, { clientId: 'hk1', username: 'hu' });
    assert.deepEqual(
      calls.map((x) => x.point),
      ['client.connect', 'client.authenticate', 'session.created', 'client.connack', 'client.connected'],
    );
    const connInfo = of('client.connect')[0]!.args[0] as {
      clientid: string;
      proto_ver: number;
      username: string;
    };
    assert.equal(connInfo.clientid, 'hk1');
    assert.equal(connInfo.username, 'hu');
    assert.equal(connInfo.proto_ver, 4);
    const ci = of('client.connected')[0]!.args[0] as { clientid: string; protocol: string; peerhost: string };
    assert.equal(ci.protocol, 'mqtt');
    assert.equal(ci.peerhost, '127.0.0.1');
    assert.equal(of('client.connack')[0]!.args[1], 'success');
    await end(c);
  });

  it('fires subscribe, publish, delivered, acked, unsubscribe and disconnect hooks', async () => {
    calls.length = 0;
    const c = await connectClient(b.port, { clientId: 'hk2' });
    const g = collect(c);
    await subscribe(c, 'hk/t', { qos: 1 });
    await publish(c, 'hk/t', 'x', { qos: 1 });
    await g.next(1);
    await sleep(50);
    await new Promise<void>((r) => c.unsubscribe('hk/t', () => r()));
    await end(c);
    await sleep(50);
    const sub = of('client.subscribe')[0]!;
    assert.deepEqual(
      (sub.args[2] as Array<{ topic: string }>).map((x) => x.topic),
      ['hk/t'],
    );
    const authz = of('client.authorize').map((x) => [
      (x.args[1] as { action_type: string }).action_type,
      x.args[2],
    ]);
    assert.deepEqual(authz, [
      ['subscribe', 'hk/t'],
      ['publish', 'hk/t'],
    ]);
    assert.equal((of('session.subscribed')[0]!.args[2] as { is_new: boolean }).is_new, true);
    assert.equal((of('message.publish')[0]!.args[0] as { topic: string }).topic, 'hk/t');
    assert.equal((of('message.delivered')[0]!.args[1] as { topic: string }).topic, 'hk/t');
    assert.equal((of('message.acked')[0]!.args[0] as { clientid: string }).clientid, 'hk2');
    assert.equal(of('client.unsubscribe').length, 1);
    assert.equal(of('session.unsubscribed')[0]!.args[1], 'hk/t');
    assert.equal(of('client.disconnected')[0]!.args[1], 'normal');
    assert.equal(of('session.terminated')[0]!.args[1], 'normal');
  });

  it('fires message.dropped for a message nobody wants and delivery.dropped for No Local', async () => {
    calls.length = 0;
    const c = await connectClient(b.port, { protocolVersion: 5 });
    await publish(c, 'nobody/listens', 'x', { qos: 1 });
    await subscribe(c, 'self/t', { qos: 0, nl: true });
    await publish(c, 'self/t', 'y', { qos: 1 });
    await sleep(50);
    assert.equal(of('message.dropped')[0]!.args[2], 'no_subscribers');
    assert.equal(of('delivery.dropped')[0]!.args[2], 'no_local');
    await end(c);
  });

  it('fires session.takenover / resumed on takeover and session.discarded on a clean start', async () => {
    calls.length = 0;
    const a = await RawClient.connect(b.port, { clientId: 'hk3', clean: false }, 4);
    const b2 = await RawClient.connect(b.port, { clientId: 'hk3', clean: false }, 4);
    await a.client.waitClosed();
    assert.equal(of('session.takenover').length, 1);
    assert.equal(of('session.resumed').length, 1);
    const c = await RawClient.connect(b.port, { clientId: 'hk3', clean: true }, 4);
    await b2.client.waitClosed();
    assert.equal(of('session.discarded').length, 1);
    c.client.disconnect();
    await sleep(50);
    assert.deepEqual(
      of('client.disconnected').map((x) => x.args[1]),
      ['takenover', 'discarded', 'normal'],
    );
  });

  it('lets client.connect refuse a connection and message.publish rewrite or drop messages', async () => {
    const offConnect = b.node.hooks.add(
      'client.connect',
      (info) => (info.clientid === 'refused' ? { stop: { error: 0x87 } } : undefined),
      500,
    );
    const offPublish = b.node.hooks.add(
      'message.publish',
      (msg) => {
        if (msg.topic === 'rewrite/me')
          return { ok: msg.withChanges({ topic: 'rewritten/t', payload: Buffer.from('new') }) };
        if (msg.topic === 'drop/me') {
          const d = msg.withChanges({});
          d.headers.allow_publish = false;
          return { ok: d };
        }
        return undefined;
      },
      500,
    );
    try {
      const r = await RawClient.connect(b.port, { clientId: 'refused' }, 5);
      assert.equal(r.connack.reasonCode, 0x87);
      const s = await connectClient(b.port);
      const g = collect(s);
      await subscribe(s, ['rewritten/t', 'drop/me'], { qos: 0 });
      await publish(s, 'drop/me', 'x', { qos: 1 });
      await publish(s, 'rewrite/me', 'old', { qos: 1 });
      const [m] = await g.next(1);
      assert.deepEqual([m!.topic, m!.payload.toString()], ['rewritten/t', 'new']);
      await sleep(50);
      assert.equal(g.messages.length, 1);
      await end(s);
    } finally {
      offConnect();
      offPublish();
    }
  });

  it('waits for an async hook without reordering a client\u2019s messages', async () => {
    const off = b.node.hooks.add(
      'message.publish',
      async (msg) => {
        await sleep(msg.payload.toString() === '0' ? 30 : 1);
        return undefined;
      },
      500,
    );
    try {
      const s = await connectClient(b.port);
      const g = collect(s);
      await subscribe(s, 'async/t', { qos: 1 });
      const pub = await connectClient(b.port);
      await Promise.all([0, 1, 2, 3].map((i) => publish(pub, 'async/t', String(i), { qos: 1 })));
      const msgs = await g.next(4);
      assert.deepEqual(
        msgs.map((m) => m.payload.toString()),
        ['0', '1', '2', '3'],
      );
      await Promise.all([end(s), end(pub)]);
    } finally {
      off();
    }
  });
});
