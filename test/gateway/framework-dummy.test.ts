/**
 * The gateway framework through a dummy gateway module, without a node or sockets: logins with and
 * without a broker session, keyed data timers, calls served in the connection's queue, the gateway's own
 * API routes (Fastify inject) and the catalogue the config layer composes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fastify from 'fastify';
import { Message } from '../../src/broker/message.js';
import { RootSchema } from '../../src/config/schema/index.js';
import { GATEWAY_CATALOG } from '../../src/gateway/catalog.js';
import { gatewayClientRoutes } from '../../src/mgmt/api/gateways-clients.js';
import { mountGatewayRoutes } from '../../src/mgmt/api/gateways-routes.js';
import { nodeAnswers } from '../../src/mgmt/node-answers.js';
import { openPeers } from '../../src/mgmt/peers.js';
import type { MgmtNode, MgmtPlane, TypeBoxProvider } from '../../src/mgmt/types.js';
import type { MemoryPeer } from '../helpers/memory-connection.js';
import { bareGateway } from './bare-gateway.js';
import { dummyGateway, dummyGatewayWithoutCalls, gates } from './dummy-gateway.js';
import { until } from './helpers.js';

/** Every line the server sent so far. */
function lines(peer: MemoryPeer): string[] {
  return Buffer.concat(peer.received)
    .toString()
    .split('\n')
    .filter((l) => l !== '');
}

/** Waits until the server sent a line starting with `prefix`; returns it. */
async function line(peer: MemoryPeer, prefix: string): Promise<string> {
  for (;;) {
    const hit = lines(peer).find((l) => l.startsWith(prefix));
    if (hit !== undefined) return hit;
    await peer.receivedAtLeast(peer.received.length + 1);
  }
}

type Bare = ReturnType<typeof bareGateway>;

describe('gateway framework with a dummy gateway (no node, no sockets)', () => {
  let b: Bare;
  before(() => {
    b = bareGateway(dummyGateway);
  });
  after(() => b.stop());

  it('a broker-session login is a registered client that receives what it subscribed to', async () => {
    const { peer } = b.connect();
    peer.write('CONNECT with-session\nSUB news/#\n');
    await line(peer, 'SUBACK news/#');
    assert.ok(b.env.broker.registry.get('dummy', 'with-session') !== undefined);
    b.env.broker.publish(new Message('news/1', Buffer.from('hello'), 0, 'someone', false));
    assert.equal(await line(peer, 'MSG'), 'MSG news/1 hello');
  });

  it('a sessionless login may publish but has no session, no registry entry and no subscriptions', async () => {
    const { peer: listener } = b.connect();
    listener.write('CONNECT listener\nSUB up/#\n');
    await line(listener, 'SUBACK');
    const { peer } = b.connect('datagram');
    peer.write('CONNECT device nosession\n');
    await line(peer, 'CONNACK');
    assert.equal(b.env.broker.registry.get('dummy', 'device'), undefined);
    assert.equal(b.gw.connection('device')?.clientid, 'device');
    peer.write('PUB up/temp 21\n');
    assert.equal(await line(peer, 'PUBACK'), 'PUBACK ok');
    assert.equal(await line(listener, 'MSG'), 'MSG up/temp 21');
    peer.write('SUB x\n');
    assert.equal(await line(peer, 'SUBERR'), 'SUBERR no session to subscribe');
    // Kicked through the gateway's clients although the broker registry does not know it.
    assert.equal(b.gw.clients.kick('device'), true);
    assert.equal(await line(peer, 'BYE'), 'BYE kicked');
    await peer.closed;
    assert.equal(b.gw.connection('device'), undefined);
  });

  it('the clients API lists a sessionless client like any other, and finds it by id', async () => {
    const { peer: withSession } = b.connect();
    withSession.write('CONNECT listed-session\n');
    await line(withSession, 'CONNACK');
    const { peer } = b.connect('datagram');
    peer.write('CONNECT listed-nosession nosession\n');
    await line(peer, 'CONNACK');
    // The management plane as the clients routes read it: the node's gateway registry, with this gateway.
    const node = {
      name: 'dummy@127.0.0.1',
      config: { cluster: { name: 'alone' } },
      gateways: {
        module: (n: string) => (n === 'dummy' ? dummyGateway : undefined),
        modules: () => [dummyGateway],
        get: (n: string) => (n === 'dummy' ? b.gw : undefined),
      },
    } as unknown as MgmtNode;
    // The list is paged across the node's peers: on a node without a cluster, itself alone.
    const plane = { node } as unknown as MgmtPlane;
    Object.assign(plane, {
      peers: openPeers(
        node,
        nodeAnswers(() => plane),
      ).peers,
    });
    const app = fastify().withTypeProvider<TypeBoxProvider>();
    gatewayClientRoutes(app, plane);
    const ids = async (query: string) => {
      const res = await app.inject({ url: `/gateways/dummy/clients${query}` });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data.map((c: { clientid: string }) => c.clientid);
    };
    const all = await ids('');
    assert.ok(all.includes('listed-session'), all.join());
    assert.ok(all.includes('listed-nosession'), all.join());
    assert.deepEqual(await ids('?like_clientid=listed-no&conn_state=connected'), ['listed-nosession']);
    const one = await app.inject({ url: '/gateways/dummy/clients/listed-nosession' });
    assert.equal(one.statusCode, 200, one.body);
    assert.equal(one.json().connected, true);
    assert.equal(one.json().proto_name, 'DUMMY');
    assert.equal(one.json().subscriptions_cnt, 0);
    const subs = await app.inject({ url: '/gateways/dummy/clients/listed-nosession/subscriptions' });
    assert.deepEqual(subs.json(), []);
    peer.end();
    await until(() => b.gw.connection('listed-nosession') === undefined, 5000, 'client gone');
    assert.deepEqual(await ids('?like_clientid=listed-no'), []);
    await app.close();
  });

  it('timers carry data, and timers of one name are told apart by key', async () => {
    const { peer } = b.connect();
    peer.write('CONNECT timers\n');
    await line(peer, 'CONNACK');
    // Key a is cancelled before it can fire; b and c run side by side under the same name.
    peer.write('TIMER retransmit a 1 first\nCANCEL retransmit a\nTIMER retransmit b 5 second\n');
    peer.write('TIMER retransmit c 5 third\n');
    await line(peer, 'FIRED retransmit second');
    await line(peer, 'FIRED retransmit third');
    assert.deepEqual(
      lines(peer).filter((l) => l.startsWith('FIRED')),
      ['FIRED retransmit second', 'FIRED retransmit third'],
    );
  });

  it('a call waits for the step the connection is in, then its replies are carried out', async () => {
    const { peer } = b.connect();
    peer.write('CONNECT caller\nWAIT g1\n');
    await line(peer, 'CONNACK');
    const conn = b.gw.connection('caller')!;
    const answer = conn.call({ type: 'command', name: 'echo', data: 'ping' });
    let settled = false;
    void answer.then(() => {
      settled = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'the call must not run beside a pending asynchronous step');
    gates.get('g1')!();
    assert.deepEqual(await answer, { ok: true, data: 'ping' });
    const order = lines(peer).filter((l) => l.startsWith('DONE') || l.startsWith('CALL'));
    assert.deepEqual(order, ['DONE g1', 'CALL ping']);
    assert.deepEqual(await conn.call({ type: 'command', name: 'nope' }), {
      ok: false,
      status: 400,
      message: 'no command nope',
    });
  });

  it('a call on a connection that closes while it waits answers 404', async () => {
    const { peer } = b.connect();
    peer.write('CONNECT leaving\nWAIT g2\n');
    await line(peer, 'CONNACK');
    const answer = b.gw.connection('leaving')!.call({ type: 'command', name: 'echo', data: 'x' });
    peer.end();
    assert.deepEqual(await answer, { ok: false, status: 404, message: 'client process not found' });
  });

  it('API subscriptions go through call() and reach the session', async () => {
    const { peer } = b.connect();
    peer.write('CONNECT api-sub\n');
    await line(peer, 'CONNACK');
    const r = b.gw.clients.get('api-sub')!;
    const res = await b.gw.clients.subscribe(r, 'cmd/#', { qos: 0, nl: 0, rap: 0, rh: 0 }, {});
    assert.equal(res.ok, true);
    assert.deepEqual(b.gw.clients.subscriptions(r), [{ topic: 'cmd/#', qos: 0, nl: 0, rap: 0, rh: 0 }]);
    b.env.broker.publish(new Message('cmd/reboot', Buffer.from('now'), 0, 'api', false));
    assert.equal(await line(peer, 'MSG'), 'MSG cmd/reboot now');
  });

  it("the gateway's own routes are mounted under /gateways/<name> and reach a client by id", async () => {
    const { peer } = b.connect();
    peer.write('CONNECT routed\n');
    await line(peer, 'CONNACK');
    const app = fastify().withTypeProvider<TypeBoxProvider>();
    let running = true;
    await mountGatewayRoutes(app, [dummyGateway], (name) =>
      running && name === 'dummy' ? b.gw.runtime() : undefined,
    );
    const ok = await app.inject({ url: '/gateways/dummy/clients/routed/echo?text=hi' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { echo: 'hi' });
    assert.equal(await line(peer, 'CALL'), 'CALL hi');
    const unknown = await app.inject({ url: '/gateways/dummy/clients/nobody/echo' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'CLIENT_NOT_FOUND');
    running = false;
    assert.equal((await app.inject({ url: '/gateways/dummy/clients/routed/echo' })).statusCode, 404);
    await app.close();
  });
});

describe('calls on a channel without handleCall', () => {
  let b: Bare;
  before(() => {
    b = bareGateway(dummyGatewayWithoutCalls);
  });
  after(() => b.stop());

  it('the framework subscribes and unsubscribes through the context and refuses commands', async () => {
    const { peer } = b.connect();
    peer.write('CONNECT plain\n');
    await line(peer, 'CONNACK');
    const conn = b.gw.connection('plain')!;
    const opts = { qos: 1 as const, nl: 0 as const, rap: 0 as const, rh: 0 as const };
    assert.deepEqual(await conn.call({ type: 'subscribe', topic: 'a/+', opts, subProps: {} }), {
      ok: true,
      topic: 'a/+',
      opts,
    });
    assert.deepEqual(await conn.call({ type: 'unsubscribe', topic: 'b' }), {
      ok: false,
      status: 404,
      message: 'Subscription not found',
    });
    assert.deepEqual(await conn.call({ type: 'unsubscribe', topic: 'a/+' }), {
      ok: true,
      topic: 'a/+',
      opts,
    });
    assert.equal(b.gw.clients.subscriptions(b.gw.clients.get('plain')!).length, 0);
    const cmd = await conn.call({ type: 'command', name: 'reboot' });
    assert.equal(cmd.ok, false);
  });
});

describe('gateway catalogue', () => {
  it('the config root composes one optional key per catalogued gateway', () => {
    const keys = Object.keys(RootSchema.properties.gateway.properties).sort();
    assert.deepEqual(keys, GATEWAY_CATALOG.map((m) => m.name).sort());
  });

  it('a manifest loads the module that carries its name and schema', async () => {
    for (const m of GATEWAY_CATALOG) {
      const mod = await m.load();
      assert.equal(mod.name, m.name);
      assert.equal(mod.schema, m.schema);
    }
  });
});
