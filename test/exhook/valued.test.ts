/**
 * The valued hooks against a real ExHook server: authentication and authorization allowed and denied,
 * messages rewritten and dropped, topic filters on message hooks, and answers that do not fit the hook.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IPublishPacket } from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { type Request, TestProvider } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

let packetId = 1;

/** Publishes QoS 1 from a raw MQTT 5 client and returns the PUBACK reason code. */
async function pubackCode(c: RawClient, topic: string, payload: string): Promise<number> {
  const messageId = packetId++;
  c.send({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    messageId,
    retain: false,
    dup: false,
  });
  const ack = (await c.next('puback', 10_000)) as { reasonCode?: number; messageId: number };
  assert.equal(ack.messageId, messageId);
  return ack.reasonCode ?? 0;
}

describe('exhook: valued hooks', () => {
  let b: TestBroker;
  let p: TestProvider;
  let filtered: TestProvider;
  before(async () => {
    p = await TestProvider.start({
      hooks: [{ name: 'client.authenticate' }, { name: 'client.authorize' }, { name: 'message.publish' }],
      handlers: {
        OnClientAuthenticate: (req: Request) => {
          const ci = obj(req.clientinfo);
          if (ci.username === 'bad') return { type: 'STOP_AND_RETURN', bool_result: false };
          if (ci.username === 'good') return { type: 'STOP_AND_RETURN', bool_result: ci.password === 'pw' };
          return { type: 'IGNORE' };
        },
        OnClientAuthorize: (req: Request) => {
          if (String(req.topic).startsWith('forbidden/'))
            return { type: 'STOP_AND_RETURN', bool_result: false };
          if (String(req.topic).startsWith('granted/')) return { type: 'CONTINUE', bool_result: true };
          return { type: 'IGNORE' };
        },
        OnMessagePublish: (req: Request) => {
          const m = obj(req.message);
          const payload = Buffer.from(m.payload as Buffer).toString();
          if (m.topic === 'rewrite/in') {
            return {
              type: 'CONTINUE',
              message: { ...m, topic: 'rewrite/out', payload: Buffer.from(`${payload}!`), qos: 0 },
            };
          }
          if (String(m.topic).startsWith('drop/') && payload === 'drop') {
            return {
              type: 'STOP_AND_RETURN',
              message: { ...m, headers: { ...obj(m.headers), allow_publish: 'false' } },
            };
          }
          // Not the value kind message.publish needs: logged and ignored.
          if (m.topic === 'odd/answer') return { type: 'CONTINUE', bool_result: false };
          if (m.topic === 'bad/qos') return { type: 'CONTINUE', message: { ...m, qos: 7 } };
          return { type: 'IGNORE' };
        },
      },
    });
    filtered = await TestProvider.start({
      hooks: [{ name: 'message.publish', topics: ['only/+', 'also/#'] }],
    });
    b = await startBroker({
      config: {
        exhook: {
          servers: [
            { name: 'main', url: p.url, failed_action: 'ignore' },
            { name: 'filtered', url: filtered.url },
          ],
        },
      },
    });
  });
  after(async () => {
    await b.stop();
    await p.stop();
    await filtered.stop();
  });

  it('refuses a client the server denies and lets in one it allows', async () => {
    await assert.rejects(
      connectClient(b.port, { username: 'bad', password: 'x' }),
      /Not authorized|not authorized/i,
    );
    await assert.rejects(connectClient(b.port, { username: 'good', password: 'wrong' }), /authorized/i);
    const ok = await connectClient(b.port, { username: 'good', password: 'pw' });
    await end(ok);
    // A server that ignores leaves the broker's answer (no authenticator: anonymous allowed).
    const anon = await connectClient(b.port, { username: 'someone' });
    await end(anon);
  });

  it('refuses a subscription and a publish the server denies', async () => {
    const { client: c } = await RawClient.connect(b.port, {}, 5);
    c.send({
      cmd: 'subscribe',
      messageId: packetId++,
      subscriptions: [
        { topic: 'forbidden/a', qos: 1 },
        { topic: 'granted/a', qos: 1 },
        { topic: 'other/a', qos: 1 },
      ],
    } as never);
    const suback = (await c.next('suback', 10_000)) as { granted: number[] };
    assert.deepEqual(suback.granted, [0x87, 1, 1]);
    const watcher = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(watcher);
    await subscribe(watcher, 'granted/#', { qos: 1 });
    assert.equal(await pubackCode(c, 'forbidden/x', 'no'), 0x87);
    assert.equal(await pubackCode(c, 'granted/x', 'yes'), 0);
    const [m] = await got.next(1);
    assert.equal(m!.topic, 'granted/x');
    const authz = p.of('OnClientAuthorize').find((r) => r.topic === 'forbidden/x')!;
    assert.equal(authz.type, 'PUBLISH');
    assert.equal(authz.result, true);
    c.disconnect();
    await end(watcher);
  });

  it('rewrites topic, payload and qos', async () => {
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, 'rewrite/#', { qos: 2 });
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await publish(pub, 'rewrite/in', 'data', { qos: 2 });
    const [m] = await got.next(1);
    assert.equal(m!.topic, 'rewrite/out');
    assert.equal(m!.payload.toString(), 'data!');
    assert.equal((m!.packet as IPublishPacket).qos, 0);
    await end(sub);
    await end(pub);
  });

  it('drops a message the server marks allow_publish=false', async () => {
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, 'drop/#', { qos: 1 });
    const { client: pub } = await RawClient.connect(b.port, {}, 5);
    // No subscriber got it: PUBACK 0x10 (no matching subscribers).
    assert.equal(await pubackCode(pub, 'drop/a', 'drop'), 0x10);
    assert.equal(await pubackCode(pub, 'drop/b', 'keep'), 0);
    const [m] = await got.next(1);
    // Per-client order: had the dropped one gone out, it would have arrived first.
    assert.equal(m!.topic, 'drop/b');
    assert.equal(got.messages.length, 1);
    await end(sub);
    pub.disconnect();
  });

  it('ignores answers without a usable message', async () => {
    const sub = await connectClient(b.port, { protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, ['odd/#', 'bad/#'], { qos: 1 });
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    await publish(pub, 'odd/answer', 'same', { qos: 1 });
    await publish(pub, 'bad/qos', 'same2', { qos: 1 });
    const [m1, m2] = await got.next(2);
    assert.equal(m1!.topic, 'odd/answer');
    assert.equal(m1!.payload.toString(), 'same');
    assert.equal(m2!.topic, 'bad/qos');
    await end(sub);
    await end(pub);
  });

  it('sends message hooks only for topics matching the server filters', async () => {
    const pub = await connectClient(b.port, { protocolVersion: 5 });
    for (const t of ['only/1', 'only/1/2', 'also/x/y', 'other/1']) await publish(pub, t, 'x', { qos: 1 });
    await filtered.waitFor('OnMessagePublish', (r) => obj(r.message).topic === 'also/x/y');
    const topics = filtered.of('OnMessagePublish').map((r) => obj(r.message).topic);
    assert.deepEqual(topics, ['only/1', 'also/x/y']);
    // Its answers (IGNORE) change nothing, and it never saw the other hooks.
    assert.equal(filtered.of('OnClientAuthenticate').length, 0);
    await end(pub);
  });
});
