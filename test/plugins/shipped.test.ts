import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { packShipped, type ShippedNode, startShipped, until } from './shipped.js';

const SHIPPED = ['diagnostics-1.0.0', 'lua_hook-1.0.0', 'reloader-1.0.0', 'template-0.1.0', 'web_hook-1.0.0'];

/** A real HTTP endpoint for web_hook: the topics of the messages posted to it, in order. */
async function webhookSink(): Promise<{ topics: string[]; url: string; close(): Promise<void> }> {
  const topics: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      topics.push((JSON.parse(body) as { topic: string }).topic);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return { topics, url, close };
}

describe('the plugins shipped in plugins/, on a fresh node', () => {
  let n: ShippedNode;

  before(async () => {
    n = await startShipped();
  });
  after(async () => {
    await n.stop();
  });

  it('GET /plugins lists the five packages, installed and stopped, each with its README', async () => {
    const list = (await n.api.get('/plugins')).body as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((p) => `${p.name}-${p.rel_vsn}`).sort(), SHIPPED);
    for (const p of list)
      assert.deepEqual(p.running_status, [{ node: 'hermod@127.0.0.1', status: 'stopped' }]);
    for (const nameVsn of SHIPPED) {
      const one = await n.api.get(`/plugins/${nameVsn}`);
      assert.equal(one.status, 200);
      assert.match(one.body.readme, new RegExp(`^# ${nameVsn.replace(/-.*$/, '')}\\n`));
    }
  });

  it('lua_hook carries its own wasmoon, so it runs wherever the data dir is', () => {
    const pkg = join(n.dataDir, 'plugins', 'lua_hook-1.0.0', 'node_modules', 'wasmoon');
    assert.ok(existsSync(join(pkg, 'package.json')));
    assert.ok(existsSync(join(pkg, 'dist', 'glue.wasm')));
  });

  it('web_hook started with hermod ctl posts what MQTT clients publish to an HTTP endpoint, no restart', async () => {
    const { topics, url, close } = await webhookSink();
    try {
      const conf = { url, rules: [{ event: 'message.publish', topics: ['done/#'] }] };
      assert.equal((await n.api.put('/plugins/web_hook-1.0.0/config', conf)).status, 204);
      const started = await hermod(['ctl', '--data-dir', n.dataDir, 'plugins', 'start', 'web_hook-1.0.0']);
      assert.equal(started.code, 0, started.stderr);
      const c = await connectClient(n.b.port, { clientId: 'done-when' });
      await publish(c, 'done/1', 'x', { qos: 1 });
      await end(c);
      await until(() => topics.includes('done/1'), 'the POST');
    } finally {
      await close();
    }
  });
});

describe('a shipped package downloaded and uploaded through POST /api/v5/plugins/install', () => {
  let shipped: string;
  let dataDir: string;
  let b: TestBroker;
  let api: ApiClient;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', dataDir, ...args]);

  before(async () => {
    // The tarballs `npm install` packs into dist/plugins, as a user downloads them.
    shipped = await packShipped();
    // A node that places no shipped plugin itself: the packages arrive only by upload.
    dataDir = mkdtempSync(join(tmpdir(), 'hermod-upload-'));
    b = await startBroker({ api: true, dataDir });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(shipped, { recursive: true, force: true });
  });

  /** The dashboard's upload: multipart field "plugin" holding NAME-VSN.tar.gz. */
  async function upload(nameVsn: string): Promise<number> {
    const form = new FormData();
    const file = readFileSync(join(shipped, `${nameVsn}.tar.gz`));
    form.append('plugin', new Blob([file], { type: 'application/gzip' }), `${nameVsn}.tar.gz`);
    const res = await fetch(`${api.base}/api/v5/plugins/install`, {
      method: 'POST',
      headers: { authorization: api.auth! },
      body: form,
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('each of the five installs once allowed, stopped, with its README', async () => {
    assert.deepEqual((await api.get('/plugins')).body, []);
    for (const nameVsn of SHIPPED) {
      const allowed = await ctl('plugins', 'allow', nameVsn);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.equal(await upload(nameVsn), 204, nameVsn);
      const one = await api.get(`/plugins/${nameVsn}`);
      assert.deepEqual(one.body.running_status, [{ node: 'hermod@127.0.0.1', status: 'stopped' }]);
      assert.match(one.body.readme, new RegExp(`^# ${nameVsn.replace(/-.*$/, '')}\\n`));
    }
  });

  it('the uploaded lua_hook, started from the API, runs a script from its own wasmoon', async () => {
    // Unpacked under a temp data dir, far from the repo's node_modules: only the package's own copy resolves.
    assert.ok(
      existsSync(join(dataDir, 'plugins', 'lua_hook-1.0.0', 'node_modules', 'wasmoon', 'package.json')),
    );
    mkdirSync(join(dataDir, 'scripts'), { recursive: true });
    writeFileSync(
      join(dataDir, 'scripts', 'shout.lua'),
      `function on_message_publish(clientid, username, topic, payload, qos, retain)
  if topic == "up/a" then return topic, string.upper(payload), qos, retain end
end
function register_hook() return "on_message_publish" end
`,
    );
    assert.equal((await api.put('/plugins/lua_hook-1.0.0/start')).status, 204);
    assert.equal((await api.get('/plugins/lua_hook-1.0.0')).body.running_status[0].status, 'running');
    const c = await connectClient(b.port, { clientId: 'upload-lua' });
    const got = collect(c);
    await subscribe(c, 'up/#', { qos: 1 });
    await publish(c, 'up/a', 'hello', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'HELLO');
    await end(c);
  });

  it('the uploaded web_hook, started from the API, posts to an HTTP endpoint', async () => {
    const { topics, url, close } = await webhookSink();
    try {
      const conf = { url, rules: [{ event: 'message.publish', topics: ['up/#'] }] };
      assert.equal((await api.put('/plugins/web_hook-1.0.0/config', conf)).status, 204);
      assert.equal((await api.put('/plugins/web_hook-1.0.0/start')).status, 204);
      const c = await connectClient(b.port, { clientId: 'upload-web' });
      await publish(c, 'up/posted', 'x', { qos: 1 });
      await end(c);
      await until(() => topics.includes('up/posted'), 'the POST');
    } finally {
      await close();
    }
  });
});
