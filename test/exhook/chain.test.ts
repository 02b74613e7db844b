/**
 * Several servers chained in list order: CONTINUE hands the value on, STOP_AND_RETURN ends the chain,
 * IGNORE passes; the order follows the config (and a move); a server that did not ask for a hook is
 * skipped even with failed_action=deny (Hermod's deliberate choice against EMQX's gotcha).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type Request, TestProvider } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

/** A server that appends its tag to the payload (CONTINUE) and decides logins by username. */
function tagging(tag: string) {
  return {
    hooks: [{ name: 'client.authenticate' }, { name: 'message.publish', topics: ['chain/#'] }],
    handlers: {
      OnMessagePublish: (req: Request) => {
        const m = obj(req.message);
        const payload = `${Buffer.from(m.payload as Buffer).toString()}-${tag}`;
        const next = { ...m, payload: Buffer.from(payload) };
        if (m.topic === 'chain/stop' && tag === 's1') return { type: 'STOP_AND_RETURN', message: next };
        if (m.topic === 'chain/ignore' && tag === 's1') return { type: 'IGNORE' };
        return { type: 'CONTINUE', message: next };
      },
      OnClientAuthenticate: (req: Request) => {
        const user = String(obj(req.clientinfo).username);
        // s1 says yes to u-deny2 and no to u-allow; s2 reverses it: s2's word is final.
        if (user === 'u-deny2') return { type: 'CONTINUE', bool_result: tag === 's1' };
        if (user === 'u-allow') return { type: 'CONTINUE', bool_result: tag === 's2' };
        return { type: 'IGNORE' };
      },
    },
  };
}

describe('exhook: two servers chained', () => {
  let b: TestBroker;
  let s1: TestProvider;
  let s2: TestProvider;
  let pubonly: TestProvider;
  const server = (name: string, url: string, extra: Obj = {}) => ({ name, url, ...extra });

  before(async () => {
    s1 = await TestProvider.start(tagging('s1'));
    s2 = await TestProvider.start(tagging('s2'));
    pubonly = await TestProvider.start({ hooks: [{ name: 'message.publish', topics: ['elsewhere/#'] }] });
    b = await startBroker({
      config: {
        exhook: {
          servers: [
            server('pubonly', pubonly.url, { failed_action: 'deny' }),
            server('s1', s1.url, { failed_action: 'deny' }),
            server('s2', s2.url, { failed_action: 'deny' }),
          ],
        },
      },
    });
  });
  after(async () => {
    await b.stop();
    for (const p of [s1, s2, pubonly]) await p.stop();
  });

  async function roundTrip(topic: string, payload: string): Promise<string> {
    const sub = await connectClient(b.port);
    const got = collect(sub);
    await subscribe(sub, topic, { qos: 1 });
    const pub = await connectClient(b.port);
    await publish(pub, topic, payload, { qos: 1 });
    const [m] = await got.next(1, 10_000);
    await end(sub);
    await end(pub);
    return m!.payload.toString();
  }

  it('hands a CONTINUE value to the next server', async () => {
    assert.equal(await roundTrip('chain/cont', 'x'), 'x-s1-s2');
    const seen = s2.of('OnMessagePublish').find((r) => obj(r.message).topic === 'chain/cont')!;
    assert.equal(Buffer.from(obj(seen.message).payload as Buffer).toString(), 'x-s1');
  });

  it('stops at STOP_AND_RETURN and passes over IGNORE', async () => {
    assert.equal(await roundTrip('chain/stop', 'y'), 'y-s1');
    assert.equal(s2.of('OnMessagePublish').filter((r) => obj(r.message).topic === 'chain/stop').length, 0);
    assert.equal(await roundTrip('chain/ignore', 'z'), 'z-s2');
  });

  it('folds authentication results: the last CONTINUE wins, each server sees the result so far', async () => {
    await assert.rejects(connectClient(b.port, { username: 'u-deny2' }), /authorized/i);
    const c = await connectClient(b.port, { username: 'u-allow' });
    await end(c);
    const seen = s2.of('OnClientAuthenticate').find((r) => obj(r.clientinfo).username === 'u-deny2')!;
    assert.equal(seen.result, true);
  });

  it('skips a server that did not ask for the hook or whose filters do not match, even with deny', async () => {
    // pubonly comes first with failed_action=deny and wants only message.publish on elsewhere/#. In EMQX
    // it would deny every login and stop every chain/# publish; in Hermod it is simply not asked.
    const c = await connectClient(b.port, { username: 'anyone' });
    await end(c);
    assert.equal(await roundTrip('chain/cont', 'w'), 'w-s1-s2');
    assert.equal(pubonly.of('OnMessagePublish').length, 0);
    assert.equal(await roundTrip('elsewhere/1', 'e'), 'e');
    assert.equal(pubonly.of('OnMessagePublish').length, 1);
  });

  it('calls the servers in the new order after the list is reordered', async () => {
    const raw = b.node.configService.getRaw('exhook') as { servers: Obj[] };
    const [first, a, c] = raw.servers;
    await b.node.configService.update('exhook', { servers: [first, c, a] });
    assert.deepEqual(
      b.node.exhook.servers().map((s) => s.name),
      ['pubonly', 's2', 's1'],
    );
    // Reordering does not reload a server.
    assert.equal(s1.of('OnProviderLoaded').length, 1);
    assert.equal(await roundTrip('chain/cont', 'v'), 'v-s2-s1');
  });
});
