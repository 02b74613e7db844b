import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readEndpoint } from '../../src/mgmt/runtime.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { collect, connectClient, end, publish, sleep, subscribe } from '../helpers/clients.js';

const BIN = fileURLToPath(new URL('../../../bin/hermod.js', import.meta.url));

describe('hermod ctl against a live node', () => {
  let b: TestBroker;
  let dir: string;
  const ctl = (...args: string[]) => hermod(['ctl', '--data-dir', dir, ...args]);

  before(async () => {
    b = await startBroker({ api: true, tempDataDir: true });
    dir = b.dataDir!;
  });
  after(() => b.stop());

  it('finds the node through its data dir: endpoint file and a 0600 credential', async () => {
    const ep = readEndpoint(dir);
    assert.equal(ep?.url, b.apiUrl);
    assert.equal(ep?.pid, process.pid);
    assert.equal(statSync(join(dir, 'ctl.credential')).mode & 0o777, 0o600);
    const r = await hermod(['ctl', 'status'], { HERMOD_DATA_DIR: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Node 'hermod@127\.0\.0\.1' \d+\.\d+\.\d+ is started$/m);
  });

  it('prints status and broker info, stats and metrics as text or JSON', async () => {
    const s = await ctl('--json', 'status');
    assert.equal(JSON.parse(s.stdout).broker_status, 'started');
    const info = await ctl('broker');
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^version\s+: \d/m);
    assert.match(info.stdout, /^uptime\s+: .*seconds/m);
    const stats = await ctl('broker', 'stats');
    assert.match(stats.stdout, /^connections\.count\s+: 0$/m);
    const metrics = await ctl('--json', 'broker', 'metrics');
    assert.equal(typeof JSON.parse(metrics.stdout)['messages.received'], 'number');
  });

  it('lists, shows and kicks clients; lists topics and subscriptions; adds and deletes subscriptions', async () => {
    const c = await connectClient(b.port, { clientId: 'cli-1', username: 'u1' });
    const got = collect(c);
    await subscribe(c, 'cli/t', { qos: 1 });
    const list = await ctl('clients', 'list');
    assert.match(list.stdout, /^Client\(cli-1, username=u1, peername=127\.0\.0\.1:\d+, .*connected=true/m);
    const show = await ctl('--json', 'clients', 'show', 'cli-1');
    assert.equal(JSON.parse(show.stdout).clientid, 'cli-1');
    const missing = await ctl('clients', 'show', 'nobody');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /CLIENTID_NOT_FOUND/);

    assert.match((await ctl('topics', 'list')).stdout, /^cli\/t -> hermod@127\.0\.0\.1$/m);
    assert.match((await ctl('topics', 'show', 'cli/t')).stdout, /^cli\/t -> hermod@127\.0\.0\.1$/m);
    assert.match(
      (await ctl('subscriptions', 'list')).stdout,
      /^cli-1 -> topic:cli\/t qos:1 nl:0 rap:0 rh:0$/m,
    );
    assert.equal((await ctl('subscriptions', 'add', 'cli-1', 'cli/extra', '1')).code, 0);
    assert.match((await ctl('subscriptions', 'show', 'cli-1')).stdout, /topic:cli\/extra qos:1/);
    const pub = await connectClient(b.port);
    await publish(pub, 'cli/extra', 'via ctl', { qos: 1 });
    const [m] = await got.next(1);
    assert.equal(m!.payload.toString(), 'via ctl');
    assert.equal((await ctl('subscriptions', 'del', 'cli-1', 'cli/extra')).code, 0);
    assert.doesNotMatch((await ctl('subscriptions', 'show', 'cli-1')).stdout, /cli\/extra/);

    const closed = new Promise<void>((r) => c.once('close', () => r()));
    assert.equal((await ctl('clients', 'kick', 'cli-1')).stdout.trim(), 'ok');
    await closed;
    await end(pub);
  });

  it('shows and cleans retained messages', async () => {
    const pub = await connectClient(b.port);
    await publish(pub, 'r/1', 'a', { qos: 1, retain: true });
    await publish(pub, 'r/2', 'b', { qos: 1, retain: true });
    await publish(pub, 'keep/1', 'c', { qos: 1, retain: true });
    assert.equal((await ctl('retainer', 'info')).stdout.trim(), 'Number of retained messages: 3');
    assert.deepEqual((await ctl('retainer', 'topics')).stdout.trim().split('\n'), ['keep/1', 'r/1', 'r/2']);
    assert.deepEqual((await ctl('retainer', 'topics', '2', '1')).stdout.trim().split('\n'), ['r/1']);
    assert.equal((await ctl('retainer', 'clean', 'r/#')).code, 0);
    assert.equal((await ctl('retainer', 'info')).stdout.trim(), 'Number of retained messages: 1');
    await ctl('retainer', 'clean');
    assert.equal((await ctl('retainer', 'info')).stdout.trim(), 'Number of retained messages: 0');
    await end(pub);
  });

  it('lists, stops and starts listeners', async () => {
    const list = await ctl('listeners');
    assert.match(list.stdout, /^tcp:default$/m);
    assert.match(list.stdout, /^ {2}running\s+: true$/m);
    const stopped = await ctl('listeners', 'stop', 'ws:default');
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /Stopped ws:default listener successfully/);
    const started = await ctl('listeners', 'start', 'ws:default');
    assert.match(started.stdout, /Started ws:default listener successfully/);
    assert.equal((await ctl('--json', 'listeners')).code, 0);
    assert.equal((await ctl('listeners', 'restart', 'tcp:nope')).code, 1);
  });

  it('manages admins', async () => {
    assert.equal((await ctl('admins', 'add', 'cliadmin', 'cli-pass-1', 'from ctl')).code, 0);
    const bad = await ctl('admins', 'add', 'weak', 'short', 'x');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BAD_REQUEST/);
    assert.equal((await ctl('admins', 'passwd', 'cliadmin', 'cli-pass-2')).code, 0);
    const login = await fetch(`${b.apiUrl}/api/v5/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'cliadmin', password: 'cli-pass-2' }),
    });
    assert.equal(login.status, 200);
    assert.equal((await ctl('admins', 'del', 'cliadmin')).code, 0);
    assert.equal((await ctl('admins', 'del', 'cliadmin')).code, 1);
  });

  it('shows the config and reports reload as unsupported for an embedded node', async () => {
    const all = await ctl('conf', 'show');
    assert.equal(all.code, 0);
    // The whole config prints as HOCON, as `emqx ctl conf show` does.
    assert.match(all.stdout, /^mqtt \{$/m);
    assert.match(all.stdout, /^ {4}max_inflight = 32$/m);
    assert.equal((await ctl('conf', 'show', 'mqtt.max_inflight')).stdout.trim(), 'mqtt.max_inflight = 32');
    assert.match((await ctl('conf', 'show', 'retainer')).stdout, /^retainer \{/);
    assert.equal((await ctl('conf', 'show', 'mqtt.nope')).code, 1);
    const reload = await ctl('conf', 'reload');
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /NOT_SUPPORTED/);
  });

  it('lists, adds and deletes bans', async () => {
    assert.equal((await ctl('banned', 'list')).stdout.trim(), 'No bans.');
    const add = await ctl('banned', 'add', 'clientid', 'bad-bot', '--reason', 'spam');
    assert.equal(add.code, 0, add.stderr);
    assert.match(
      (await ctl('banned', 'list')).stdout,
      /^clientid bad-bot by=mgmt_api reason="spam" at=\S+ until=infinity$/m,
    );
    try {
      await connectClient(b.port, { clientId: 'bad-bot', protocolVersion: 5 });
      assert.fail('banned client connected');
    } catch (err) {
      assert.equal((err as { code?: number }).code, 0x8a);
    }
    assert.equal((await ctl('banned', 'del', 'clientid', 'bad-bot')).code, 0);
    assert.equal((await ctl('banned', 'del', 'clientid', 'bad-bot')).code, 1);
  });

  it('prints usage on stderr and exits 1 for a bad command or bad arguments', async () => {
    for (const args of [
      [],
      ['nonsense'],
      ['clients'],
      ['clients', 'show'],
      ['subscriptions', 'add', 'x', 't', '7'],
      ['retainer', 'topics', '1'],
      ['broker', 'x'],
    ]) {
      const r = await ctl(...args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /Usage: hermod ctl/, args.join(' '));
      assert.equal(r.stdout, '');
    }
    const help = await ctl('help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /hermod ctl banned list/);
  });

  it('says when no node is running', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'hermod-empty-'));
    try {
      const r = await hermod(['ctl', '--data-dir', empty, 'status']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Node is not running/);
      const s = await hermod(['stop', '--data-dir', empty]);
      assert.equal(s.code, 1);
      assert.match(s.stderr, /no running node/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('hermod start / ctl / stop as processes', () => {
  it('stops a running node gracefully and waits for it to exit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermod-proc-'));
    const env = {
      ...process.env,
      NODE_TEST_CONTEXT: '',
      HERMOD_NODE__DATA_DIR: dir,
      HERMOD_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:0',
      HERMOD_LISTENERS__WS__DEFAULT__ENABLE: 'false',
      HERMOD_DASHBOARD__LISTENERS__HTTP__BIND: '127.0.0.1:0',
    };
    const child = spawn(process.execPath, [BIN, 'start'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      for (let i = 0; i < 100 && !existsSync(join(dir, 'ctl.endpoint')); i++) await sleep(100);
      assert.ok(existsSync(join(dir, 'ctl.endpoint')), `node did not start: ${stderr}`);
      const st = await hermod(['ctl', 'status'], { HERMOD_NODE__DATA_DIR: dir });
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, /is started/);
      const stop = await hermod(['stop'], { HERMOD_NODE__DATA_DIR: dir });
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /stopped/);
      assert.equal(await exited, 0);
      assert.equal(existsSync(join(dir, 'ctl.endpoint')), false, 'runtime files are removed at stop');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints the version', async () => {
    const r = await hermod(['version']);
    assert.match(r.stdout, /^hermod \d+\.\d+\.\d+/);
  });
});
