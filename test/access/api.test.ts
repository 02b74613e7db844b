import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ISubackPacket } from 'mqtt-packet';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { loginCode, RC } from './helpers.js';

const BUILTIN = 'password_based%3Abuilt_in_database';

describe('REST API: /authentication', () => {
  let b: TestBroker;
  let api: ApiClient;
  before(async () => {
    b = await startBroker({ api: true });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('creates, lists, reads, replaces and refuses duplicates or unknown mechanisms', async () => {
    assert.deepEqual((await api.get('/authentication')).body, []);
    const created = await api.post('/authentication', {
      mechanism: 'password_based',
      backend: 'built_in_database',
    });
    assert.equal(created.status, 200);
    assert.equal(created.body.id, 'password_based:built_in_database');
    assert.equal(created.body.user_id_type, 'username', 'defaults filled in');
    assert.equal(
      (await api.post('/authentication', { mechanism: 'password_based', backend: 'built_in_database' }))
        .status,
      409,
    );
    const bad = await api.post('/authentication', { mechanism: 'password_based', backend: 'oracle' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_REQUEST');
    assert.equal((await api.post('/authentication', { mechanism: 'jwt', algorithm: 'rsa' })).status, 400);
    const jwt = await api.post('/authentication', { mechanism: 'jwt', secret: 'top-secret-hmac-key' });
    assert.equal(jwt.body.secret, '******');
    assert.equal((await api.get(`/authentication/${BUILTIN}`)).status, 200);
    assert.equal((await api.get('/authentication/password_based%3Amysql')).status, 404);
    // A masked secret sent back keeps the stored one.
    const put = await api.put('/authentication/jwt', { ...jwt.body, verify_claims: { sub: '${clientid}' } });
    assert.equal(put.status, 200);
    const stored = (b.node.configService.getRaw('authentication') as Array<Record<string, unknown>>)[1]!;
    assert.equal(stored.secret, 'top-secret-hmac-key');
    assert.deepEqual(stored.verify_claims, { sub: '${clientid}' });
    assert.equal(
      (
        await api.put('/authentication/jwt', {
          mechanism: 'password_based',
          backend: 'http',
          url: 'http://x',
        })
      ).status,
      400,
    );
  });

  it('moves and orders authenticators, and reports status', async () => {
    assert.equal((await api.put('/authentication/jwt/position/front')).status, 204);
    assert.deepEqual(
      (await api.get('/authentication')).body.map((a: { id: string }) => a.id),
      ['jwt', 'password_based:built_in_database'],
    );
    assert.equal(
      (await api.put(`/authentication/jwt/position/after:password_based:built_in_database`)).status,
      204,
    );
    assert.deepEqual(
      (await api.get('/authentication')).body.map((a: { id: string }) => a.id),
      ['password_based:built_in_database', 'jwt'],
    );
    assert.equal((await api.put('/authentication/jwt/position/sideways')).status, 400);
    assert.equal(
      (await api.put('/authentication/order', [{ id: 'jwt' }, { id: 'password_based:built_in_database' }]))
        .status,
      204,
    );
    assert.deepEqual(
      b.node.authn.chain('mqtt:global')!.map((a) => a.id),
      ['jwt', 'password_based:built_in_database'],
    );
    assert.equal((await api.put('/authentication/order', [{ id: 'jwt' }])).status, 400);
    const st = await api.get(`/authentication/${BUILTIN}/status`);
    assert.equal(st.status, 200);
    assert.equal(st.body.status, 'connected');
    assert.equal(typeof st.body.metrics.total, 'number');
    assert.equal(st.body.node_status[0].node, b.node.name);
  });

  it('manages users (201, paging, filters, 404, 409) and they can log in', async () => {
    const add = await api.post(`/authentication/${BUILTIN}/users`, {
      user_id: 'u1',
      password: 'p1',
      is_superuser: true,
    });
    assert.equal(add.status, 201);
    assert.deepEqual(add.body, { user_id: 'u1', is_superuser: true });
    assert.equal(
      (await api.post(`/authentication/${BUILTIN}/users`, { user_id: 'u1', password: 'p1' })).status,
      409,
    );
    for (const id of ['u2', 'u3', 'x4'])
      await api.post(`/authentication/${BUILTIN}/users`, { user_id: id, password: 'pw' });
    const page = await api.get(`/authentication/${BUILTIN}/users?page=1&limit=2&like_user_id=u`);
    assert.deepEqual(
      page.body.data.map((u: { user_id: string }) => u.user_id),
      ['u1', 'u2'],
    );
    assert.equal(page.body.meta.hasnext, true);
    assert.equal(page.body.meta.count, 3);
    assert.equal((await api.get(`/authentication/${BUILTIN}/users?is_superuser=true`)).body.data.length, 1);
    assert.equal(await loginCode(b.port, { username: 'u2', password: 'pw' }), RC.OK);
    assert.equal((await api.put(`/authentication/${BUILTIN}/users/u2`, { password: 'new' })).status, 200);
    assert.equal(await loginCode(b.port, { username: 'u2', password: 'pw' }), RC.BAD_USER);
    assert.equal((await api.get(`/authentication/${BUILTIN}/users/u2`)).body.is_superuser, false);
    assert.equal((await api.get(`/authentication/${BUILTIN}/users/nobody`)).status, 404);
    assert.equal((await api.del(`/authentication/${BUILTIN}/users/u2`)).status, 204);
    assert.equal((await api.del(`/authentication/${BUILTIN}/users/u2`)).status, 404);
    assert.equal((await api.get('/authentication/jwt/users')).status, 400, 'jwt keeps no users');
  });

  it('imports users from a multipart CSV upload and a JSON array', async () => {
    const form = new FormData();
    form.append(
      'filename',
      new Blob(['user_id,password,is_superuser\ncsv-a,pa,false\ncsv-b,pb,true\n']),
      'users.csv',
    );
    const res = await fetch(`${b.apiUrl}/api/v5/authentication/${BUILTIN}/import_users?type=plain`, {
      method: 'POST',
      headers: { authorization: api.auth! },
      body: form,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { total: 2, success: 2, override: 0, skipped: 0, failed: 0 });
    assert.equal(await loginCode(b.port, { username: 'csv-b', password: 'pb' }), RC.OK);
    const json = await api.post(`/authentication/${BUILTIN}/import_users?type=plain`, [
      { user_id: 'j1', password: 'pj' },
      { user_id: 'csv-a', password: 'again' },
      { password: 'x' },
    ]);
    assert.deepEqual(json.body, { total: 3, success: 1, override: 1, skipped: 0, failed: 1 });
    const wrongType = new FormData();
    wrongType.append('filename', new Blob(['x']), 'users.xml');
    const bad = await fetch(`${b.apiUrl}/api/v5/authentication/${BUILTIN}/import_users?type=plain`, {
      method: 'POST',
      headers: { authorization: api.auth! },
      body: wrongType,
    });
    assert.equal(bad.status, 400);
  });

  it('deletes an authenticator (and persists the chain)', async () => {
    assert.equal((await api.del('/authentication/jwt')).status, 204);
    assert.equal((await api.del('/authentication/jwt')).status, 404);
    assert.deepEqual(
      (b.node.configService.getRaw('authentication') as Array<{ mechanism: string }>).map((a) => a.mechanism),
      ['password_based'],
    );
  });
});

describe('REST API: /authorization', () => {
  let b: TestBroker;
  let api: ApiClient;
  before(async () => {
    b = await startBroker({
      api: true,
      config: { authorization: { sources: [{ type: 'file', rules: '{allow, all}.' }] } },
    });
    api = await adminClient(b);
  });
  after(() => b.stop());

  it('reads and changes settings', async () => {
    const s = await api.get('/authorization/settings');
    assert.deepEqual(s.body, {
      no_match: 'allow',
      deny_action: 'ignore',
      cache: { enable: true, max_size: 32, ttl: '1m', excludes: [] },
    });
    const put = await api.put('/authorization/settings', { no_match: 'deny', cache: { max_size: 8 } });
    assert.equal(put.status, 200);
    assert.equal(put.body.no_match, 'deny');
    assert.equal(put.body.cache.max_size, 8);
    assert.equal(b.node.access.authz.noMatch, 'deny');
    assert.equal(b.node.access.authzCache.maxSize, 8);
    assert.equal((await api.put('/authorization/settings', { no_match: 'perhaps' })).status, 400);
  });

  it('adds sources at the front, reads them (file rules as text), moves, orders, replaces and deletes', async () => {
    assert.equal((await api.post('/authorization/sources', { type: 'built_in_database' })).status, 204);
    assert.equal((await api.post('/authorization/sources', { type: 'built_in_database' })).status, 409);
    assert.equal((await api.post('/authorization/sources', { type: 'oracle' })).status, 400);
    const list = await api.get('/authorization/sources');
    assert.deepEqual(
      list.body.sources.map((s: { type: string }) => s.type),
      ['built_in_database', 'file'],
    );
    assert.equal(list.body.sources[1].rules, '{allow, all}.');
    assert.equal((await api.post('/authorization/sources/file/move', { position: 'front' })).status, 204);
    assert.deepEqual(
      b.node.authz.sources().map((s) => s.type),
      ['file', 'built_in_database'],
    );
    assert.equal(
      (await api.put('/authorization/sources/order', [{ type: 'built_in_database' }, { type: 'file' }]))
        .status,
      204,
    );
    assert.deepEqual(
      b.node.authz.sources().map((s) => s.type),
      ['built_in_database', 'file'],
    );
    const twice = await api.put('/authorization/sources/order', [{ type: 'file' }, { type: 'file' }]);
    assert.equal(twice.status, 400);
    assert.match(String((twice.body as { message: string }).message), /exactly once/);
    assert.deepEqual(
      b.node.authz.sources().map((s) => s.type),
      ['built_in_database', 'file'],
      'a refused order changes nothing',
    );
    const mismatch = await api.put('/authorization/sources/file', { type: 'http', url: 'http://x' });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.body.message, 'Type mismatch');
    assert.equal(
      (await api.put('/authorization/sources/file', { type: 'file', rules: '{deny, all}.' })).status,
      204,
    );
    assert.equal(
      (await api.put('/authorization/sources/file', { type: 'file', rules: '{deny, all' })).status,
      400,
    );
    assert.equal((await api.get('/authorization/sources/file')).body.rules, '{deny, all}.');
    const st = await api.get('/authorization/sources/file/status');
    assert.equal(st.body.status, 'connected');
    assert.equal((await api.get('/authorization/sources/http/status')).status, 404);
  });

  it('manages built-in rules for users, clients and all, and they apply', async () => {
    const base = '/authorization/sources/built_in_database/rules';
    assert.equal(
      (
        await api.post(`${base}/users`, [
          { username: 'ann', rules: [{ topic: 'ann/#', permission: 'allow', action: 'all' }] },
        ])
      ).status,
      204,
    );
    assert.equal((await api.post(`${base}/users`, [{ username: 'ann', rules: [] }])).status, 409);
    assert.equal(
      (
        await api.post(`${base}/users`, [
          { username: 'bad', rules: [{ topic: 't', permission: 'maybe', action: 'all' }] },
        ])
      ).status,
      400,
    );
    const got = await api.get(`${base}/users/ann`);
    assert.deepEqual(got.body, {
      username: 'ann',
      rules: [{ topic: 'ann/#', permission: 'allow', action: 'all', qos: [0, 1, 2], retain: 'all' }],
    });
    assert.equal((await api.get(`${base}/users?like_username=an`)).body.data.length, 1);
    assert.equal(
      (
        await api.post(`${base}/clients`, [
          { clientid: 'c9', rules: [{ topic: 'c9/#', permission: 'allow', action: 'subscribe' }] },
        ])
      ).status,
      204,
    );
    assert.equal(
      (
        await api.put(`${base}/clients/c9`, {
          clientid: 'c9',
          rules: [{ topic: 'c9/x', permission: 'allow', action: 'subscribe' }],
        })
      ).status,
      204,
    );
    assert.equal(
      (
        await api.post(`${base}/all`, {
          rules: [{ topic: 'pub/#', permission: 'allow', action: 'subscribe' }],
        })
      ).status,
      204,
    );
    assert.equal((await api.get(`${base}/all`)).body.rules.length, 1);
    const { client } = await RawClient.connect(b.port, { clientId: 'c9', username: 'ann' }, 5);
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'ann/1', qos: 0 },
        { topic: 'c9/x', qos: 0 },
        { topic: 'pub/1', qos: 0 },
        { topic: 'zzz', qos: 0 },
      ],
    });
    assert.deepEqual(((await client.next('suback')) as ISubackPacket).granted, [0, 0, 0, 0x87]);
    // The cache: visible per client, cleared per client and globally.
    const cache = await api.get('/clients/c9/authorization/cache');
    assert.ok(cache.body.length >= 4);
    assert.equal((await api.del('/authorization/cache')).status, 204);
    assert.equal((await api.get('/clients/c9/authorization/cache')).body.length, 0);
    client.disconnect();
    assert.equal((await api.del(`${base}/users/ann`)).status, 204);
    assert.equal((await api.get(`${base}/users/ann`)).status, 404);
    assert.equal((await api.del(base)).status, 204);
    assert.equal((await api.get(`${base}/clients`)).body.data.length, 0);
    assert.equal((await api.del('/authorization/sources/built_in_database')).status, 204);
    assert.equal((await api.del('/authorization/sources/built_in_database')).status, 404);
  });
});
