import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from './http.js';

describe('management API: clients, subscriptions, topics', () => {
  let b: TestBroker;
  let api: ApiClient;

  before(async () => {
    b = await startBroker({ api: true, config: { mqtt: { max_inflight: 2 } } });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('lists clients with EMQX fields and every filter', async () => {
    const a = await connectClient(b.port, {
      clientId: 'flt-a',
      username: 'alice',
      protocolVersion: 5,
      keepalive: 30,
    });
    const c = await connectClient(b.port, { clientId: 'flt-b', username: 'bob', clean: true });
    const all = await api.get('/clients');
    assert.equal(all.status, 200);
    assert.equal(all.body.meta.count, 2);
    const ca = all.body.data.find((x: { clientid: string }) => x.clientid === 'flt-a');
    assert.equal(ca.username, 'alice');
    assert.equal(ca.proto_ver, 5);
    assert.equal(ca.proto_name, 'MQTT');
    assert.equal(ca.keepalive, 30);
    assert.equal(ca.connected, true);
    assert.equal(ca.ip_address, '127.0.0.1');
    assert.equal(ca.node, 'hermod@127.0.0.1');
    assert.equal(ca.listener, 'tcp:default');
    assert.match(ca.connected_at, /^\d{4}-\d\d-\d\dT/);
    assert.ok(ca.recv_oct > 0);

    const ids = async (q: string) =>
      ((await api.get(`/clients?${q}`)).body.data as Array<{ clientid: string }>)
        .map((x) => x.clientid)
        .sort();
    assert.deepEqual(await ids('clientid=flt-a'), ['flt-a']);
    assert.deepEqual(await ids('clientid=flt-a&clientid=flt-b'), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids('username=bob'), ['flt-b']);
    assert.deepEqual(await ids('like_clientid=lt-'), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids('like_username=lic'), ['flt-a']);
    assert.deepEqual(await ids('proto_ver=5'), ['flt-a']);
    assert.deepEqual(await ids('proto_ver=4'), ['flt-b']);
    assert.deepEqual(await ids('ip_address=127.0.0.1'), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids('ip_address=10.0.0.1'), []);
    assert.deepEqual(await ids('conn_state=connected'), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids('conn_state=disconnected'), []);
    assert.deepEqual(await ids('clean_start=true'), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids('node=other@node'), []);
    const future = Date.now() + 60_000;
    assert.deepEqual(await ids(`gte_connected_at=${future}`), []);
    assert.deepEqual(await ids(`lte_connected_at=${future}`), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids(`lte_created_at=${new Date(future).toISOString()}`), ['flt-a', 'flt-b']);
    assert.deepEqual(await ids('gte_created_at=2000-01-01T00:00:00Z'), ['flt-a', 'flt-b']);
    assert.equal((await api.get('/clients?gte_created_at=yesterday')).status, 400);
    assert.equal((await api.get('/clients?conn_state=sleeping')).status, 400);
    const some = await api.get('/clients?clientid=flt-a&fields=clientid,username');
    assert.deepEqual(some.body.data[0], { clientid: 'flt-a', username: 'alice' });
    await Promise.all([end(a), end(c)]);
  });

  it('an offline session shows its last connection (after a takeover too), connected_at as when it connected', async () => {
    const opts = { clientId: 'last-1', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connectClient(b.port, { ...opts, protocolVersion: 5, keepalive: 30 });
    await sleep(30);
    const t0 = Date.now();
    const second = await connectClient(b.port, { ...opts, protocolVersion: 5, keepalive: 45 });
    const t1 = Date.now();
    await sleep(50);
    const live = await api.get('/clients/last-1');
    assert.equal(live.body.connected, true);
    assert.equal(live.body.keepalive, 45, 'the connection that took the session over');
    const at = Date.parse(live.body.connected_at);
    // connected_at is shown to the second (EMQX's format); the takeover happened between t0 and t1.
    assert.ok(
      at >= Math.floor(t0 / 1000) * 1000 && at <= t1,
      `${live.body.connected_at} within the takeover`,
    );
    await end(second);
    first.end(true);
    await sleep(50);
    const offline = await api.get('/clients/last-1');
    assert.equal(offline.body.connected, false);
    assert.equal(offline.body.keepalive, 45, 'the last connection, not the one taken over');
    assert.equal(offline.body.connected_at, live.body.connected_at);
    assert.ok(Date.parse(offline.body.disconnected_at) >= at);
    assert.equal((await api.del('/clients/last-1')).status, 204);
  });

  it('paginates: pages, page beyond the end, limit 0 and too large', async () => {
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(await connectClient(b.port, { clientId: `pg-${i}` }));
    const p1 = await api.get('/clients?like_clientid=pg-&limit=2&page=1');
    assert.deepEqual(p1.body.meta, { page: 1, limit: 2, count: 5, hasnext: true });
    assert.equal(p1.body.data.length, 2);
    const p3 = await api.get('/clients?like_clientid=pg-&limit=2&page=3');
    assert.equal(p3.body.data.length, 1);
    assert.equal(p3.body.meta.hasnext, false);
    const beyond = await api.get('/clients?like_clientid=pg-&limit=2&page=9');
    assert.deepEqual(beyond.body, { data: [], meta: { page: 9, limit: 2, count: 5, hasnext: false } });
    for (const q of ['limit=0', 'limit=10001', 'page=0', 'limit=abc']) {
      const r = await api.get(`/clients?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.code, 'BAD_REQUEST');
      assert.match(r.body.message, /limit|page/);
    }
    assert.equal((await api.get('/clients?limit=10000')).status, 200);
    await Promise.all(clients.map((c) => end(c)));
  });

  it('gets one client, 404 CLIENTID_NOT_FOUND for an unknown one, and shows offline persistent sessions', async () => {
    const c = await connectClient(b.port, {
      clientId: 'one-1',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await subscribe(c, 'one/t', { qos: 1 });
    await publish(c, 'one/t', 'x', { qos: 1 });
    await publish(c, 'one/u', 'y', { qos: 0 });
    await sleep(50);
    const r = await api.get('/clients/one-1');
    assert.equal(r.status, 200);
    assert.equal(r.body.clientid, 'one-1');
    // Per-client counters: two publishes in (QoS 1 and 0), the QoS 1 one delivered back to itself.
    assert.deepEqual(
      [
        r.body.recv_msg,
        r.body['recv_msg.qos0'],
        r.body['recv_msg.qos1'],
        r.body.send_msg,
        r.body['send_msg.qos1'],
      ],
      [2, 1, 1, 1, 1],
    );
    assert.ok(r.body.recv_pkt >= 4 && r.body.send_pkt >= 4);
    assert.equal(r.body.expiry_interval, 60);
    assert.equal(r.body.is_persistent, true);
    const missing = await api.get('/clients/nobody');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { code: 'CLIENTID_NOT_FOUND', message: 'Client ID not found' });
    await end(c);
    await sleep(50);
    const offline = await api.get('/clients/one-1');
    assert.equal(offline.body.connected, false);
    assert.equal(offline.body.proto_ver, 5);
    assert.match(offline.body.disconnected_at, /^\d{4}-/);
    const ids = (await api.get('/clients?conn_state=disconnected')).body.data.map(
      (x: { clientid: string }) => x.clientid,
    );
    assert.deepEqual(ids, ['one-1']);
    assert.equal((await api.del('/clients/one-1')).status, 204, 'kicking an offline session discards it');
    assert.equal((await api.get('/clients/one-1')).status, 404);
  });

  it('kicks a client (MQTT 5 DISCONNECT 0x98) and several at once', async () => {
    const c = await connectClient(b.port, { clientId: 'kick-1', protocolVersion: 5 });
    const gone = new Promise<number | undefined>((resolve) =>
      c.once('disconnect', (p) => resolve(p.reasonCode)),
    );
    assert.equal((await api.del('/clients/kick-1')).status, 204);
    assert.equal(await gone, 0x98);
    assert.equal((await api.del('/clients/kick-1')).status, 404);
    const x = await connectClient(b.port, { clientId: 'bulk-1' });
    const y = await connectClient(b.port, { clientId: 'bulk-2' });
    const closed = Promise.all([x, y].map((m) => new Promise<void>((r) => m.once('close', () => r()))));
    assert.equal((await api.post('/clients/kickout/bulk', ['bulk-1', 'bulk-2', 'nobody'])).status, 204);
    await closed;
    assert.equal((await api.get('/clients?like_clientid=bulk-')).body.meta.count, 0);
    assert.equal((await api.post('/clients/kickout/bulk', [])).status, 400);
    assert.equal((await api.post('/clients/kickout/bulk', { clientid: 'x' })).status, 400);
  });

  it('subscribes and unsubscribes a client through the API (messages really flow)', async () => {
    const c = await connectClient(b.port, { clientId: 'api-sub', protocolVersion: 5 });
    const got = collect(c);
    const s = await api.post('/clients/api-sub/subscribe', { topic: 'api/t/+', qos: 1 });
    assert.equal(s.status, 200);
    assert.deepEqual(s.body, {
      clientid: 'api-sub',
      topic: 'api/t/+',
      qos: 1,
      nl: 0,
      rap: 0,
      rh: 0,
      node: 'hermod@127.0.0.1',
    });
    const bulk = await api.post('/clients/api-sub/subscribe/bulk', [
      { topic: 'api/x' },
      { topic: '$share/g/api/y', qos: 2 },
    ]);
    assert.equal(bulk.body.length, 2);
    const subs = await api.get('/clients/api-sub/subscriptions');
    assert.deepEqual(subs.body.map((x: { topic: string }) => x.topic).sort(), [
      '$share/g/api/y',
      'api/t/+',
      'api/x',
    ]);
    const pub = await connectClient(b.port);
    await publish(pub, 'api/t/1', 'hello', { qos: 1 });
    const [m] = await got.next(1);
    assert.equal(m!.topic, 'api/t/1');

    assert.equal((await api.post('/clients/api-sub/subscribe', { qos: 1 })).status, 400, 'missing topic');
    const badTopic = await api.post('/clients/api-sub/subscribe', { topic: 'a/#/b' });
    assert.equal(badTopic.status, 400);
    const badQos = await api.post('/clients/api-sub/subscribe', { topic: 'a', qos: 3 });
    assert.equal(badQos.status, 400);
    assert.match(badQos.body.message, /qos/);
    const nl = await api.post('/clients/api-sub/subscribe', { topic: '$share/g/z', nl: 1 });
    assert.equal(nl.body.code, 'INVALID_PARAMETER');
    assert.equal((await api.post('/clients/nobody/subscribe', { topic: 'a' })).status, 404);

    assert.equal((await api.post('/clients/api-sub/unsubscribe', { topic: 'api/t/+' })).status, 204);
    assert.equal(
      (await api.post('/clients/api-sub/unsubscribe/bulk', [{ topic: 'api/x' }, { topic: '$share/g/api/y' }]))
        .status,
      204,
    );
    assert.deepEqual((await api.get('/clients/api-sub/subscriptions')).body, []);
    await publish(pub, 'api/t/1', 'again', { qos: 1 });
    await sleep(100);
    assert.equal(got.messages.length, 1);
    assert.equal((await api.post('/clients/nobody/unsubscribe', { topic: 'a' })).status, 404);
    await Promise.all([end(c), end(pub)]);
  });

  it('lists subscriptions with filters, and routes (topics)', async () => {
    const c1 = await connectClient(b.port, { clientId: 'sl-1' });
    const c2 = await connectClient(b.port, { clientId: 'sl-2' });
    await subscribe(c1, ['sl/a', 'sl/+/c'], { qos: 1 });
    await subscribe(c2, '$share/grp/sl/a', { qos: 0 });
    const topicsOf = async (q: string) =>
      ((await api.get(`/subscriptions?${q}`)).body.data as Array<{ clientid: string; topic: string }>)
        .map((s) => `${s.clientid}:${s.topic}`)
        .sort();
    assert.deepEqual(await topicsOf('clientid=sl-1'), ['sl-1:sl/+/c', 'sl-1:sl/a']);
    assert.deepEqual(await topicsOf('topic=sl/a'), ['sl-1:sl/a']);
    assert.deepEqual(await topicsOf('qos=0'), ['sl-2:$share/grp/sl/a']);
    assert.deepEqual(await topicsOf('share_group=grp'), ['sl-2:$share/grp/sl/a']);
    assert.deepEqual(await topicsOf('match_topic=sl/%23'), [
      'sl-1:sl/+/c',
      'sl-1:sl/a',
      'sl-2:$share/grp/sl/a',
    ]);
    assert.deepEqual(await topicsOf('match_topic=sl/a'), ['sl-1:sl/a', 'sl-2:$share/grp/sl/a']);
    assert.deepEqual(await topicsOf('durable=true'), []);
    const one = (await api.get('/subscriptions?clientid=sl-1&topic=sl/a')).body.data[0];
    assert.deepEqual(one, {
      clientid: 'sl-1',
      topic: 'sl/a',
      qos: 1,
      nl: 0,
      rap: 0,
      rh: 0,
      node: 'hermod@127.0.0.1',
      durable: false,
    });

    const routes = await api.get('/topics');
    const names = routes.body.data.map((r: { topic: string }) => r.topic);
    assert.ok(names.includes('sl/a') && names.includes('sl/+/c'));
    assert.deepEqual((await api.get('/topics?topic=sl/a')).body.data, [
      { topic: 'sl/a', node: 'hermod@127.0.0.1' },
    ]);
    const t = await api.get(`/topics/${encodeURIComponent('sl/+/c')}`);
    assert.deepEqual(t.body, [{ topic: 'sl/+/c', node: 'hermod@127.0.0.1' }]);
    const nf = await api.get('/topics/none%2Fhere');
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 'TOPIC_NOT_FOUND');
    await Promise.all([end(c1), end(c2)]);
  });

  it('shows queued and inflight messages with cursor pagination', async () => {
    // max_inflight 2: the third QoS 1 message waits in the queue while the client does not acknowledge.
    const c = await connectClient(b.port, { clientId: 'slow', protocolVersion: 5 });
    (c as unknown as { handleMessage: (p: unknown, cb: () => void) => void }).handleMessage = () => {};
    await subscribe(c, 'q/#', { qos: 1 });
    const pub = await connectClient(b.port);
    for (let i = 0; i < 5; i++) await publish(pub, `q/${i}`, `payload-${i}`, { qos: 1 });
    await sleep(100);
    const inflight = await api.get('/clients/slow/inflight_messages');
    assert.equal(inflight.status, 200);
    assert.equal(inflight.body.data.length, 2);
    assert.equal(inflight.body.data[0].topic, 'q/0');
    assert.equal(Buffer.from(inflight.body.data[0].payload, 'base64').toString(), 'payload-0');
    const q1 = await api.get('/clients/slow/mqueue_messages?limit=2&payload=plain');
    assert.deepEqual(
      q1.body.data.map((m: { topic: string }) => m.topic),
      ['q/2', 'q/3'],
    );
    assert.equal(q1.body.data[0].payload, 'payload-2');
    assert.equal(q1.body.data[0].mqueue_priority, 0);
    assert.equal(typeof q1.body.meta.position, 'string');
    const q2 = await api.get(`/clients/slow/mqueue_messages?limit=2&position=${q1.body.meta.position}`);
    assert.deepEqual(
      q2.body.data.map((m: { topic: string }) => m.topic),
      ['q/4'],
    );
    const q3 = await api.get(`/clients/slow/mqueue_messages?position=${q2.body.meta.position}`);
    assert.deepEqual(q3.body.data, []);
    const none = await api.get('/clients/slow/mqueue_messages?payload=none&limit=1');
    assert.equal(none.body.data[0].payload, undefined);
    assert.equal((await api.get('/clients/slow/mqueue_messages?limit=0')).status, 400);
    assert.equal((await api.get('/clients/nobody/inflight_messages')).status, 404);
    await Promise.all([end(c, true), end(pub)]);
  });

  it('changes keepalive, reads and cleans the authorization cache, counts sessions', async () => {
    const c = await connectClient(b.port, { clientId: 'ka-1', keepalive: 60 });
    const r = await api.put('/clients/ka-1/keepalive', { interval: 10 });
    assert.equal(r.status, 200);
    assert.equal(r.body.keepalive, 10);
    assert.equal((await api.put('/clients/ka-1/keepalive', { interval: 70000 })).status, 400);
    assert.equal((await api.put('/clients/ka-1/keepalive', {})).status, 400);
    assert.equal((await api.put('/clients/nobody/keepalive', { interval: 5 })).status, 404);
    const cache = await api.get('/clients/ka-1/authorization/cache');
    assert.equal(cache.status, 200);
    assert.ok(Array.isArray(cache.body));
    assert.equal((await api.del('/clients/ka-1/authorization/cache')).status, 204);
    assert.equal((await api.get('/clients/nobody/authorization/cache')).status, 404);
    const count = await api.get('/sessions_count');
    assert.equal(typeof count.body, 'number');
    assert.ok(count.body >= 1);
    await end(c);
  });
});
