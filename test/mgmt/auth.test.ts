import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { sleep } from '../helpers/clients.js';
import { ApiClient, adminClient, basic } from './http.js';

const REALM = 'Basic Realm="emqx-dashboard"';

describe('management API: authentication', () => {
  let b: TestBroker;
  let admin: ApiClient;
  let anon: ApiClient;
  const bootstrap = join(tmpdir(), `hermod-bootstrap-${process.pid}.keys`);

  before(async () => {
    writeFileSync(bootstrap, '# comment\nboot-key:boot-secret\nviewer-key:viewer-secret:viewer\n');
    b = await startBroker({
      api: true,
      config: { dashboard: { token_expired_time: '1s' }, api_key: { bootstrap_file: bootstrap } },
    });
    admin = await adminClient(b);
    anon = new ApiClient(b.apiUrl!);
  });
  after(() => b.stop());
  // Tokens live 1 s in this suite (to test expiry): log in afresh for every test.
  beforeEach(async () => {
    await admin.login();
  });

  it('logs in with the default admin and returns token, version, license and role', async () => {
    const r = await anon.post('/login', { username: 'admin', password: 'public' });
    assert.equal(r.status, 200);
    assert.equal(typeof r.body.token, 'string');
    assert.equal(r.body.license.edition, 'opensource');
    assert.equal(r.body.role, 'administrator');
    assert.match(r.body.version, /^\d+\.\d+\.\d+/);
  });

  it('refuses bad credentials with 401 BAD_USERNAME_OR_PWD', async () => {
    const r = await anon.post('/login', { username: 'admin', password: 'nope' });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'BAD_USERNAME_OR_PWD');
    const r2 = await anon.post('/login', { username: 'ghost', password: 'public' });
    assert.equal(r2.body.code, 'BAD_USERNAME_OR_PWD');
  });

  it('answers 400 naming the missing field of a bad login body', async () => {
    const r = await anon.post('/login', { username: 'admin' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_REQUEST');
    assert.match(r.body.message, /password/);
    const bad = await anon.req('POST', '/api/v5/login', { raw: '{not json' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_REQUEST');
  });

  it('refuses a request without credentials, with the realm header', async () => {
    const r = await anon.get('/clients');
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'AUTHORIZATION_HEADER_ERROR');
    assert.equal(r.headers.get('www-authenticate'), REALM);
  });

  it('refuses an unknown token with BAD_TOKEN', async () => {
    const r = await anon.get('/clients', { auth: 'Bearer not-a-token' });
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { code: 'BAD_TOKEN', message: 'Get a token by POST /login' });
    assert.equal(r.headers.get('www-authenticate'), REALM);
  });

  it('refuses an expired token with TOKEN_TIME_OUT', async () => {
    const c = new ApiClient(b.apiUrl!);
    await c.login();
    assert.equal((await c.get('/stats')).status, 200);
    await sleep(1100);
    const r = await c.get('/stats');
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'TOKEN_TIME_OUT');
  });

  it('ends a token at logout (204) and refuses logout for another user', async () => {
    const c = new ApiClient(b.apiUrl!);
    await c.login();
    assert.equal((await c.post('/logout', { username: 'someone' })).status, 401);
    const r = await c.post('/logout', { username: 'admin' });
    assert.equal(r.status, 204);
    assert.equal((await c.get('/stats')).body.code, 'BAD_TOKEN');
  });

  it('never accepts the dashboard username/password as Basic auth', async () => {
    const r = await anon.get('/stats', { auth: basic('admin', 'public') });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'BAD_API_KEY_OR_SECRET');
    assert.equal(r.headers.get('www-authenticate'), REALM);
  });

  it('manages API keys: create shows the secret once, Basic auth works, update, disable, expire, delete', async () => {
    const created = await admin.post('/api_key', { name: 'app-1', desc: 'for tests' });
    assert.equal(created.status, 200);
    const { api_key, api_secret } = created.body;
    assert.equal(typeof api_secret, 'string');
    assert.equal(created.body.expired_at, 'infinity');
    assert.equal(created.body.enable, true);
    const asApp = basic(api_key, api_secret);
    assert.equal((await anon.get('/stats', { auth: asApp })).status, 200);
    assert.equal(
      (await anon.get('/stats', { auth: basic(api_key, 'wrong') })).body.code,
      'BAD_API_KEY_OR_SECRET',
    );

    const listed = await admin.get('/api_key');
    const mine = listed.body.find((k: { name: string }) => k.name === 'app-1');
    assert.equal(mine.api_key, api_key);
    assert.equal(mine.api_secret, undefined);
    const one = await admin.get('/api_key/app-1');
    assert.equal(one.body.desc, 'for tests');
    assert.equal((await admin.get('/api_key/missing')).status, 404);

    assert.equal((await admin.post('/api_key', { name: 'app-1' })).status, 400, 'duplicate name');
    assert.equal((await admin.post('/api_key', { name: '1bad name' })).status, 400, 'bad name');

    const disabled = await admin.put('/api_key/app-1', { enable: false });
    assert.equal(disabled.body.enable, false);
    assert.equal((await anon.get('/stats', { auth: asApp })).status, 401);
    const past = await admin.put('/api_key/app-1', {
      enable: true,
      expired_at: Math.floor(Date.now() / 1000) - 10,
    });
    assert.equal(past.body.expired, true);
    assert.equal((await anon.get('/stats', { auth: asApp })).status, 401, 'expired key');
    await admin.put('/api_key/app-1', { enable: true });
    assert.equal((await anon.get('/stats', { auth: asApp })).status, 200);

    // EMQX keeps API keys away from user and key management.
    const denied = await anon.get('/users', { auth: asApp });
    assert.equal(denied.status, 401);
    assert.equal(denied.body.code, 'API_KEY_NOT_ALLOW');

    assert.equal((await admin.del('/api_key/app-1')).status, 204);
    assert.equal((await admin.del('/api_key/app-1')).status, 404);
    assert.equal((await anon.get('/stats', { auth: asApp })).status, 401);
  });

  it('accepts keys from api_key.bootstrap_file', async () => {
    assert.equal((await anon.get('/stats', { auth: basic('boot-key', 'boot-secret') })).status, 200);
    assert.equal((await anon.get('/stats', { auth: basic('boot-key', 'other') })).status, 401);
    const keys = await admin.get('/api_key');
    const viewer = keys.body.find((k: { api_key: string }) => k.api_key === 'viewer-key');
    assert.equal(viewer.role, 'viewer');
  });

  it('manages dashboard users: create, log in, update, change password, delete', async () => {
    const bad = await admin.post('/users', { username: 'ops', password: 'short', description: 'x' });
    assert.equal(bad.status, 400);
    const created = await admin.post('/users', {
      username: 'ops',
      password: 'ops-pass-1',
      description: 'operator',
    });
    assert.equal(created.status, 200);
    assert.deepEqual(created.body, {
      username: 'ops',
      role: 'administrator',
      description: 'operator',
      backend: 'local',
    });
    assert.equal(
      (await admin.post('/users', { username: 'ops', password: 'ops-pass-1' })).body.code,
      'ALREADY_EXISTS',
    );
    const list = await admin.get('/users');
    assert.deepEqual(
      list.body.map((u: { username: string }) => u.username),
      ['admin', 'ops'],
    );
    const ops = new ApiClient(b.apiUrl!);
    await ops.login('ops', 'ops-pass-1');
    const upd = await admin.put('/users/ops', { description: 'night shift', role: 'viewer' });
    assert.equal(upd.body.description, 'night shift');
    assert.equal((await admin.put('/users/nobody', { description: 'x' })).status, 404);

    const wrongOld = await admin.post('/users/ops/change_pwd', { old_pwd: 'nope', new_pwd: 'ops-pass-2' });
    assert.equal(wrongOld.body.code, 'ERROR_PWD_NOT_MATCH');
    const noOld = await admin.post('/users/ops/change_pwd', { new_pwd: 'ops-pass-2' });
    assert.equal(noOld.status, 400);
    const changed = await admin.post('/users/ops/change_pwd', {
      old_pwd: 'ops-pass-1',
      new_pwd: 'ops-pass-2',
    });
    assert.equal(changed.status, 204);
    assert.equal((await ops.get('/stats')).status, 401, 'old sessions end with a password change');
    await ops.login('ops', 'ops-pass-2');

    // ops is a viewer now: its role refuses the call before the handler's own "cannot delete self" rule.
    assert.equal((await ops.del('/users/ops')).body.code, 'UNAUTHORIZED_ROLE', 'a viewer cannot delete');
    await admin.login(); // tokens live 1 s in this suite
    assert.equal((await admin.del('/users/admin')).body.code, 'NOT_ALLOWED', 'cannot delete self');
    assert.equal((await admin.del('/users/ops')).status, 204);
    assert.equal((await admin.del('/users/ops')).status, 404);
    assert.equal((await anon.post('/login', { username: 'ops', password: 'ops-pass-2' })).status, 401);
  });

  it('keeps users across restarts and creates the default admin only on first boot', async () => {
    const b2 = await startBroker({ api: true, tempDataDir: true });
    const dir = b2.dataDir!;
    const c = await adminClient(b2);
    await c.post('/users', { username: 'keeper', password: 'keeper-pw-1' });
    await c.post('/users/admin/change_pwd', { old_pwd: 'public', new_pwd: 'new-admin-pw1' });
    await b2.node.stop();
    const b3 = await startBroker({ api: true, dataDir: dir });
    try {
      const c3 = new ApiClient(b3.apiUrl!);
      assert.equal((await c3.post('/login', { username: 'admin', password: 'public' })).status, 401);
      await c3.login('admin', 'new-admin-pw1');
      await c3.login('keeper', 'keeper-pw-1');
    } finally {
      await b3.stop();
      await b2.stop();
    }
  });
});
