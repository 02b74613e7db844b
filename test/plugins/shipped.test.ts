import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ShippedNode, startShipped } from './shipped.js';

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
});
