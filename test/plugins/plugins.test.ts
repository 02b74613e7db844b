import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { captureLogs } from '../helpers/log-capture.js';
import { type ApiClient, adminClient } from '../mgmt/http.js';
import { appender, buildPackage } from './packages.js';

/** Rewrites payloads on rw/#, adds a route, a ctl command and a metric; refuses a config with refuse=true. */
const REWRITE = `
let api;
export default {
  start(a) {
    api = a;
    api.hook('message.publish', (msg) => {
      if (!msg.topic.startsWith('rw/')) return undefined;
      msg.payload = Buffer.from(api.config().prefix + msg.payload.toString().toUpperCase());
      api.metrics.inc('rewritten');
      return undefined;
    });
    api.route('GET', '/hello/:who', (req) => ({ body: { hello: req.params.who, node: api.node.name } }));
    api.route('GET', '/fail', () => { throw new Error('route broke'); });
    api.ctl('greet', { usage: ['greet <Who>   # Say hello'], run: (args) => 'hello ' + args.join(' ') });
  },
  onConfigChanged(oldConf, newConf) {
    if (newConf.refuse === true) throw new Error('refusing this config');
  },
  healthCheck() {},
};
`;
const SCHEMA = JSON.stringify({
  type: 'object',
  properties: { prefix: { type: 'string' }, refuse: { type: 'boolean' } },
  required: ['prefix'],
  additionalProperties: false,
});

/** Uploads a package as the API's multipart field "plugin". */
async function upload(api: ApiClient, file: string, start = false) {
  const form = new FormData();
  const name = file.replace(/^.*\//, '');
  form.append('plugin', new Blob([readFileSync(file)], { type: 'application/gzip' }), name);
  if (start) form.append('start', 'true');
  const res = await fetch(`${api.base}/api/v5/plugins/install`, {
    method: 'POST',
    headers: { authorization: api.auth! },
    body: form,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('plugins: packages, lifecycle, API, hooks, CLI', () => {
  let b: TestBroker;
  let api: ApiClient;
  let dataDir: string;
  let pkgDir: string;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', dataDir, ...args]);
  const installDir = () => join(dataDir, 'plugins');

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hermod-plugins-'));
    pkgDir = mkdtempSync(join(tmpdir(), 'hermod-pkgs-'));
    b = await startBroker({ api: true, dataDir, config: { plugins: { max_unpacked_size: '64KB' } } });
    api = await adminClient(b);
  });
  after(async () => {
    await b.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(pkgDir, { recursive: true, force: true });
  });

  it('installs an allowed upload, starts it and its hook rewrites messages', async () => {
    const file = await buildPackage(pkgDir, {
      name: 'rewrite',
      vsn: '1.0.0',
      code: REWRITE,
      files: { 'priv/config.hocon': 'prefix = "v1:"\n', 'priv/config_schema.json': SCHEMA },
    });
    const refused = await upload(api, file);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'FORBIDDEN');
    // Only the ctl credential opens the gate.
    assert.equal((await api.post('/plugins/rewrite-1.0.0/allow')).status, 403);
    const allow = await ctl('plugins', 'allow', 'rewrite-1.0.0');
    assert.equal(allow.code, 0, allow.stderr);
    assert.deepEqual(JSON.parse(allow.stdout), { action: 'allow', name_vsn: 'rewrite-1.0.0', result: 'ok' });
    assert.equal((await upload(api, file)).status, 204);
    const again = await upload(api, file);
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'ALREADY_INSTALLED');
    assert.ok(existsSync(join(installDir(), 'rewrite-1.0.0.tar.gz.md5sum')));

    const list = (await api.get('/plugins')).body;
    assert.equal(list[0].name, 'rewrite');
    assert.equal(list[0].config_status, 'not_configured');
    assert.deepEqual(list[0].running_status, [{ node: b.node.name, status: 'stopped' }]);
    const described = (await api.get('/plugins/rewrite-1.0.0')).body;
    assert.match(described.readme, /^# rewrite/);
    assert.equal((await api.get('/plugins/nope-1.0.0')).body.code, 'NOT_FOUND');

    assert.equal((await api.put('/plugins/rewrite-1.0.0/start')).status, 204);
    assert.equal((await api.get('/plugins/rewrite-1.0.0')).body.config_status, 'enabled');
    const sub = await connectClient(b.port, { clientId: 'rw-sub' });
    const got = collect(sub);
    await subscribe(sub, 'rw/#', { qos: 1 });
    const pub = await connectClient(b.port, { clientId: 'rw-pub' });
    await publish(pub, 'rw/a', 'hello', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'v1:HELLO');

    // Config: schema-checked, then the plugin may refuse; an accepted one applies at once.
    assert.deepEqual((await api.get('/plugins/rewrite-1.0.0/config')).body, { prefix: 'v1:' });
    const bad = await api.put('/plugins/rewrite-1.0.0/config', { prefix: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_CONFIG');
    const refusedConf = await api.put('/plugins/rewrite-1.0.0/config', { prefix: 'x', refuse: true });
    assert.equal(refusedConf.body.code, 'BAD_CONFIG');
    assert.match(refusedConf.body.message, /refusing this config/);
    assert.equal((await api.put('/plugins/rewrite-1.0.0/config', { prefix: 'c2:' })).status, 204);
    await publish(pub, 'rw/b', 'again', { qos: 1 });
    assert.equal((await got.next(2))[1]!.payload.toString(), 'c2:AGAIN');
    assert.equal((await api.get('/plugins/rewrite-1.0.0/schema')).body.avsc.required[0], 'prefix');
    assert.deepEqual((await api.get('/plugins/rewrite-1.0.0/health')).body, { status: 'ok' });

    // Its route, its ctl command and its metric.
    const hello = await api.get('/plugin_api/rewrite/hello/you');
    assert.deepEqual(hello.body, { hello: 'you', node: b.node.name });
    assert.equal((await api.get('/plugin_api/rewrite/hello/you', { auth: null })).status, 401);
    const broken = await api.get('/plugin_api/rewrite/fail');
    assert.equal(broken.status, 500);
    assert.equal(broken.body.code, 'INTERNAL_ERROR');
    assert.equal((await api.get('/plugins/rewrite-1.0.0')).body.callback_errors, 1);
    const greet = await ctl('greet', 'a', 'b');
    assert.equal(greet.stdout.trim(), 'hello a b');
    const prom = await api.get('/prometheus/stats');
    assert.match(prom.text, /^hermod_plugin_rewritten\{plugin="rewrite"\} 2$/m);

    // Stop removes everything it registered: messages pass unchanged, the route is gone.
    assert.equal((await api.put('/plugins/rewrite-1.0.0/stop')).status, 204);
    await publish(pub, 'rw/c', 'plain', { qos: 1 });
    assert.equal((await got.next(3))[2]!.payload.toString(), 'plain');
    assert.equal((await api.get('/plugin_api/rewrite/hello/you')).status, 404);
    assert.equal((await api.get('/plugins/rewrite-1.0.0')).body.config_status, 'disabled');
    await end(sub);
    await end(pub);
  });

  it('refuses bad packages with BAD_PLUGIN_INFO and leaves nothing on disk', async () => {
    const cases: Array<[string, Parameters<typeof buildPackage>[1]]> = [
      ['dotdot', { name: 'dotdot', vsn: '1', code: REWRITE, rawEntries: ['../evil'] }],
      ['symlink', { name: 'symlink', vsn: '1', code: REWRITE, links: { passwd: '/etc/passwd' } }],
      ['norelease', { name: 'norelease', vsn: '1', code: REWRITE, release: { name: null } }],
      ['mismatch', { name: 'mismatch', vsn: '1', code: REWRITE, release: { rel_vsn: '2' } }],
      [
        'incompat',
        { name: 'incompat', vsn: '1', code: REWRITE, release: { compatibility: { hermod: '>=99' } } },
      ],
      ['badentry', { name: 'badentry', vsn: '1', code: 'export default { start( {' }],
      ['nostart', { name: 'nostart', vsn: '1', code: 'export const x = 1;' }],
      ['huge', { name: 'huge', vsn: '1', code: REWRITE, files: { 'big.bin': 'x'.repeat(100_000) } }],
    ];
    const before = readdirSync(installDir()).sort();
    for (const [label, spec] of cases) {
      const file = await buildPackage(pkgDir, spec);
      const nameVsn = `${spec.name}-${spec.vsn}`;
      // The ctl gate itself is covered above; in-process keeps this loop fast.
      b.node.plugins.allow(nameVsn);
      const r = await upload(api, file);
      assert.equal(r.status, 400, `${label}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'BAD_PLUGIN_INFO', label);
      assert.deepEqual(readdirSync(installDir()).sort(), before, `${label} left files behind`);
    }
    const noFile = await api.req('POST', '/api/v5/plugins/install', {
      raw: '--x\r\ncontent-disposition: form-data; name="other"\r\n\r\nv\r\n--x--\r\n',
      contentType: 'multipart/form-data; boundary=x',
    });
    assert.equal(noFile.body.code, 'BAD_FORM_DATA');
  });

  it('catches a throwing hook: counted, logged with the plugin name, the message still flows', async () => {
    const file = await buildPackage(pkgDir, {
      name: 'boom',
      vsn: '0.1',
      code: `export default { start(api) {
        api.hook('message.publish', (msg) => { if (msg.topic === 'boom/t') throw new Error('kaboom'); });
        api.hook('message.publish', async (msg) => { if (msg.topic === 'boom/t') throw new Error('async kaboom'); });
      } };`,
    });
    await ctl('plugins', 'allow', 'boom-0.1');
    const logs = captureLogs('error');
    try {
      // One call installs and starts it.
      assert.equal((await upload(api, file, true)).status, 204);
      assert.equal((await api.get('/plugins/boom-0.1')).body.running_status[0].status, 'running');
      const c = await connectClient(b.port, { clientId: 'boom' });
      const got = collect(c);
      await subscribe(c, 'boom/t', { qos: 1 });
      await publish(c, 'boom/t', 'still here', { qos: 1 });
      assert.equal((await got.next(1))[0]!.payload.toString(), 'still here');
      await end(c);
    } finally {
      logs.restore();
    }
    const failures = logs.matching('plugin callback failed');
    assert.equal(failures.length, 2);
    assert.equal(failures[0].plugin, 'boom');
    assert.equal((await api.get('/plugins/boom-0.1')).body.callback_errors, 2);
    assert.equal((await api.del('/plugins/boom-0.1')).status, 204);
    assert.equal(existsSync(join(installDir(), 'boom-0.1')), false);
  });

  it('orders hooks of equal priority by plugins.states, and a move re-sorts them live', async () => {
    for (const n of ['aa', 'bb']) {
      const file = await buildPackage(pkgDir, { name: n, vsn: '1.0', code: appender(n) });
      await ctl('plugins', 'allow', `${n}-1.0`);
      assert.equal((await upload(api, file)).status, 204);
      assert.equal((await api.put(`/plugins/${n}-1.0/start`)).status, 204);
    }
    const c = await connectClient(b.port, { clientId: 'chain' });
    const got = collect(c);
    await subscribe(c, 'chain/#', { qos: 1 });
    await publish(c, 'chain/1', 'x', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'x-aa-bb');
    assert.equal((await api.post('/plugins/bb-1.0/move', { position: 'before:aa-1.0' })).status, 204);
    await publish(c, 'chain/2', 'x', { qos: 1 });
    assert.equal((await got.next(2))[1]!.payload.toString(), 'x-bb-aa');
    const self = await api.post('/plugins/bb-1.0/move', { position: 'after:bb-1.0' });
    assert.equal(self.body.code, 'BAD_POSITION');
    assert.equal((await api.post('/plugins/bb-1.0/move', { position: 'middle' })).body.code, 'BAD_POSITION');
    assert.equal(
      (await api.post('/plugins/bb-1.0/move', { position: 'after:zz-1' })).body.code,
      'MOVE_FAILED',
    );
    const order = (await api.get('/plugins')).body.map((p: { name: string }) => p.name);
    assert.deepEqual(order.slice(0, 3), ['rewrite', 'bb', 'aa']);
    await end(c);
  });

  it('runs the ctl verbs on a package placed in install_dir', async () => {
    const file = await buildPackage(pkgDir, { name: 'placed', vsn: '2.0', code: appender('placed') });
    copyFileSync(file, join(installDir(), 'placed-2.0.tar.gz'));
    const out = async (...args: string[]) => {
      const r = await ctl('plugins', ...args);
      return JSON.parse(r.stdout);
    };
    assert.equal((await out('install', 'placed-2.0')).result, 'ok');
    assert.equal((await out('start', 'placed-2.0')).result, 'ok');
    assert.deepEqual(await out('uninstall', 'placed-2.0'), {
      action: 'uninstall',
      name_vsn: 'placed-2.0',
      result: 'not_ok',
      cause: 'stop_the_plugin_first',
    });
    assert.equal((await out('enable', 'placed-2.0', 'front')).result, 'ok');
    assert.equal((await api.get('/plugins')).body[0].name, 'placed');
    const listed = await out('list', 'placed');
    assert.equal(listed[0].rel_vsn, '2.0');
    assert.equal((await out('unload', 'placed')).result, 'ok');
    assert.equal((await out('describe', 'placed-2.0')).config_status, 'disabled');
    assert.equal((await out('uninstall', 'placed-2.0')).result, 'ok');
    assert.equal(existsSync(join(installDir(), 'placed-2.0.tar.gz')), false);
  });

  it('upgrades a running plugin while QoS 1 traffic flows, losing nothing and keeping its config', async () => {
    const v2 = await buildPackage(pkgDir, {
      name: 'aa',
      vsn: '2.0',
      code: appender('aa2'),
      files: { 'priv/config.hocon': 'tag = "from-defaults"\n' },
    });
    mkdirSync(join(dataDir, 'plugins', 'aa'), { recursive: true });
    writeFileSync(join(dataDir, 'plugins', 'aa', 'config.hocon'), 'tag = "kept"\n');
    await ctl('plugins', 'allow', 'aa-2.0');
    const sub = await connectClient(b.port, { clientId: 'up-sub', clean: false });
    const got = collect(sub);
    await subscribe(sub, 'chain/up', { qos: 1 });
    const pub = await connectClient(b.port, { clientId: 'up-pub' });
    const total = 200;
    const sending = (async () => {
      for (let i = 0; i < total; i++) await publish(pub, 'chain/up', String(i), { qos: 1 });
    })();
    const up = await upload(api, v2);
    await sending;
    assert.equal(up.status, 204);
    const msgs = await got.next(total);
    const seen = new Set(msgs.map((m) => m.payload.toString().split('-')[0]));
    assert.equal(seen.size, total);
    const names = (await api.get('/plugins')).body.map(
      (p: { name: string; rel_vsn: string }) => `${p.name}-${p.rel_vsn}`,
    );
    assert.ok(names.includes('aa-2.0') && !names.includes('aa-1.0'));
    assert.equal(names.indexOf('aa-2.0'), 2, 'the new version keeps the old one’s place');
    assert.equal((await api.get('/plugins/aa-2.0')).body.running_status[0].status, 'running');
    assert.deepEqual((await api.get('/plugins/aa-2.0/config')).body, { tag: 'kept' });
    await publish(pub, 'chain/up', 'last', { qos: 1 });
    assert.equal((await got.next(total + 1))[total]!.payload.toString(), 'last-bb-kept');
    await end(sub);
    await end(pub);
  });

  it('keeps states, order and config across a node restart', async () => {
    const before = (await api.get('/plugins')).body.map((p: Record<string, unknown>) => [
      `${p.name}-${p.rel_vsn}`,
      p.config_status,
      (p.running_status as Array<{ status: string }>)[0]!.status,
    ]);
    await b.stop();
    b = await startBroker({ api: true, dataDir, config: { plugins: { max_unpacked_size: '64KB' } } });
    api = await adminClient(b);
    const after = (await api.get('/plugins')).body.map((p: Record<string, unknown>) => [
      `${p.name}-${p.rel_vsn}`,
      p.config_status,
      (p.running_status as Array<{ status: string }>)[0]!.status,
    ]);
    assert.deepEqual(after, before);
    assert.deepEqual((await api.get('/plugins/rewrite-1.0.0/config')).body, { prefix: 'c2:' });
    const c = await connectClient(b.port, { clientId: 'after-restart' });
    const got = collect(c);
    await subscribe(c, 'chain/r', { qos: 1 });
    await publish(c, 'chain/r', 'x', { qos: 1 });
    assert.equal((await got.next(1))[0]!.payload.toString(), 'x-bb-kept');
    await end(c);
  });
});
