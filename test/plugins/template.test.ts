import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { scaffoldFiles } from '../../src/cli/plugin-scaffold.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { repoRoot } from '../helpers/fixtures.js';
import { pluginMetric, type ShippedNode, startShipped, until } from './shipped.js';

const TEMPLATE = 'template-0.1.0';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('template: the scaffold output kept in the repo, shipped as a package', () => {
  let n: ShippedNode;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', n.dataDir, ...args]);

  before(async () => {
    n = await startShipped();
  });
  after(async () => {
    await n.stop();
  });

  it('plugins/template is exactly what `hermod plugin new template` writes', () => {
    const dir = join(repoRoot(), 'plugins', 'template');
    const want = scaffoldFiles('template');
    // On a mismatch after a scaffold change: rm -r plugins/template && (cd plugins && hermod plugin new template)
    assert.deepEqual(filesUnder(dir), Object.keys(want).sort());
    for (const [path, text] of Object.entries(want))
      assert.equal(readFileSync(join(dir, path), 'utf8'), text, path);
  });

  it('a config without its required keys is refused with BAD_CONFIG; the plugin stays stopped', async () => {
    const r = await n.api.put(`/plugins/${TEMPLATE}/config`, { demo_user: 'only' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'BAD_CONFIG');
    const refused = await n.api.put(`/plugins/${TEMPLATE}/config`, {
      demo_user: 'demo',
      demo_password: 'demo-secret',
      deny_topic: '$SYS/#',
    });
    assert.equal(refused.body.code, 'BAD_CONFIG');
    assert.match(refused.body.message, /refused by the plugin/);
    const one = (await n.api.get(`/plugins/${TEMPLATE}`)).body;
    assert.equal(one.running_status[0].status, 'stopped');
    assert.match(one.readme, /^# template/);
  });

  it('started, its demo authenticator and ACL act on MQTT clients and its hooks see them', async () => {
    assert.equal((await ctl('plugins', 'start', TEMPLATE)).code, 0);
    await assert.rejects(
      connectClient(n.b.port, { username: 'demo', password: 'wrong', reconnectPeriod: 0 }),
    );
    const c: MqttClient = await connectClient(n.b.port, {
      clientId: 'tpl-1',
      username: 'demo',
      password: 'demo-secret',
      protocolVersion: 5,
    });
    const got = collect(c);
    await subscribe(c, 'tpl/#', { qos: 1 });
    const denied = await new Promise<number | undefined>((resolve) =>
      c.publish('forbidden/x', 'no', { qos: 1 }, (_err, packet) =>
        resolve((packet as { reasonCode?: number } | undefined)?.reasonCode),
      ),
    );
    assert.equal(denied, 0x87);
    await publish(c, 'tpl/a', 'hello', { qos: 1 });
    await got.next(1);
    await new Promise<void>((r) => c.unsubscribe('tpl/#', () => r()));
    await end(c);
    for (const hook of [
      'client_connected',
      'client_subscribe',
      'session_subscribed',
      'message_publish',
      'message_delivered',
      'message_acked',
      'client_unsubscribe',
      'session_unsubscribed',
      'client_disconnected',
    ])
      await until(async () => (await pluginMetric(n.api, 'template', hook)) >= 1, `${hook} counted`);
  });

  it('adds `hermod ctl cmd arg1 arg2`, which prints ok', async () => {
    const ok = await ctl('cmd', 'arg1', 'arg2');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'ok');
    const bad = await ctl('cmd', 'other');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /usage: cmd arg1 arg2/);
  });
});
