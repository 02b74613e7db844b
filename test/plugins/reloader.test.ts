import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { buildPackage } from './packages.js';
import { pluginMetric, type ShippedNode, startShipped, until } from './shipped.js';

const RELOADER = 'reloader-1.0.0';
const DEV = 'devplug-1.0.0';

/** A plugin whose publish hook appends the tag exported by its second module, tag.js. */
const DEV_ENTRY = `
import { TAG } from './tag.js';
export default {
  start(api) {
    api.hook('message.publish', (msg) => {
      if (msg.topic.startsWith('dev/')) msg.payload = Buffer.concat([msg.payload, Buffer.from('-' + TAG)]);
      return undefined;
    });
  },
};
`;

/** Builds the `devplug` package (its tag.js says v1), installs it on `n` and starts it. */
async function installDevPlugin(n: Awaited<ReturnType<typeof startShipped>>): Promise<void> {
  const tarball = await buildPackage(n.dataDir, {
    name: 'devplug',
    vsn: '1.0.0',
    code: DEV_ENTRY,
    files: { 'tag.js': "export const TAG = 'v1';\n", 'package.json': '{"type":"module"}' },
  });
  n.b.node.plugins.allow(DEV);
  await n.b.node.plugins.installUpload(`${DEV}.tar.gz`, readFileSync(tarball));
  await n.b.node.plugins.startAndEnable(DEV);
}

describe('reloader: restarts a plugin from its files when they change', () => {
  let n: ShippedNode;
  let c: MqttClient;
  let got: ReturnType<typeof collect>;
  let seen = 0;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', n.dataDir, ...args]);

  /** Publishes `p` on dev/t and resolves to the payload the subscriber gets. */
  async function roundTrip(p: string): Promise<string> {
    await publish(c, 'dev/t', p, { qos: 1 });
    return (await got.next(++seen)).at(-1)!.payload.toString();
  }

  before(async () => {
    n = await startShipped();
    await installDevPlugin(n);
    c = await connectClient(n.b.port, { clientId: 'dev-sub' });
    got = collect(c);
    await subscribe(c, 'dev/#', { qos: 1 });
  });
  after(async () => {
    await end(c);
    await n.stop();
  });

  it('refuses to start on a prod node unless forced, and refuses a bad config', async () => {
    const bad = await n.api.put(`/plugins/${RELOADER}/config`, { debounce_ms: -1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_CONFIG');
    const refused = await n.api.put(`/plugins/${RELOADER}/start`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /node\.profile is prod/);
    assert.equal((await n.api.get(`/plugins/${RELOADER}`)).body.running_status[0].status, 'stopped');
    assert.equal((await ctl('reload', 'devplug')).code, 1, 'no reload command while stopped');
  });

  it('forced, it reloads a changed plugin with all its modules, and on `hermod ctl reload`', async () => {
    assert.equal(await roundTrip('a'), 'a-v1');
    const forced = { plugins: ['devplug'], debounce_ms: 50, force: true };
    assert.equal((await n.api.put(`/plugins/${RELOADER}/config`, forced)).status, 204);
    assert.equal((await n.api.put(`/plugins/${RELOADER}/start`)).status, 204);

    const dir = join(n.dataDir, 'plugins', DEV);
    writeFileSync(join(dir, 'tag.js'), "export const TAG = 'v2';\n");
    await until(async () => (await pluginMetric(n.api, 'reloader', 'reloads')) >= 1, 'the reload');
    assert.equal(await roundTrip('b'), 'b-v2');
    assert.equal((await n.api.get(`/plugins/${DEV}`)).body.running_status[0].status, 'running');

    const r = await ctl('reload', 'devplug');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Reloaded devplug/);
    assert.equal(await roundTrip('c'), 'c-v2');
    const unknown = await ctl('reload', 'nothere');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not found/);
  });

  it('a change that breaks the plugin is reported; the next good change brings it back', async () => {
    const dir = join(n.dataDir, 'plugins', DEV);
    const failures = await pluginMetric(n.api, 'reloader', 'reload_failures');
    writeFileSync(join(dir, 'tag.js'), 'export const TAG = ;\n');
    await until(
      async () => (await pluginMetric(n.api, 'reloader', 'reload_failures')) > failures,
      'the failed reload',
    );
    writeFileSync(join(dir, 'tag.js'), "export const TAG = 'v3';\n");
    await until(async () => (await roundTrip('d')) === 'd-v3', 'v3 in use');
  });
});

describe('reloader: on a node.profile = dev node', () => {
  let n: ShippedNode;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', n.dataDir, ...args]);

  before(async () => {
    n = await startShipped({ node: { profile: 'dev' } });
    await installDevPlugin(n);
  });
  after(async () => {
    await n.stop();
  });

  it('starts with its default config (no force) and reloads a plugin whose file changed', async () => {
    assert.equal((await n.api.get(`/plugins/${RELOADER}/config`)).body.force, false);
    const started = await ctl('plugins', 'start', RELOADER);
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await n.api.get(`/plugins/${RELOADER}`)).body.running_status[0].status, 'running');

    const c = await connectClient(n.b.port, { clientId: 'dev-profile' });
    const got = collect(c);
    await subscribe(c, 'dev/#', { qos: 1 });
    await publish(c, 'dev/t', 'a', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'a-v1');
    writeFileSync(join(n.dataDir, 'plugins', DEV, 'tag.js'), "export const TAG = 'v2';\n");
    const r = await ctl('reload', 'devplug');
    assert.equal(r.code, 0, r.stderr);
    await publish(c, 'dev/t', 'b', { qos: 1 });
    assert.equal((await got.next(2))[1]!.payload.toString(), 'b-v2');
    await end(c);
  });
});
