/**
 * EMQX 4.x `emqx_ctl` commands scripts still call, run as `hermod ctl …` against a live node: clients,
 * subscriptions, routes, plugins load/reload/unload by name, and the built-in database's `user`, `username`
 * and `clientid` tables (emqx_auth_mnesia / emqx_auth_clientid), with 4.x-like text output.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loginCode, RC } from '../access/helpers.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { appender, buildPackage } from '../plugins/packages.js';

describe('hermod ctl: EMQX 4.x commands', () => {
  let b: TestBroker;
  let byClientId: TestBroker;
  let pkgDir: string;
  const ctl = (node: TestBroker, ...args: string[]) => hermod(['ctl', '--data-dir', node.dataDir!, ...args]);

  before(async () => {
    pkgDir = mkdtempSync(join(tmpdir(), 'hermod-ctl4-pkg-'));
    const builtIn = (user_id_type: string) => ({
      authentication: [{ mechanism: 'password_based', backend: 'built_in_database', user_id_type }],
    });
    b = await startBroker({ api: true, tempDataDir: true, config: builtIn('username') });
    byClientId = await startBroker({ api: true, tempDataDir: true, config: builtIn('clientid') });
  });
  after(async () => {
    await b?.stop();
    await byClientId?.stop();
    rmSync(pkgDir, { recursive: true, force: true });
  });

  it('user / username add, update, list, del (emqx_auth_mnesia); clientid is refused with a pointer', async () => {
    assert.equal((await ctl(b, 'user', 'add', 'u4', 'pw-1')).stdout.trim(), 'ok');
    assert.equal(await loginCode(b.port, { username: 'u4', password: 'pw-1' }), RC.OK);
    assert.equal((await ctl(b, 'username', 'update', 'u4', 'pw-2')).stdout.trim(), 'ok');
    assert.equal(await loginCode(b.port, { username: 'u4', password: 'pw-2' }), RC.OK);
    assert.deepEqual((await ctl(b, 'user', 'list')).stdout.trim().split('\n'), ['u4']);
    assert.equal((await ctl(b, 'users', 'update', 'u4', 'pw-3')).code, 0, '3.x users takes update too');
    const wrong = await ctl(b, 'clientid', 'add', 'dev-1', 'pw');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /identifies clients by username, not clientid: use hermod ctl user/);
    assert.equal((await ctl(b, 'username', 'del', 'u4')).stdout.trim(), 'ok');
    assert.equal((await ctl(b, 'user', 'list')).stdout.trim(), '');
    const usage = await ctl(b, 'clientid', 'add', 'only-id');
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /clientid add <ClientId> <Password>/);
  });

  it('clientid add, update, list, del on a built-in database keyed by client id', async () => {
    assert.equal((await ctl(byClientId, 'clientid', 'add', 'dev-1', 'pw-1')).stdout.trim(), 'ok');
    assert.equal(
      await loginCode(byClientId.port, { clientId: 'dev-1', username: 'any', password: 'pw-1' }),
      RC.OK,
    );
    assert.equal((await ctl(byClientId, 'clientid', 'update', 'dev-1', 'pw-2')).code, 0);
    assert.equal(
      await loginCode(byClientId.port, { clientId: 'dev-1', username: 'any', password: 'pw-1' }),
      RC.BAD_USER,
    );
    assert.deepEqual((await ctl(byClientId, 'clientid', 'list')).stdout.trim().split('\n'), ['dev-1']);
    assert.equal((await ctl(byClientId, 'clientid', 'del', 'dev-1')).code, 0);
    assert.match((await ctl(byClientId, 'user', 'list')).stderr, /use hermod ctl clientid/);
  });

  it('clients list|show|kick, subscriptions add|show|del and routes list|show, as 4.x prints them', async () => {
    await ctl(b, 'user', 'add', 'viewer', 'pw');
    const c = await connectClient(b.port, { clientId: 'c4', username: 'viewer', password: 'pw' });
    const got = collect(c);
    assert.match(
      (await ctl(b, 'clients', 'list')).stdout,
      /^Client\(c4, username=viewer, peername=127\.0\.0\.1:\d+, clean_start=true/m,
    );
    assert.match((await ctl(b, 'clients', 'show', 'c4')).stdout, /^Client\(c4, .*connected=true/);
    assert.equal((await ctl(b, 'subscriptions', 'add', 'c4', 'ops/#', '1')).stdout.trim(), 'ok');
    assert.equal(
      (await ctl(b, 'subscriptions', 'show', 'c4')).stdout.trim(),
      'c4 -> topic:ops/# qos:1 nl:0 rap:0 rh:0',
    );
    assert.equal((await ctl(b, 'routes', 'list')).stdout.trim(), `ops/# -> ${b.config.node.name}`);
    assert.equal((await ctl(b, 'routes', 'show', 'ops/#')).stdout.trim(), `ops/# -> ${b.config.node.name}`);
    const pub = await connectClient(b.port, { clientId: 'p4', username: 'viewer', password: 'pw' });
    await publish(pub, 'ops/1', 'hello', { qos: 1 });
    assert.equal((await got.next(1))[0]!.topic, 'ops/1');
    assert.equal((await ctl(b, 'subscriptions', 'del', 'c4', 'ops/#')).stdout.trim(), 'ok');
    assert.equal((await ctl(b, 'routes', 'list')).stdout.trim(), 'No routes.');
    await subscribe(c, 'keep/1', { qos: 0 });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    assert.equal((await ctl(b, 'clients', 'kick', 'c4')).stdout.trim(), 'ok');
    await closed;
    await end(pub);
    await end(c, true);
  });

  it('plugins load, reload and unload a plugin by its name', async () => {
    const file = await buildPackage(pkgDir, { name: 'four', vsn: '1.0', code: appender('four') });
    const dir = join(b.dataDir!, 'plugins');
    mkdirSync(dir, { recursive: true });
    copyFileSync(file, join(dir, 'four-1.0.tar.gz'));
    const out = async (...args: string[]) => JSON.parse((await ctl(b, 'plugins', ...args)).stdout);
    assert.equal((await out('install', 'four-1.0')).result, 'ok');
    assert.deepEqual(await out('load', 'four'), { action: 'load', name_vsn: 'four-1.0', result: 'ok' });
    assert.deepEqual(await out('reload', 'four'), { action: 'reload', name_vsn: 'four-1.0', result: 'ok' });
    assert.equal((await out('list', 'four'))[0].running_status[0].status, 'running');
    assert.deepEqual(await out('unload', 'four'), { action: 'unload', name_vsn: 'four-1.0', result: 'ok' });
    assert.equal((await out('list', 'four'))[0].running_status[0].status, 'stopped');
  });
});
