/**
 * Every hook reaches a real ExHook server with its fields filled as EMQX fills them: ClientInfo, ConnInfo,
 * Message, properties, topic filters, RequestMeta, BrokerInfo; `$SYS` messages never go out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HookPoint } from '../../src/broker/hooks.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type Request, TestProvider } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

describe('exhook: every hook with its fields', () => {
  let b: TestBroker;
  let p: TestProvider;
  before(async () => {
    p = await TestProvider.start();
    b = await startBroker({
      config: {
        exhook: { servers: [{ name: 'all', url: p.url, auto_reconnect: '1s', pool_size: 2 }] },
        // $SYS event messages on: they go through message.publish and must never reach the server.
        sys_topics: { sys_event_messages: { client_connected: true, client_disconnected: true } },
      },
    });
    const rec = (point: HookPoint, rpc: string) =>
      b.node.hooks.add(
        point,
        ((...args: unknown[]) => {
          fired.push({ rpc, clientid: String(obj(args[0]).clientid) });
          return undefined;
        }) as never,
        1,
      );
    rec('client.connect', 'OnClientConnect');
    rec('client.authenticate', 'OnClientAuthenticate');
    rec('client.connack', 'OnClientConnack');
    rec('client.connected', 'OnClientConnected');
    rec('session.created', 'OnSessionCreated');
  });
  after(async () => {
    await b.stop();
    await p.stop();
  });

  /** The rpcs of the hooks the broker fired for a client, in firing order (recorded after ExHook's callback). */
  const fired: Array<{ rpc: string; clientid: string }> = [];
  const firedFor = (id: string) => fired.filter((f) => f.clientid === id).map((f) => f.rpc);
  const forClient = (id: string) => (r: Request) => obj(r.clientinfo ?? r.conninfo ?? {}).clientid === id;

  it('loads with BrokerInfo and RequestMeta and reports connected', async () => {
    const loaded = p.of('OnProviderLoaded')[0]!;
    const broker = obj(loaded.broker);
    assert.match(String(broker.version), /^\d+\.\d+\.\d+/);
    assert.equal(typeof broker.sysdescr, 'string');
    assert.ok(Number(broker.uptime) >= 0);
    assert.ok(!Number.isNaN(Date.parse(String(broker.datetime))));
    assert.deepEqual(Object.keys(obj(loaded.meta)).sort(), ['cluster_name', 'node', 'sysdescr', 'version']);
    assert.equal(obj(loaded.meta).node, 'hermod@127.0.0.1');
    const s = b.node.exhook.server('all')!;
    assert.equal(s.status, 'connected');
    assert.equal(s.version, 'v3');
  });

  it('sends the connect sequence with ConnInfo, ClientInfo, password and properties', async () => {
    const c = await connectClient(b.port, {
      clientId: 'hk-1',
      username: 'alice',
      password: 'secret',
      protocolVersion: 5,
      properties: { receiveMaximum: 100, userProperties: { region: 'eu' } },
    });
    const connect = await p.waitFor('OnClientConnect', forClient('hk-1'));
    const ci = obj(connect.conninfo);
    assert.equal(ci.node, 'hermod@127.0.0.1');
    assert.equal(ci.username, 'alice');
    assert.equal(ci.peerhost, '127.0.0.1');
    assert.equal(ci.sockport, b.port);
    assert.ok(Number(ci.peerport) > 0);
    assert.equal(ci.proto_name, 'MQTT');
    assert.equal(ci.proto_ver, '5');
    assert.equal(ci.keepalive, 60);
    assert.deepEqual(connect.props, [{ name: 'Receive-Maximum', value: '100' }]);
    assert.deepEqual(connect.user_props, [{ name: 'region', value: 'eu' }]);
    assert.equal(obj(connect.meta).node, 'hermod@127.0.0.1');

    const auth = await p.waitFor('OnClientAuthenticate', forClient('hk-1'));
    const aci = obj(auth.clientinfo);
    assert.equal(aci.password, 'secret');
    assert.equal(aci.username, 'alice');
    assert.equal(aci.protocol, 'mqtt');
    assert.equal(aci.mountpoint, '');
    assert.equal(aci.is_superuser, false);
    assert.equal(aci.anonymous, false);
    assert.equal(aci.cn, '');
    assert.equal(aci.dn, '');
    assert.equal(auth.result, false);

    const connack = await p.waitFor('OnClientConnack', forClient('hk-1'));
    assert.equal(connack.result_code, 'success');
    const connected = await p.waitFor('OnClientConnected', forClient('hk-1'));
    // The password is shown to client.authenticate only.
    assert.equal(obj(connected.clientinfo).password, '');
    await p.waitFor('OnSessionCreated', forClient('hk-1'));

    // The server receives a client's calls in the order the broker fired the hooks.
    const fired = firedFor('hk-1');
    const received = p.calls.filter((x) => forClient('hk-1')(x.req)).map((x) => x.rpc);
    assert.deepEqual(received.slice(0, fired.length), fired);
    assert.equal(fired[0], 'OnClientConnect');
    assert.equal(fired[1], 'OnClientAuthenticate');
    await end(c);
    const disc = await p.waitFor('OnClientDisconnected', forClient('hk-1'));
    assert.equal(disc.reason, 'normal');
    const term = await p.waitFor('OnSessionTerminated', forClient('hk-1'));
    assert.equal(typeof term.reason, 'string');
  });

  it('sends subscribe, authorize, session.subscribed with $share topics and SubOpts', async () => {
    const c = await connectClient(b.port, { clientId: 'hk-2', protocolVersion: 5 });
    await subscribe(c, '$share/g1/sensors/+', {
      qos: 1,
      nl: false,
      rap: true,
      rh: 2,
      properties: { userProperties: { why: 'test' } },
    } as never);
    const sub = await p.waitFor('OnClientSubscribe', forClient('hk-2'));
    assert.deepEqual(sub.topic_filters, [
      { name: '$share/g1/sensors/+', subopts: { qos: 1, rh: 2, rap: 1, nl: 0 } },
    ]);
    assert.deepEqual(sub.user_props, [{ name: 'why', value: 'test' }]);
    assert.deepEqual(sub.props, []);
    const authz = await p.waitFor('OnClientAuthorize', forClient('hk-2'));
    assert.equal(authz.type, 'SUBSCRIBE');
    // The real topic of a shared subscription.
    assert.equal(authz.topic, 'sensors/+');
    assert.equal(authz.result, true);
    const subscribed = await p.waitFor('OnSessionSubscribed', forClient('hk-2'));
    assert.equal(subscribed.topic, '$share/g1/sensors/+');
    assert.deepEqual(subscribed.subopts, { qos: 1, rh: 2, rap: 1, nl: 0 });
    await new Promise<void>((resolve, reject) =>
      c.unsubscribe('$share/g1/sensors/+', (err) => (err ? reject(err) : resolve())),
    );
    const unsub = await p.waitFor('OnClientUnsubscribe', forClient('hk-2'));
    assert.equal(obj((unsub.topic_filters as Obj[])[0]).name, '$share/g1/sensors/+');
    const unsubscribed = await p.waitFor('OnSessionUnsubscribed', forClient('hk-2'));
    assert.equal(unsubscribed.topic, '$share/g1/sensors/+');
    await end(c);
  });

  it('sends message.publish, delivered, acked and dropped with the whole Message', async () => {
    const sub = await connectClient(b.port, { clientId: 'hk-sub', protocolVersion: 5 });
    const got = collect(sub);
    await subscribe(sub, 'm/#', { qos: 1 });
    const pub = await connectClient(b.port, { clientId: 'hk-pub', username: 'bob', protocolVersion: 5 });
    await publish(pub, 'm/1', 'hello', {
      qos: 1,
      properties: { contentType: 'text/plain', userProperties: { k: 'v' } },
    });
    await got.next(1);
    const req = await p.waitFor('OnMessagePublish', (r) => obj(r.message).topic === 'm/1');
    const m = obj(req.message);
    assert.equal(m.node, 'hermod@127.0.0.1');
    assert.match(String(m.id), /^[0-9a-f]{32}$/);
    assert.equal(m.qos, 1);
    assert.equal(m.from, 'hk-pub');
    assert.equal(Buffer.from(m.payload as Buffer).toString(), 'hello');
    assert.ok(Math.abs(Number(m.timestamp) - Date.now()) < 60_000);
    assert.deepEqual(m.headers, { username: 'bob', protocol: 'mqtt', peerhost: '127.0.0.1' });
    assert.deepEqual(req.props, [{ name: 'Content-Type', value: 'text/plain' }]);
    assert.deepEqual(req.user_props, [{ name: 'k', value: 'v' }]);

    const delivered = await p.waitFor('OnMessageDelivered', forClient('hk-sub'));
    assert.equal(obj(delivered.message).topic, 'm/1');
    assert.equal(obj(delivered.message).id, m.id);
    const acked = await p.waitFor('OnMessageAcked', forClient('hk-sub'));
    assert.equal(obj(acked.message).id, m.id);

    await publish(pub, 'nobody/here', 'x', { qos: 0 });
    const dropped = await p.waitFor('OnMessageDropped', (r) => obj(r.message).topic === 'nobody/here');
    assert.equal(dropped.reason, 'no_subscribers');
    assert.equal(obj(dropped.message).from, 'hk-pub');
    await end(pub);
    await end(sub);
  });

  it('sends session.discarded, takenover and resumed', async () => {
    const a = await connectClient(b.port, { clientId: 'hk-3', clean: false, protocolVersion: 4 });
    const a2 = await connectClient(b.port, { clientId: 'hk-3', clean: false, protocolVersion: 4 });
    await p.waitFor('OnSessionTakenover', forClient('hk-3'));
    await p.waitFor('OnSessionResumed', forClient('hk-3'));
    const a3 = await connectClient(b.port, { clientId: 'hk-3', clean: true, protocolVersion: 4 });
    await p.waitFor('OnSessionDiscarded', forClient('hk-3'));
    for (const c of [a, a2, a3]) await end(c, true);
  });

  it('never sends $SYS messages', async () => {
    const all = p.calls.filter((c) => c.rpc.startsWith('OnMessage'));
    assert.ok(all.length > 0);
    for (const c of all)
      assert.ok(!String(obj(c.req.message).topic).startsWith('$SYS'), String(obj(c.req.message).topic));
  });

  it('counts calls per server and per hook', () => {
    const s = b.node.exhook.server('all')!;
    assert.ok(s.metrics.hook('client.connect').succeed >= 3);
    assert.equal(s.metrics.hook('client.connect').failed, 0);
    assert.ok(s.metrics.total.succeed >= s.metrics.hook('client.connect').succeed);
  });
});
