/**
 * Notification calls never hold up a client: they are queued per client, one in flight at a time, so the
 * server sees each client's events in order; the queues are bounded.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { HookPoint } from '../../src/broker/hooks.js';
import { Message } from '../../src/broker/message.js';
import { type Job, KeyedQueue } from '../../src/exhook/keyed-queue.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { delay, eventually, type Request, TestProvider } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

const NOTIFICATIONS = [
  'client.connect',
  'client.connack',
  'client.connected',
  'client.disconnected',
  'client.subscribe',
  'session.created',
  'session.subscribed',
  'message.delivered',
  'message.acked',
  'message.dropped',
].map((name) => ({ name }));

const RPC_OF: Record<string, string> = {
  'client.connect': 'OnClientConnect',
  'client.connack': 'OnClientConnack',
  'client.connected': 'OnClientConnected',
  'client.subscribe': 'OnClientSubscribe',
  'session.created': 'OnSessionCreated',
  'session.subscribed': 'OnSessionSubscribed',
  'message.delivered': 'OnMessageDelivered',
  'message.acked': 'OnMessageAcked',
};

describe('exhook: notifications are pipelined per client', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('does not hold up a client while the server sits on its notifications', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const held = async () => {
      await gate;
      return {};
    };
    const handlers: Record<string, (req: Request) => unknown> = {};
    for (const rpc of ['OnClientConnect', 'OnClientConnack', 'OnClientConnected', 'OnSessionCreated']) {
      handlers[rpc] = held;
    }
    for (const rpc of ['OnClientSubscribe', 'OnSessionSubscribed', 'OnMessageDelivered', 'OnMessageAcked']) {
      handlers[rpc] = held;
    }
    const p = await TestProvider.start({ hooks: NOTIFICATIONS, handlers });
    cleanup.push(() => p.stop());
    const b: TestBroker = await startBroker({
      config: { exhook: { servers: [{ name: 'sticky', url: p.url, request_timeout: '60s' }] } },
    });
    cleanup.push(() => b.stop());
    const fired: string[] = [];
    for (const [point, rpc] of Object.entries(RPC_OF)) {
      b.node.hooks.add(
        point as HookPoint,
        ((...args: unknown[]) => {
          if (obj(args[0]).clientid === 'held-1') fired.push(rpc);
          return undefined;
        }) as never,
        1,
      );
    }

    // The whole life of a client goes through while the server has answered nothing.
    const c = await connectClient(b.port, { clientId: 'held-1' });
    const got = collect(c);
    await subscribe(c, 'h/#', { qos: 1 });
    await publish(c, 'h/1', 'one', { qos: 1 });
    await got.next(1);
    // One call per client at a time: the server has only the first one so far.
    const mine = () =>
      p.calls.filter((x) => obj(x.req.clientinfo ?? x.req.conninfo ?? {}).clientid === 'held-1');
    assert.deepEqual(
      mine().map((x) => x.rpc),
      ['OnClientConnect'],
    );
    release();
    await p.waitFor('OnMessageAcked');
    // Everything arrives, in the order the broker fired the hooks.
    assert.deepEqual(
      mine().map((x) => x.rpc),
      fired,
    );
    await end(c);
  });

  it('keeps each client in order when the server answers at random speeds', async () => {
    const random = async () => {
      await delay(Math.floor(Math.random() * 15));
      return {};
    };
    const p = await TestProvider.start({
      hooks: [{ name: 'session.subscribed' }],
      handlers: { OnSessionSubscribed: random },
    });
    cleanup.push(() => p.stop());
    const b = await startBroker({
      config: { exhook: { servers: [{ name: 'rnd', url: p.url, pool_size: 3 }] } },
    });
    cleanup.push(() => b.stop());
    const clients = await Promise.all(
      ['o-1', 'o-2', 'o-3'].map((id) => connectClient(b.port, { clientId: id })),
    );
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 20; i++) await subscribe(c, `t/${i}`);
      }),
    );
    await eventually(() => p.of('OnSessionSubscribed').length === 60, 20_000, '60 calls');
    for (const id of ['o-1', 'o-2', 'o-3']) {
      const topics = p
        .of('OnSessionSubscribed')
        .filter((r) => obj(r.clientinfo).clientid === id)
        .map((r) => r.topic);
      assert.deepEqual(
        topics,
        Array.from({ length: 20 }, (_, i) => `t/${i}`),
      );
    }
    for (const c of clients) await end(c);
  });
});

describe('KeyedQueue', () => {
  function job(log: string[], name: string, gate?: Promise<void>): Job {
    return {
      notAfter: Number.POSITIVE_INFINITY,
      run: async () => {
        log.push(`start ${name}`);
        await gate;
        log.push(`end ${name}`);
      },
      abandon: (reason) => log.push(`${reason} ${name}`),
    };
  }

  it('runs one job per key at a time, keys side by side', async () => {
    const log: string[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const q = new KeyedQueue();
    q.push('a', job(log, 'a1', gate));
    q.push('a', job(log, 'a2'));
    q.push('b', job(log, 'b1'));
    await delay(10);
    assert.deepEqual(log, ['start a1', 'start b1', 'end b1']);
    open();
    await eventually(() => q.size === 0, 5000);
    assert.deepEqual(log.slice(3), ['end a1', 'start a2', 'end a2']);
  });

  it('refuses jobs beyond its bounds', () => {
    const log: string[] = [];
    const never = new Promise<void>(() => undefined);
    const q = new KeyedQueue({ perKey: 2, total: 3 });
    assert.equal(q.push('a', job(log, 'a1', never)), true);
    assert.equal(q.push('a', job(log, 'a2', never)), true);
    assert.equal(q.push('a', job(log, 'a3', never)), false);
    assert.equal(q.push('b', job(log, 'b1', never)), true);
    assert.equal(q.push('c', job(log, 'c1', never)), false);
    assert.equal(q.size, 3);
  });

  it('abandons a job that waited past its deadline, and waiting jobs on close', async () => {
    const log: string[] = [];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const q = new KeyedQueue();
    q.push('a', job(log, 'a1', gate));
    q.push('a', { ...job(log, 'late'), notAfter: Date.now() + 5 });
    q.push('a', job(log, 'a3'));
    await delay(20);
    open();
    await eventually(() => q.size === 0, 5000);
    assert.deepEqual(log, ['start a1', 'end a1', 'expired late', 'start a3', 'end a3']);
    const never = new Promise<void>(() => undefined);
    q.push('b', job(log, 'b1', never));
    q.push('b', job(log, 'b2'));
    q.close();
    assert.equal(log.at(-1), 'closed b2');
    assert.equal(q.push('c', job(log, 'c1')), false);
  });
});

describe('exhook: message.publish calls of one client overlap, its messages stay in order', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  for (const grpcClient of ['http2', 'grpc-js'] as const) {
    it(`200 QoS 1 publishes answered out of order arrive in order, every one acked (${grpcClient})`, async () => {
      let running = 0;
      let most = 0;
      // Each answer waits 0-20 ms, so later calls are often answered first; the answer marks the payload so
      // the subscriber shows each message got its own answer.
      const p = await TestProvider.start({
        hooks: [{ name: 'message.publish', topics: ['ord/#'] }],
        handlers: {
          OnMessagePublish: async (req: Request) => {
            running++;
            most = Math.max(most, running);
            await delay(Math.floor(Math.random() * 20));
            running--;
            const m = obj(req.message);
            return { type: 'CONTINUE', message: { ...m, payload: Buffer.from(`${String(m.payload)}!`) } };
          },
        },
      });
      cleanup.push(() => p.stop());
      const b = await startBroker({
        config: { exhook: { servers: [{ name: 'ord', url: p.url, grpc_client: grpcClient }] } },
      });
      cleanup.push(() => b.stop());
      const sub = await connectClient(b.port, { clientId: `ord-sub-${grpcClient}` });
      await subscribe(sub, 'ord/#', { qos: 1 });
      const got = collect(sub);
      const pub = await connectClient(b.port, { clientId: `ord-pub-${grpcClient}` });
      const n = 200;
      // mqtt.js writes all 200 at once, without waiting for acks.
      const acks = await Promise.all(
        Array.from({ length: n }, (_, i) => publish(pub, 'ord/x', String(i), { qos: 1 })),
      );
      assert.equal(acks.length, n);
      const msgs = await got.next(n, 20_000);
      assert.deepEqual(
        msgs.map((m) => m.payload.toString()),
        Array.from({ length: n }, (_, i) => `${i}!`),
      );
      assert.ok(most > 1, `the server had ${most} call(s) of the client at once`);
      await end(pub);
      await end(sub);
    });
  }

  it("with two publish servers the second sees a client's messages in order, also those the first skips", async () => {
    const marked = (delayMs: number) => async (req: Request) => {
      await delay(Math.floor(Math.random() * delayMs));
      const m = obj(req.message);
      return { type: 'CONTINUE', message: { ...m, payload: Buffer.from(`${String(m.payload)}+`) } };
    };
    // The first server takes only two/a and answers slowly: a two/b message, which skips it, must still
    // reach the second server after the two/a messages published before it.
    const s1 = await TestProvider.start({
      hooks: [{ name: 'message.publish', topics: ['two/a'] }],
      handlers: { OnMessagePublish: marked(15) },
    });
    cleanup.push(() => s1.stop());
    const s2 = await TestProvider.start({
      hooks: [{ name: 'message.publish', topics: ['two/#'] }],
      handlers: { OnMessagePublish: marked(3) },
    });
    cleanup.push(() => s2.stop());
    const b = await startBroker({
      config: {
        exhook: {
          servers: [
            { name: 's1', url: s1.url },
            { name: 's2', url: s2.url },
          ],
        },
      },
    });
    cleanup.push(() => b.stop());
    const sub = await connectClient(b.port, { clientId: 'two-sub' });
    await subscribe(sub, 'two/#');
    const got = collect(sub);
    const pub = await connectClient(b.port, { clientId: 'two-pub' });
    const n = 40;
    const topic = (i: number) => (i % 2 === 0 ? 'two/a' : 'two/b');
    await Promise.all(Array.from({ length: n }, (_, i) => publish(pub, topic(i), String(i), { qos: 1 })));
    const atS2 = Array.from({ length: n }, (_, i) => (topic(i) === 'two/a' ? `${i}+` : String(i)));
    const seen = (s: TestProvider) => s.of('OnMessagePublish').map((r) => String(obj(r.message).payload));
    assert.deepEqual(
      seen(s1),
      Array.from({ length: n / 2 }, (_, i) => String(2 * i)),
    );
    assert.deepEqual(seen(s2), atS2);
    const msgs = await got.next(n, 10_000);
    assert.deepEqual(
      msgs.map((m) => m.payload.toString()),
      atS2.map((x) => `${x}+`),
    );
    await end(pub);
    await end(sub);
  });

  it('publishes made through the broker (plugins, API) go one call at a time and keep their order', async () => {
    let running = 0;
    let most = 0;
    const p = await TestProvider.start({
      hooks: [{ name: 'message.publish' }],
      handlers: {
        OnMessagePublish: async () => {
          running++;
          most = Math.max(most, running);
          await delay(Math.floor(Math.random() * 10));
          running--;
          return { type: 'IGNORE' };
        },
      },
    });
    cleanup.push(() => p.stop());
    const b = await startBroker({ config: { exhook: { servers: [{ name: 'api', url: p.url }] } } });
    cleanup.push(() => b.stop());
    const sub = await connectClient(b.port, { clientId: 'api-sub' });
    await subscribe(sub, 'api/#');
    const got = collect(sub);
    // Not awaited one by one: a plugin firing publishes off.
    const n = 30;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        b.node.broker.publish(new Message('api/t', Buffer.from(String(i)), 0, 'plugin-x', false)),
      ),
    );
    const msgs = await got.next(n, 10_000);
    assert.deepEqual(
      msgs.map((m) => m.payload.toString()),
      Array.from({ length: n }, (_, i) => String(i)),
    );
    assert.equal(most, 1);
    await end(sub);
  });

  it('a refused publish is acknowledged after the publishes before it, whose hook answers come late', async () => {
    const p = await TestProvider.start({
      hooks: [{ name: 'message.publish' }],
      handlers: {
        OnMessagePublish: async () => {
          await delay(5 + Math.floor(Math.random() * 20));
          return { type: 'IGNORE' };
        },
      },
    });
    cleanup.push(() => p.stop());
    const b = await startBroker({ config: { exhook: { servers: [{ name: 'late', url: p.url }] } } });
    cleanup.push(() => b.stop());
    const c = await connectClient(b.port, { clientId: 'ord-refused', protocolVersion: 5 });
    const acks: Array<[number, number]> = [];
    c.on('packetreceive', (pk) => {
      if (pk.cmd === 'puback') acks.push([pk.messageId ?? 0, pk.reasonCode ?? 0]);
    });
    const sent = Array.from({ length: 10 }, (_, i) => publish(c, 'late/t', String(i), { qos: 1 }));
    // Payload-Format-Indicator 1 with bytes that are not UTF-8: refused with 0x99, no hook call.
    const refused = publish(c, 'late/t', Buffer.from([0xff, 0xfe]), {
      qos: 1,
      properties: { payloadFormatIndicator: true },
    }).catch((err: Error) => err);
    await Promise.all(sent);
    await refused;
    assert.deepEqual(
      acks.map(([, rc]) => rc),
      [...Array.from({ length: 10 }, () => 0x10), 0x99],
      'no subscriber: 0x10 for the ten, then 0x99',
    );
    assert.deepEqual(
      acks.map(([id]) => id),
      [...acks.map(([id]) => id)].sort((x, y) => x - y),
    );
    await end(c);
  });

  it('a SUBSCRIBE sent after PUBLISHes waits for their slow hook: it does not receive them', async () => {
    const p = await TestProvider.start({
      hooks: [{ name: 'message.publish' }],
      handlers: {
        OnMessagePublish: async () => {
          await delay(30);
          return { type: 'IGNORE' };
        },
      },
    });
    cleanup.push(() => p.stop());
    const b = await startBroker({ config: { exhook: { servers: [{ name: 'slow', url: p.url }] } } });
    cleanup.push(() => b.stop());
    const c = await connectClient(b.port, { clientId: 'ord-self' });
    const got = collect(c);
    for (let i = 0; i < 10; i++) c.publish('self/t', `before ${i}`, { qos: 0 });
    await subscribe(c, 'self/t');
    await publish(c, 'self/t', 'after', { qos: 1 });
    const msgs = await got.next(1, 5000);
    await delay(100);
    assert.deepEqual(
      got.messages.map((m) => m.payload.toString()),
      ['after'],
      `got ${msgs.length}`,
    );
    await end(c);
  });
});
