import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectClient, sleep } from '../helpers/clients.js';
import { ApiClient, adminClient, basic } from './http.js';

const VIEWER = 'watcher';
const VIEWER_PWD = 'watch-1234';

interface Operation {
  method: string;
  /** OpenAPI path with its parameters filled in. */
  path: string;
}

/** Every operation of the OpenAPI document, parameters filled with harmless values. */
function operations(doc: { paths: Record<string, Record<string, unknown>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      // The only dashboard user that exists besides the viewer: a change to it must be refused.
      const filled = path.replace(/\{username\}/g, 'admin').replace(/\{[^}]+\}/g, 'x');
      out.push({ method: method.toUpperCase(), path: filled });
    }
  }
  return out;
}

// Reads that show every piece of state a refused write could have touched.
const STATE = [
  '/users',
  '/api_key',
  '/banned',
  '/configs',
  '/listeners',
  '/authentication',
  '/authorization/sources',
  '/authorization/settings',
  '/exhooks',
  '/gateways',
  '/mqtt/retainer',
  '/mqtt/retainer/messages',
  '/clients',
  '/subscriptions',
];

async function snapshot(admin: ApiClient): Promise<string> {
  const parts: string[] = [];
  for (const p of STATE) {
    const r = await admin.get(p);
    // Connection times and counters move on their own; what matters is which entries exist.
    parts.push(
      `${p} ${r.status} ${r.text.replace(/"(connected_at|created_at|[a-z_]*_at|uptime)":[^,}]+/g, '')}`,
    );
  }
  return parts.join('\n');
}

describe('management API: roles on every route', () => {
  let b: TestBroker;
  let admin: ApiClient;
  let viewer: ApiClient;
  let viewerKey: ApiClient;
  let publisherKey: ApiClient;
  let ops: Operation[];

  before(async () => {
    b = await startBroker({ api: true });
    admin = await adminClient(b);
    const u = await admin.post('/users', { username: VIEWER, password: VIEWER_PWD, role: 'viewer' });
    assert.equal(u.status, 200, u.text);
    viewer = new ApiClient(b.apiUrl!);
    await viewer.login(VIEWER, VIEWER_PWD);
    const k = await admin.post('/api_key', { name: 'ro', role: 'viewer' });
    assert.equal(k.status, 200, k.text);
    viewerKey = new ApiClient(b.apiUrl!);
    viewerKey.auth = basic(k.body.api_key, k.body.api_secret);
    const pk = await admin.post('/api_key', { name: 'pub', role: 'publisher' });
    assert.equal(pk.status, 200, pk.text);
    publisherKey = new ApiClient(b.apiUrl!);
    publisherKey.auth = basic(pk.body.api_key, pk.body.api_secret);
    const doc = await admin.req('GET', '/api-docs/swagger.json', { auth: null });
    assert.equal(doc.status, 200);
    ops = operations(doc.body);
    assert.ok(ops.length > 50, `the document lists ${ops.length} operations`);
  });
  after(() => b.stop());

  for (const who of ['viewer user', 'viewer API key'] as const) {
    it(`a ${who} is refused every non-read route, and nothing changes`, async () => {
      const client = who === 'viewer user' ? viewer : viewerKey;
      const watcher = await connectClient(b.port, { clientId: `watch-${who.length}` });
      const seen: string[] = [];
      watcher.on('message', (topic) => seen.push(topic));
      await watcher.subscribeAsync('#');
      const before = await snapshot(admin);
      const wrong: string[] = [];
      for (const op of ops) {
        if (op.method === 'GET') continue;
        // Self-service calls are checked on their own below.
        if (op.path === '/api/v5/logout' || op.path === '/api/v5/login') continue;
        const r = await client.req(op.method, op.path, { body: {} });
        const refused =
          (r.status === 403 && r.body.code === 'UNAUTHORIZED_ROLE') ||
          // EMQX refuses API keys outright on the dashboard-user routes.
          (who === 'viewer API key' && r.status === 401 && r.body.code === 'API_KEY_NOT_ALLOW');
        if (!refused) wrong.push(`${op.method} ${op.path} -> ${r.status} ${r.text.slice(0, 80)}`);
      }
      assert.deepEqual(wrong, []);
      await sleep(100);
      assert.equal(await snapshot(admin), before);
      assert.deepEqual(seen, []);
      await watcher.endAsync();
    });

    it(`a ${who} still reads every GET route`, async () => {
      const client = who === 'viewer user' ? viewer : viewerKey;
      const wrong: string[] = [];
      for (const op of ops) {
        if (op.method !== 'GET') continue;
        const r = await client.req(op.method, op.path);
        const refusedByRole = r.status === 403 && r.body.code === 'UNAUTHORIZED_ROLE';
        const keyNotAllowed = who === 'viewer API key' && r.body?.code === 'API_KEY_NOT_ALLOW';
        if (refusedByRole || (r.status === 401 && !keyNotAllowed))
          wrong.push(`${op.method} ${op.path} -> ${r.status}`);
      }
      assert.deepEqual(wrong, []);
    });
  }

  it('a viewer cannot promote itself or create an administrator', async () => {
    const promote = await viewer.put(`/users/${VIEWER}`, { role: 'administrator' });
    assert.equal(promote.status, 403);
    assert.equal(promote.body.code, 'UNAUTHORIZED_ROLE');
    const create = await viewer.post('/users', {
      username: 'evil',
      password: 'evil-1234',
      role: 'administrator',
    });
    assert.equal(create.status, 403);
    const users = await admin.get('/users');
    assert.deepEqual(
      users.body.map((u: { username: string; role: string }) => [u.username, u.role]),
      [
        ['admin', 'administrator'],
        [VIEWER, 'viewer'],
      ],
    );
  });

  it("a viewer changes its own password but nobody else's, and logs out", async () => {
    const other = await viewer.post('/users/admin/change_pwd', { old_pwd: 'public', new_pwd: 'hijack-123' });
    assert.equal(other.status, 403);
    const own = await viewer.post(`/users/${VIEWER}/change_pwd`, {
      old_pwd: VIEWER_PWD,
      new_pwd: 'watch-5678',
    });
    assert.equal(own.status, 204, own.text);
    await viewer.login(VIEWER, 'watch-5678');
    const out = await viewer.post('/logout', { username: VIEWER });
    assert.equal(out.status, 204);
    assert.equal((await viewer.get('/clients')).status, 401);
  });

  it('a demoted administrator loses its rights at once, token and all', async () => {
    await admin.post('/users', { username: 'ops', password: 'ops-12345', role: 'administrator' });
    const ops2 = new ApiClient(b.apiUrl!);
    await ops2.login('ops', 'ops-12345');
    assert.equal((await ops2.post('/banned', { as: 'clientid', who: 'c1' })).status, 200);
    await admin.put('/users/ops', { role: 'viewer' });
    const r = await ops2.post('/banned', { as: 'clientid', who: 'c2' });
    assert.equal(r.status, 403);
  });

  it('a publisher API key may publish and nothing else', async () => {
    const pub = await publisherKey.post('/publish', { topic: 't/1', payload: 'hi' });
    assert.equal(pub.status, 202, pub.text);
    const bulk = await publisherKey.post('/publish/bulk', [{ topic: 't/1', payload: 'hi' }]);
    assert.equal(bulk.status, 202, bulk.text);
    assert.equal((await publisherKey.get('/clients')).status, 403);
    assert.equal((await publisherKey.post('/banned', { as: 'clientid', who: 'x' })).status, 403);
  });
});
