/**
 * Servers built from EMQX's v2 proto (package emqx.exhook.v2, EMQX 5.0-5.8) and from the v3 one (5.9+) both
 * work unchanged: Hermod tries v3 and falls back to v2 when the server answers UNIMPLEMENTED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type ProviderOptions, type Request, TestProvider, type Version } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

/** The same server code for both versions, written the way EMQX's example servers are. */
function exampleServer(version: Version): ProviderOptions {
  return {
    version,
    hooks: [
      { name: 'client.connect' },
      { name: 'client.authenticate' },
      { name: 'client.authorize' },
      { name: 'session.subscribed' },
      { name: 'message.publish', topics: ['v/#'] },
      { name: 'message.delivered', topics: ['v/#'] },
    ],
    handlers: {
      OnClientAuthenticate: (req: Request) => ({
        type: 'STOP_AND_RETURN',
        bool_result: obj(req.clientinfo).password === 'letmein',
      }),
      OnClientAuthorize: (req: Request) => ({
        type: 'STOP_AND_RETURN',
        bool_result: req.topic !== 'v/secret',
      }),
      OnMessagePublish: (req: Request) => {
        const m = obj(req.message);
        return {
          type: 'STOP_AND_RETURN',
          message: { ...m, payload: Buffer.from(`hardcoded by ${version}`) },
        };
      },
    },
  };
}

for (const version of ['v2', 'v3'] as const) {
  describe(`exhook: a server built from the ${version} proto`, () => {
    let p: TestProvider;
    let b: TestBroker;
    before(async () => {
      p = await TestProvider.start(exampleServer(version));
      b = await startBroker({ config: { exhook: { servers: [{ name: version, url: p.url }] } } });
    });
    after(async () => {
      await b.stop();
      await p.stop();
    });

    it(`is loaded on the emqx.exhook.${version} path`, () => {
      const s = b.node.exhook.server(version)!;
      assert.equal(s.status, 'connected');
      assert.equal(s.version, version);
      assert.equal(p.of('OnProviderLoaded').length, 1);
    });

    it('decides logins, authorizes, rewrites messages and gets notifications', async () => {
      await assert.rejects(connectClient(b.port, { username: 'u', password: 'nope' }), /authorized/i);
      const c = await connectClient(b.port, {
        clientId: `${version}-c`,
        username: 'u',
        password: 'letmein',
        protocolVersion: 5,
        properties: { userProperties: { a: 'b' } },
      });
      const got = collect(c);
      await assert.rejects(subscribe(c, 'v/secret', { qos: 1 }), /authorized/i);
      await subscribe(c, 'v/#', { qos: 1 });
      await publish(c, 'v/1', 'original', { qos: 1 });
      const [m] = await got.next(1, 10_000);
      assert.equal(m!.payload.toString(), `hardcoded by ${version}`);
      const connect = await p.waitFor('OnClientConnect', (r) => obj(r.conninfo).clientid === `${version}-c`);
      assert.equal(obj(connect.conninfo).username, 'u');
      // User properties have a field in v3 only; a v2 server never sees them.
      if (version === 'v3') assert.deepEqual(connect.user_props, [{ name: 'a', value: 'b' }]);
      else assert.equal(connect.user_props, undefined);
      const sub = await p.waitFor('OnSessionSubscribed', (r) => r.topic === 'v/#');
      assert.equal(obj(sub.subopts).qos, 1);
      const delivered = await p.waitFor('OnMessageDelivered');
      assert.equal(
        Buffer.from(obj(delivered.message).payload as Buffer).toString(),
        `hardcoded by ${version}`,
      );
      await end(c);
    });
  });
}
