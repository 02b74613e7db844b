import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hermod } from '../helpers/cli.js';
import { connectClient, end, publish } from '../helpers/clients.js';
import { type ShippedNode, startShipped, until } from './shipped.js';

const SHIPPED = ['diagnostics-1.0.0', 'lua_hook-1.0.0', 'reloader-1.0.0', 'template-0.1.0', 'web_hook-1.0.0'];

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
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const conf = { url, rules: [{ event: 'message.publish', topics: ['done/#'] }] };
      assert.equal((await n.api.put('/plugins/web_hook-1.0.0/config', conf)).status, 204);
      const started = await hermod(['ctl', '--data-dir', n.dataDir, 'plugins', 'start', 'web_hook-1.0.0']);
      assert.equal(started.code, 0, started.stderr);
      const c = await connectClient(n.b.port, { clientId: 'done-when' });
      await publish(c, 'done/1', 'x', { qos: 1 });
      await end(c);
      await until(() => topics.includes('done/1'), 'the POST');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
