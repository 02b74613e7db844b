/**
 * REST API behaviour that needs no client on the wire, through Fastify's inject() on a socket-less node:
 * the guard covers every area's scope, and a few areas answer as EMQX does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InjectedApi, startInjectedApi } from '../helpers/api-inject.js';

/** One GET route of each API area. */
const AREA_ROUTES = [
  '/alarms',
  '/api_key',
  '/authentication',
  '/authorization/sources',
  '/banned',
  '/clients',
  '/configs',
  '/error_codes',
  '/exhooks',
  '/gateways',
  '/listeners',
  '/nodes',
  '/mqtt/retainer',
  '/subscriptions',
  '/topics',
  '/users',
];

describe('management API through inject()', () => {
  let api: InjectedApi;

  before(async () => {
    api = await startInjectedApi();
  });
  after(() => api.stop());

  it('refuses every area without credentials (401) and serves it with a token', async () => {
    for (const path of AREA_ROUTES) {
      const refused = await api.call('GET', path, undefined, null);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.body.code, 'AUTHORIZATION_HEADER_ERROR', path);
      const ok = await api.call('GET', path);
      assert.equal(ok.status, 200, `${path}: ${JSON.stringify(ok.body)}`);
    }
  });

  it('answers an unknown path with 404 NOT_FOUND', async () => {
    const r = await api.call('GET', '/no/such/area');
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 'NOT_FOUND');
  });

  it('creates, lists and deletes a ban', async () => {
    const created = await api.call('POST', '/banned', { as: 'username', who: 'mallory', reason: 'test' });
    assert.equal(created.status, 200);
    assert.equal(created.body.who, 'mallory');
    const listed = await api.call('GET', '/banned');
    assert.deepEqual(
      listed.body.data.map((b: { who: string }) => b.who),
      ['mallory'],
    );
    const dup = await api.call('POST', '/banned', { as: 'username', who: 'mallory' });
    assert.equal(dup.status, 400);
    assert.equal((await api.call('DELETE', '/banned/username/mallory')).status, 204);
    assert.equal((await api.call('GET', '/banned')).body.data.length, 0);
  });

  it('rejects a body that fails an area schema with 400 BAD_REQUEST', async () => {
    const r = await api.call('POST', '/banned', { as: 'nonsense', who: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_REQUEST');
  });

  it('keeps the multipart parser inside the authentication area (other areas answer 415)', async () => {
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v5/banned',
      headers: {
        authorization: api.auth,
        'content-type': 'multipart/form-data; boundary=x',
      },
      payload: '--x--\r\n',
    });
    assert.equal(res.statusCode, 415);
  });

  it('reads and changes a config root key', async () => {
    const before = await api.call('GET', '/configs/retainer');
    assert.equal(before.status, 200);
    const r = await api.call('PUT', '/mqtt/retainer', { ...before.body, max_payload_size: '2MB' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await api.call('GET', '/mqtt/retainer')).body.max_payload_size, '2MB');
  });

  it('changes authorization settings and shows them back', async () => {
    const r = await api.call('PUT', '/authorization/settings', { no_match: 'deny', cache: { max_size: 8 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const shown = await api.call('GET', '/authorization/settings');
    assert.equal(shown.body.no_match, 'deny');
    assert.equal(shown.body.cache.max_size, 8);
  });

  it('adds a dashboard user who can then log in', async () => {
    const created = await api.call('POST', '/users', { username: 'ops', password: 'ops-pass-1234' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const login = await api.call('POST', '/login', { username: 'ops', password: 'ops-pass-1234' }, null);
    assert.equal(login.status, 200);
    assert.equal(typeof login.body.token, 'string');
    const wrong = await api.call('POST', '/login', { username: 'ops', password: 'nope' }, null);
    assert.equal(wrong.status, 401);
  });
});
