/** The gateway REST API (/api/v5/gateways…) against a live node, with STOMP clients where it matters. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient } from '../helpers/clients.js';
import { readFixture } from '../helpers/fixtures.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { gatewayPort, startStompBroker, until } from './helpers.js';
import { StompRaw } from './stomp-client.js';

const LISTENER = [{ type: 'tcp', name: 'default', bind: '127.0.0.1:0' }];

describe('gateway API: gateways and listeners', () => {
  let b: TestBroker;
  let api: ApiClient;
  const dir = mkdtempSync(join(tmpdir(), 'hermod-gw-api-'));
  before(async () => {
    b = await startBroker({ api: true, dataDir: dir });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every gateway, unloaded at first; status filter; bad names and statuses are 400', async () => {
    const r = await api.get('/gateways');
    assert.equal(r.status, 200);
    const stomp = r.body.find((g: { name: string }) => g.name === 'stomp');
    assert.deepEqual(stomp, { name: 'stomp', status: 'unloaded' });
    assert.equal((await api.get('/gateways?status=running')).body.length, 0);
    assert.ok((await api.get('/gateways?status=unloaded')).body.length >= 1);
    assert.equal((await api.get('/gateways?status=RUNNING')).status, 400);
    assert.equal((await api.get('/gateways?status=nope')).status, 400);
    assert.equal((await api.get('/gateways/nope')).status, 400);
    assert.deepEqual((await api.get('/gateways/stomp')).body, { name: 'stomp', status: 'unloaded' });
    const en = await api.put('/gateways/stomp/enable/true');
    assert.equal(en.status, 404);
    assert.equal(en.body.code, 'RESOURCE_NOT_FOUND');
    assert.equal((await api.get('/gateways/stomp/listeners')).status, 404);
  });

  it('PUT loads a gateway; GET shows config with defaults, timestamps and listeners as an array', async () => {
    const put = await api.put('/gateways/stomp', {
      name: 'ignored',
      listeners: LISTENER,
      frame: { max_headers: 20 },
    });
    assert.equal(put.status, 204, put.text);
    const g = (await api.get('/gateways/stomp')).body;
    assert.equal(g.name, 'stomp');
    assert.equal(g.status, 'running');
    assert.equal(g.enable, true);
    assert.equal(g.idle_timeout, '30s');
    assert.equal(g.frame.max_headers, 20);
    assert.equal(g.frame.max_body_length, 65536);
    assert.equal(g.clientinfo_override.username, '${Packet.headers.login}');
    assert.match(g.created_at, /^\d{4}-/);
    assert.match(g.started_at, /^\d{4}-/);
    assert.equal(g.listeners.length, 1);
    assert.equal(g.listeners[0].id, 'stomp:tcp:default');
    assert.equal(g.listeners[0].max_connections, 1024);
    const { c } = await StompRaw.login(gatewayPort(b.node));
    const list = (await api.get('/gateways')).body.find((x: { name: string }) => x.name === 'stomp');
    assert.equal(list.status, 'running');
    assert.equal(list.current_connections, 1);
    assert.equal(list.max_connections, 1024);
    assert.deepEqual(list.listeners, [
      { id: 'stomp:tcp:default', type: 'tcp', name: 'default', running: true },
    ]);
    assert.equal(list.node_status[0].node, 'hermod@127.0.0.1');
    c.destroy();
  });

  it('PUT on a loaded gateway updates top-level keys (not listeners); bad values and unknown keys are 400', async () => {
    assert.equal((await api.put('/gateways/stomp', { idle_timeout: '10s', listeners: [] })).status, 204);
    const g = (await api.get('/gateways/stomp')).body;
    assert.equal(g.idle_timeout, '10s');
    assert.equal(g.listeners.length, 1);
    const bad = await api.put('/gateways/stomp', { idle_timeout: 'soon' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^Bad config value 'soon' for 'idle_timeout', reason: /);
    const unknown = await api.put('/gateways/stomp', { no_such_key: 1 });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /no_such_key/);
  });

  it('enable/disable toggles the status and closes connections; the deprecated /gateway paths work too', async () => {
    const { c } = await StompRaw.login(gatewayPort(b.node));
    assert.equal((await api.put('/gateways/stomp/enable/false')).status, 204);
    await c.waitClosed();
    let g = (await api.get('/gateway/stomp')).body;
    assert.equal(g.status, 'stopped');
    assert.equal(g.enable, false);
    assert.match(g.stopped_at, /^\d{4}-/);
    assert.equal((await api.put('/gateway/stomp', { enable: true })).status, 204);
    g = (await api.get('/gateways/stomp')).body;
    assert.equal(g.status, 'running');
  });

  it('listeners CRUD with live status; infinity shows in the listener and the overview', async () => {
    const ls = (await api.get('/gateways/stomp/listeners')).body;
    assert.equal(ls.length, 1);
    assert.deepEqual(ls[0].status, { running: true, max_connections: 1024, current_connections: 0 });
    assert.equal(
      (await api.post('/gateways/stomp/listeners', { type: 'tcp', name: 'x' })).body.message,
      'bind is required',
    );
    assert.equal(
      (await api.post('/gateways/stomp/listeners', { type: 'udp', name: 'x', bind: 1 })).status,
      400,
    );
    const created = await api.post('/gateways/stomp/listeners', {
      type: 'tcp',
      name: 'second',
      bind: '127.0.0.1:0',
      max_connections: 'infinity',
      mountpoint: 'second/',
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.id, 'stomp:tcp:second');
    assert.equal(created.body.max_connections, 'infinity');
    assert.equal(created.body.running, true);
    const again = await api.post('/gateways/stomp/listeners', {
      type: 'tcp',
      name: 'second',
      bind: '127.0.0.1:0',
    });
    assert.equal(again.body.message, 'Listener name has occupied');
    const overview = (await api.get('/gateways')).body.find((x: { name: string }) => x.name === 'stomp');
    assert.equal(overview.max_connections, 'infinity');
    const one = await api.get('/gateways/stomp/listeners/stomp:tcp:second');
    assert.equal(one.body.mountpoint, 'second/');
    const upd = await api.put('/gateways/stomp/listeners/stomp:tcp:second', {
      bind: '127.0.0.1:0',
      max_connections: 5,
    });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.max_connections, 5);
    assert.equal((await api.get('/gateways/stomp/listeners/stomp:tcp:nope')).status, 404);
    assert.equal((await api.get('/gateways/stomp/listeners/mqttsn:udp:x')).status, 404);
    assert.equal((await api.del('/gateways/stomp/listeners/stomp:tcp:second')).status, 204);
    assert.equal((await api.del('/gateways/stomp/listeners/stomp:tcp:second')).status, 404);
  });

  it('an ssl listener given PEM contents: the server saves them to files and serves TLS', async () => {
    const r = await api.post('/gateways/stomp/listeners', {
      type: 'ssl',
      name: 'pem',
      bind: '127.0.0.1:0',
      ssl_options: {
        certfile: readFixture('certs', 'server.pem').toString(),
        keyfile: readFixture('certs', 'server.key').toString(),
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.ok(r.body.ssl_options.certfile.startsWith(dir), r.body.ssl_options.certfile);
    assert.ok(existsSync(r.body.ssl_options.keyfile));
    const port = gatewayPort(b.node, 'stomp:ssl:pem');
    const text = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () =>
        s.write('CONNECT\naccept-version:1.2\n\n\0'),
      );
      s.on('data', (d) => {
        resolve(d.toString());
        s.destroy();
      });
      s.on('error', reject);
    });
    assert.match(text, /^CONNECTED/);
    assert.equal((await api.del('/gateways/stomp/listeners/stomp:ssl:pem')).status, 204);
  });

  it('changes are persisted: a node restarted on the same data dir has the gateway loaded', async () => {
    await b.stop();
    b = await startBroker({ api: true, dataDir: dir });
    api = await adminClient(b);
    const g = (await api.get('/gateways/stomp')).body;
    assert.equal(g.status, 'running');
    assert.equal(g.idle_timeout, '10s');
    const { c } = await StompRaw.login(gatewayPort(b.node));
    c.destroy();
  });

  it('DELETE unloads the gateway', async () => {
    assert.equal((await api.del('/gateways/stomp')).status, 204);
    assert.deepEqual((await api.get('/gateways/stomp')).body, { name: 'stomp', status: 'unloaded' });
    assert.equal((await api.del('/gateways/stomp')).status, 404);
  });
});

describe('gateway API: clients and subscriptions', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  let api: ApiClient;
  before(async () => {
    b = await startStompBroker({ api: true, stomp: { mountpoint: 'mp/' } });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('lists clients with EMQX fields and filters; gets one; kicks', async () => {
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', {
      'accept-version': '1.2',
      'heart-beat': '10000,0',
      login: 'alice',
      'client-id': 'c-alice',
    });
    await c.next('CONNECTED');
    const { c: d } = await StompRaw.login(b.stompPort, {
      login: 'bob',
      'client-id': 'c-bob',
      'accept-version': '1.1',
    });
    const all = (await api.get('/gateways/stomp/clients')).body;
    assert.equal(all.meta.count, 2);
    const a = all.data.find((x: { clientid: string }) => x.clientid === 'c-alice');
    for (const f of [
      'node',
      'clientid',
      'username',
      'mountpoint',
      'proto_name',
      'proto_ver',
      'ip_address',
      'port',
      'is_bridge',
      'connected_at',
      'connected',
      'keepalive',
      'clean_start',
      'expiry_interval',
      'created_at',
      'subscriptions_cnt',
      'subscriptions_max',
      'inflight_cnt',
      'inflight_max',
      'mqueue_len',
      'mqueue_max',
      'mqueue_dropped',
      'awaiting_rel_cnt',
      'awaiting_rel_max',
      'recv_oct',
      'recv_cnt',
      'recv_pkt',
      'recv_msg',
      'send_oct',
      'send_cnt',
      'send_pkt',
      'send_msg',
      'mailbox_len',
      'heap_size',
      'reductions',
    ])
      assert.ok(f in a, `missing ${f}`);
    assert.equal(a.username, 'alice');
    assert.equal(a.proto_name, 'STOMP');
    assert.equal(a.proto_ver, '1.2');
    assert.equal(a.keepalive, 10);
    assert.equal(a.mountpoint, 'mp/');
    assert.equal(a.connected, true);
    assert.ok(a.recv_oct > 0);
    const q = async (query: string) =>
      (await api.get(`/gateways/stomp/clients?${query}`)).body.data
        .map((x: { clientid: string }) => x.clientid)
        .sort();
    assert.deepEqual(await q('clientid=c-bob'), ['c-bob']);
    assert.deepEqual(await q('username=alice'), ['c-alice']);
    assert.deepEqual(await q('like_clientid=c-'), ['c-alice', 'c-bob']);
    assert.deepEqual(await q('like_username=bo'), ['c-bob']);
    assert.deepEqual(await q('proto_ver=1.1'), ['c-bob']);
    assert.deepEqual(await q('ip_address=127.0.0.1'), ['c-alice', 'c-bob']);
    assert.deepEqual(await q('conn_state=connected'), ['c-alice', 'c-bob']);
    assert.deepEqual(await q('clean_start=true'), ['c-alice', 'c-bob']);
    assert.deepEqual(await q(`gte_created_at=${Date.now() + 60_000}`), []);
    assert.deepEqual(await q(`lte_connected_at=${new Date(Date.now() + 60_000).toISOString()}`), [
      'c-alice',
      'c-bob',
    ]);
    assert.deepEqual(await q('node=other@host'), []);
    assert.equal((await api.get('/gateways/stomp/clients?page=2&limit=1')).body.meta.hasnext, false);
    assert.equal((await api.get('/gateways/stomp/clients/c-alice')).body.clientid, 'c-alice');
    assert.equal((await api.get('/gateways/stomp/clients/nope')).status, 404);
    assert.equal((await api.del('/gateways/stomp/clients/c-bob')).status, 204);
    assert.equal((await d.next('ERROR')).body, 'Kicked out');
    await until(async () => (await api.get('/gateways/stomp/clients')).body.meta.count === 1);
    assert.equal((await api.del('/gateways/stomp/clients/c-bob')).status, 404);
    c.destroy();
  });

  it('subscriptions: GET (mounted), POST needs subid for STOMP, rejects used ids/topics, DELETE by encoded topic', async () => {
    const { c } = await StompRaw.login(b.stompPort, { 'client-id': 'subs' });
    c.send('SUBSCRIBE', { id: '0', destination: 'own', receipt: 'r' });
    await c.next('RECEIPT');
    let subs = (await api.get('/gateways/stomp/clients/subs/subscriptions')).body;
    assert.deepEqual(
      subs.map((s: { topic: string }) => s.topic),
      ['mp/own'],
    );
    assert.equal((await api.get('/gateways/stomp/clients/subs')).body.subscriptions_cnt, 1);
    assert.equal(
      (await api.post('/gateways/stomp/clients/subs/subscriptions', {})).body.message,
      'Miss topic property',
    );
    assert.equal(
      (await api.post('/gateways/stomp/clients/subs/subscriptions', { topic: 't/a' })).status,
      400,
    );
    const ok = await api.post('/gateways/stomp/clients/subs/subscriptions', {
      topic: 't/a',
      qos: 1,
      sub_props: { subid: '1001' },
    });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.topic, 'mp/t/a');
    const dupId = await api.post('/gateways/stomp/clients/subs/subscriptions', {
      topic: 't/b',
      sub_props: { subid: '0' },
    });
    assert.equal(dupId.body.message, 'Subscription id 0 is in used');
    const dupTopic = await api.post('/gateways/stomp/clients/subs/subscriptions', {
      topic: 'own',
      sub_props: { subid: '9' },
    });
    assert.equal(dupTopic.body.message, 'Topic own already in subscribed');
    assert.equal((await api.post('/gateways/stomp/clients/nope/subscriptions', { topic: 'x' })).status, 404);
    // The API-made subscription delivers to the client with its subid.
    const m = await connectClient(b.port);
    await m.publishAsync('mp/t/a', 'via-api');
    const msg = await c.next('MESSAGE');
    assert.equal(msg.headers.subscription, '1001');
    assert.equal(msg.headers.destination, 't/a');
    await m.endAsync();
    assert.equal((await api.del('/gateways/stomp/clients/subs/subscriptions/t%2Fa')).status, 204);
    assert.equal((await api.del('/gateways/stomp/clients/subs/subscriptions/t%2Fa')).status, 404);
    subs = (await api.get('/gateways/stomp/clients/subs/subscriptions')).body;
    assert.deepEqual(
      subs.map((s: { topic: string }) => s.topic),
      ['mp/own'],
    );
    c.destroy();
  });

  it('a banned client id cannot log in through the gateway', async () => {
    assert.equal((await api.post('/banned', { as: 'clientid', who: 'banned-one' })).status, 200);
    const c = await StompRaw.open(b.stompPort);
    c.send('CONNECT', { 'accept-version': '1.2', 'client-id': 'banned-one' });
    assert.equal((await c.next('ERROR')).body, 'Login Failed: banned');
    await c.waitClosed();
    await api.del('/banned/clientid/banned-one');
  });

  it('metrics and registry views (for hermod ctl)', async () => {
    const m = (await api.get('/gateways/stomp/metrics')).body;
    assert.ok(m['bytes.received'] > 0);
    assert.ok(m['client.connected'] >= 1);
    const reg = (await api.get('/gateway_registry')).body;
    assert.ok(reg.some((x: { name: string; loaded: boolean }) => x.name === 'stomp' && x.loaded));
  });
});

describe('gateway API: authentication (gateway and listener level)', () => {
  let b: Awaited<ReturnType<typeof startStompBroker>>;
  let api: ApiClient;
  const AUTHN = { mechanism: 'password_based', backend: 'built_in_database', user_id_type: 'username' };
  before(async () => {
    b = await startStompBroker({
      api: true,
      stomp: {
        listeners: {
          tcp: { second: { bind: '127.0.0.1:0' }, open: { bind: '127.0.0.1:0', enable_authn: false } },
        },
      },
    });
    api = await adminClient(b);
  });
  after(() => b.stop());

  const login = async (port: number, user: string, pass: string) => {
    const c = await StompRaw.open(port);
    c.send('CONNECT', { 'accept-version': '1.2', login: user, passcode: pass });
    const f = await c.next();
    c.destroy();
    return f;
  };

  it('gateway authenticator: GET 204 when none; POST; duplicate 400; users CRUD; logins checked', async () => {
    assert.equal((await api.get('/gateways/stomp/authentication')).status, 204);
    const created = await api.post('/gateways/stomp/authentication', AUTHN);
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.backend, 'built_in_database');
    assert.equal(
      (await api.post('/gateways/stomp/authentication', AUTHN)).body.message,
      'The authentication already exist on stomp',
    );
    assert.equal((await api.get('/gateways/stomp/authentication')).body.mechanism, 'password_based');
    const u = await api.post('/gateways/stomp/authentication/users', {
      user_id: 'admin',
      password: 'public',
      is_superuser: true,
    });
    assert.equal(u.status, 201, u.text);
    await api.post('/gateways/stomp/authentication/users', { user_id: 'guest', password: 'guest' });
    const users = (await api.get('/gateways/stomp/authentication/users?like_user_id=ad')).body;
    assert.deepEqual(users.data, [{ user_id: 'admin', is_superuser: true }]);
    assert.equal((await api.get('/gateways/stomp/authentication/users/guest')).body.is_superuser, false);
    assert.equal(
      (await api.put('/gateways/stomp/authentication/users/guest', { password: 'g2' })).status,
      200,
    );
    assert.equal((await api.get('/gateways/stomp/authentication/users/nobody')).status, 404);

    assert.equal((await login(b.stompPort, 'admin', 'public')).command, 'CONNECTED');
    assert.equal((await login(b.stompPort, 'guest', 'g2')).command, 'CONNECTED');
    const bad = await login(b.stompPort, 'admin', 'wrong');
    assert.equal(bad.command, 'ERROR');
    assert.match(bad.body, /^Login Failed: /);
    // Same gateway chain on its other listener; enable_authn = false lets anyone in.
    assert.equal((await login(gatewayPort(b.node, 'stomp:tcp:second'), 'admin', 'wrong')).command, 'ERROR');
    assert.equal((await login(gatewayPort(b.node, 'stomp:tcp:open'), 'admin', 'wrong')).command, 'CONNECTED');
    assert.equal((await api.del('/gateways/stomp/authentication/users/guest')).status, 204);
    assert.equal((await login(b.stompPort, 'guest', 'g2')).command, 'ERROR');
  });

  it('import users (CSV and JSON, multipart "filename")', async () => {
    for (const [name, type, content] of [
      ['users.csv', 'text/csv', 'user_id,password,is_superuser\ncsv1,p1,false\ncsv2,p2,true\n'],
      [
        'users.json',
        'application/json',
        JSON.stringify([
          { user_id: 'js1', password: 'p1' },
          { user_id: 'js2', password: 'p2', is_superuser: true },
        ]),
      ],
    ] as const) {
      const form = new FormData();
      form.append('filename', new Blob([content], { type }), name);
      const res = await fetch(`${b.apiUrl}/api/v5/gateways/stomp/authentication/import_users?type=plain`, {
        method: 'POST',
        headers: { authorization: api.auth! },
        body: form,
      });
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.total, 2);
      assert.equal(body.success, 2);
    }
    assert.equal((await login(b.stompPort, 'csv2', 'p2')).command, 'CONNECTED');
    assert.equal((await login(b.stompPort, 'js1', 'p1')).command, 'CONNECTED');
  });

  it('listener authenticator: fully manageable through the API, overrides the gateway one on its listener', async () => {
    const id = 'stomp:tcp:second';
    assert.equal((await api.get(`/gateways/stomp/listeners/${id}/authentication`)).status, 204);
    const created = await api.post(`/gateways/stomp/listeners/${id}/authentication`, AUTHN);
    assert.equal(created.status, 201, created.text);
    assert.equal(
      (await api.post(`/gateways/stomp/listeners/${id}/authentication`, AUTHN)).body.message,
      `The authentication already exist on ${id}`,
    );
    assert.equal(
      (
        await api.post(`/gateways/stomp/listeners/${id}/authentication/users`, {
          user_id: 'l-user',
          password: 'lp',
        })
      ).status,
      201,
    );
    const port = gatewayPort(b.node, id);
    assert.equal((await login(port, 'l-user', 'lp')).command, 'CONNECTED');
    // The gateway's users do not exist on this listener's chain, and vice versa.
    assert.equal((await login(port, 'admin', 'public')).command, 'ERROR');
    assert.equal((await login(b.stompPort, 'l-user', 'lp')).command, 'ERROR');
    const listed = (await api.get(`/gateways/stomp/listeners/${id}/authentication/users`)).body;
    assert.deepEqual(
      listed.data.map((u: { user_id: string }) => u.user_id),
      ['l-user'],
    );
    // The listener keeps its authenticator across a listener update.
    assert.equal((await api.put(`/gateways/stomp/listeners/${id}`, { bind: '127.0.0.1:0' })).status, 200);
    assert.equal((await api.get(`/gateways/stomp/listeners/${id}/authentication`)).status, 200);
    assert.equal((await api.del(`/gateways/stomp/listeners/${id}/authentication`)).status, 204);
    // Back to the gateway chain.
    assert.equal((await login(gatewayPort(b.node, id), 'admin', 'public')).command, 'CONNECTED');
    assert.equal((await api.get('/gateways/stomp/listeners/stomp:tcp:nope/authentication')).status, 404);
  });

  it('a bad authenticator config is refused with 400 and changes nothing', async () => {
    const r = await api.put('/gateways/stomp/authentication', {
      mechanism: 'password_based',
      backend: 'no_such_backend',
    });
    assert.equal(r.status, 400);
    assert.equal((await api.get('/gateways/stomp/authentication')).body.backend, 'built_in_database');
    assert.equal((await api.del('/gateways/stomp/authentication')).status, 204);
    assert.equal((await api.get('/gateways/stomp/authentication')).status, 204);
    assert.equal((await login(b.stompPort, 'anyone', 'x')).command, 'CONNECTED');
  });

  it('MQTT authentication is untouched by gateway chains', async () => {
    const m = await connectClient(b.port, { username: 'nobody', password: 'x' });
    const got = collect(m);
    assert.ok(got !== undefined);
    await m.endAsync();
  });
});
