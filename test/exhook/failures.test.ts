/**
 * Servers that are down at start, killed while running, or slower than request_timeout, under both
 * failed_actions: deny refuses the login and stops the message chain (the message goes on unchanged),
 * ignore passes over the server; a server that comes back is loaded again.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { delay, eventually, type ProviderOptions, type Request, TestProvider } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

/** Refuses user "bad" and rewrites payloads of k/# topics to "<payload>-x". */
const judging: ProviderOptions = {
  hooks: [
    { name: 'client.authenticate' },
    { name: 'client.authorize' },
    { name: 'message.publish', topics: ['k/#'] },
  ],
  handlers: {
    OnClientAuthorize: () => ({ type: 'CONTINUE', bool_result: true }),
    OnClientAuthenticate: (req: Request) => ({
      type: 'STOP_AND_RETURN',
      bool_result: obj(req.clientinfo).username !== 'bad',
    }),
    OnMessagePublish: (req: Request) => {
      const m = obj(req.message);
      return {
        type: 'CONTINUE',
        message: { ...m, payload: Buffer.from(`${Buffer.from(m.payload as Buffer)}-x`) },
      };
    },
  },
};

async function canConnect(b: TestBroker, username: string): Promise<boolean> {
  try {
    const c = await connectClient(b.port, { username, connectTimeout: 20_000 });
    await end(c);
    return true;
  } catch (err) {
    if (/authorized/i.test(String(err))) return false;
    throw err;
  }
}

async function roundTrip(b: TestBroker, topic: string, payload: string): Promise<string> {
  const sub = await connectClient(b.port, { username: 'sub' }).catch(() => undefined);
  // Under deny with a dead server nobody can log in: subscribe with a client made earlier instead.
  if (sub === undefined) throw new Error('subscriber could not connect');
  const got = collect(sub);
  await subscribe(sub, topic, { qos: 1 });
  const pub = await connectClient(b.port, { username: 'pub' });
  await publish(pub, topic, payload, { qos: 1 });
  const [m] = await got.next(1, 20_000);
  await end(sub);
  await end(pub);
  return m!.payload.toString();
}

/** A port nothing listens on (a server was there a moment ago). */
async function deadPort(): Promise<number> {
  const p = await TestProvider.start();
  const port = p.port;
  p.kill();
  return port;
}

for (const action of ['deny', 'ignore'] as const) {
  describe(`exhook failures (failed_action=${action})`, () => {
    const cleanup: Array<() => Promise<void> | void> = [];
    after(async () => {
      for (const f of cleanup.reverse()) await f();
    });

    it('runs without a server that is down at start, and loads it when it comes up', async () => {
      const port = await deadPort();
      const b = await startBroker({
        config: {
          exhook: {
            servers: [
              {
                name: 'late',
                url: `http://127.0.0.1:${port}`,
                failed_action: action,
                auto_reconnect: '1s',
                request_timeout: '2s',
              },
            ],
          },
        },
      });
      cleanup.push(() => b.stop());
      const s = b.node.exhook.server('late')!;
      assert.equal(s.status, 'connecting');
      // Not loaded, so not in the chain: clients are not affected whatever failed_action says.
      assert.equal(await canConnect(b, 'bad'), true);
      assert.equal(await roundTrip(b, 'k/1', 'p'), 'p');

      const p = await TestProvider.start({ ...judging, port });
      cleanup.push(() => p.stop());
      await eventually(() => s.status === 'connected', 20_000, 'the server to load');
      assert.equal(await canConnect(b, 'bad'), false);
      assert.equal(await roundTrip(b, 'k/2', 'p'), 'p-x');
    });

    it('applies failed_action when the server is killed, and reloads it when it is back', async () => {
      const p = await TestProvider.start(judging);
      cleanup.push(() => p.stop());
      const b = await startBroker({
        config: {
          exhook: {
            servers: [
              { name: 'k', url: p.url, failed_action: action, auto_reconnect: '1s', request_timeout: '2s' },
            ],
          },
        },
      });
      cleanup.push(() => b.stop());
      assert.equal(await canConnect(b, 'bad'), false);
      // Connected before the kill: they are used while logins may be refused.
      const sub = await connectClient(b.port, { username: 'sub' });
      const got = collect(sub);
      await subscribe(sub, 'k/#', { qos: 1 });
      const pub = await connectClient(b.port, { username: 'pub' });
      await publish(pub, 'k/before', 'a', { qos: 1 });
      assert.equal((await got.next(1, 20_000))[0]!.payload.toString(), 'a-x');

      p.kill();
      // deny: nobody logs in while the server is away; ignore: everybody does (nobody says no).
      assert.equal(await canConnect(b, 'good'), action === 'ignore');
      assert.equal(await canConnect(b, 'bad'), action === 'ignore');
      // deny: a new subscription is refused; ignore: the broker's own answer (allow) stands.
      const granted = await new Promise<number>((resolve) =>
        sub.subscribe('k/new', { qos: 1 }, (err, g) => resolve(err ? 0x80 : (g?.[0]?.qos ?? 0x80))),
      );
      assert.equal(granted, action === 'deny' ? 0x80 : 1);
      // deny: the publish is not authorized; ignore: it goes on, unchanged (nobody rewrote it).
      await publish(pub, 'k/during', 'b', { qos: 1 });
      if (action === 'ignore') {
        const during = (await got.next(2, 20_000))[1]!;
        assert.equal(during.topic, 'k/during');
        assert.equal(during.payload.toString(), 'b');
      }
      const s = b.node.exhook.server('k')!;
      assert.ok(s.metrics.hook('client.authenticate').failed >= 2);
      await eventually(() => s.status !== 'connected', 20_000, 'the health check to notice');

      await p.listen();
      await eventually(
        () => s.status === 'connected' && p.of('OnProviderLoaded').length === 2,
        20_000,
        'reload',
      );
      assert.equal(await canConnect(b, 'bad'), false);
      assert.equal(await canConnect(b, 'good'), true);
      await publish(pub, 'k/after', 'c', { qos: 1 });
      const n = action === 'ignore' ? 3 : 2;
      const afterBack = (await got.next(n, 20_000))[n - 1]!;
      // Messages of one publisher arrive in order: under deny, k/during never went out.
      assert.equal(afterBack.topic, 'k/after');
      assert.equal(afterBack.payload.toString(), 'c-x');
      await end(sub);
      await end(pub);
    });

    it('gives up on a call after request_timeout', async () => {
      const slow = await TestProvider.start({
        hooks: [{ name: 'client.authenticate' }, { name: 'message.publish', topics: ['k/#'] }],
        handlers: {
          // User "slow" gets a "no" after 3 s; the others a "yes" at once.
          OnClientAuthenticate: async (req: Request) => {
            const slowUser = obj(req.clientinfo).username === 'slow';
            if (slowUser) await delay(3000);
            return { type: 'STOP_AND_RETURN', bool_result: !slowUser };
          },
          // k/slow is rewritten after 3 s, the other topics at once.
          OnMessagePublish: async (req: Request) => {
            const m = obj(req.message);
            if (m.topic === 'k/slow') await delay(3000);
            return { type: 'CONTINUE', message: { ...m, payload: Buffer.from(`seen ${String(m.topic)}`) } };
          },
        },
      });
      cleanup.push(() => slow.stop());
      const b = await startBroker({
        config: {
          exhook: {
            servers: [{ name: 'slow', url: slow.url, failed_action: action, request_timeout: '500ms' }],
          },
        },
      });
      cleanup.push(() => b.stop());
      // The server's "no" comes too late: deny refuses on the timeout, ignore lets the client in.
      assert.equal(await canConnect(b, 'slow'), action === 'ignore');
      assert.equal(await canConnect(b, 'good'), true);
      const s = b.node.exhook.server('slow')!;
      assert.equal(s.metrics.hook('client.authenticate').failed, 1);
      // The late rewrite is not waited for: the message goes on as it was (deny stops the chain there).
      assert.equal(await roundTrip(b, 'k/slow', 'orig'), 'orig');
      assert.equal(await roundTrip(b, 'k/fast', 'orig'), 'seen k/fast');
    });
  });
}
