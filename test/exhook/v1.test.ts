/**
 * Servers built from EMQX 4.x's proto (package emqx.exhook.v1) work unchanged, with no setting: Hermod tries
 * v3, then v2, then v1, and speaks v1's shapes to them (OnClientCheckAcl, OnSessionTakeovered, its enum
 * numbers, its topic filter and shared subscription fields). One server is grpc-js, one Python (grpcio),
 * each generated from proto/exhook_v1.proto.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { repoRoot } from '../helpers/fixtures.js';
import { eventually, type Request, TestProvider } from './provider.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown) => v as Obj;

describe('exhook: a grpc-js server built from the v1 proto (EMQX 4.x)', () => {
  let p: TestProvider;
  let b: TestBroker;
  before(async () => {
    p = await TestProvider.start({
      version: 'v1',
      hooks: [
        { name: 'client.authenticate' },
        { name: 'client.check_acl' },
        { name: 'client.subscribe' },
        { name: 'session.subscribed' },
        { name: 'session.takeovered' },
        { name: 'message.publish', topics: ['v1/#'] },
      ],
      handlers: {
        OnClientAuthenticate: (req: Request) => ({
          type: 'STOP_AND_RETURN',
          bool_result: obj(req.clientinfo).password === 'letmein',
        }),
        // CONTINUE is 1 in v1 (IGNORE in v2/v3): read with v2 numbers the denial would be dropped.
        OnClientCheckAcl: (req: Request) =>
          req.topic === 'v1/secret' ? { type: 'CONTINUE', bool_result: false } : { type: 'IGNORE' },
        OnMessagePublish: (req: Request) => ({
          type: 'STOP_AND_RETURN',
          message: { ...obj(req.message), payload: Buffer.from('hardcoded by v1') },
        }),
      },
    });
    b = await startBroker({ config: { exhook: { servers: [{ name: 'old', url: p.url }] } } });
  });
  after(async () => {
    await b.stop();
    await p.stop();
  });

  it('is loaded on the emqx.exhook.v1 path, its hook names taken as the current ones', () => {
    const s = b.node.exhook.server('old')!;
    assert.equal(s.status, 'connected');
    assert.equal(s.version, 'v1');
    const names = s.hookSpecs().map((h) => h.name);
    assert.ok(names.includes('client.authorize'));
    assert.ok(names.includes('session.takenover'));
    const [loaded] = p.of('OnProviderLoaded');
    // v1's BrokerInfo.uptime is a string.
    assert.match(String(obj(loaded!.broker).uptime), /^[0-9]+$/);
  });

  it('decides logins and ACL checks, rewrites messages, and gets v1-shaped notifications', async () => {
    await assert.rejects(connectClient(b.port, { username: 'u', password: 'nope' }), /authorized/i);
    const c = await connectClient(b.port, { clientId: 'v1-c', username: 'u', password: 'letmein' });
    const got = collect(c);
    await assert.rejects(subscribe(c, 'v1/secret', { qos: 1 }), /Subscribe error/);
    const acl = await p.waitFor('OnClientCheckAcl', (r) => r.topic === 'v1/secret');
    assert.equal(acl.type, 'SUBSCRIBE');
    assert.equal(obj(acl.clientinfo).username, 'u');
    await subscribe(c, 'v1/#', { qos: 1 });
    await publish(c, 'v1/1', 'original', { qos: 1 });
    const [m] = await got.next(1, 10_000);
    assert.equal(m!.payload.toString(), 'hardcoded by v1');
    const pubAcl = await p.waitFor('OnClientCheckAcl', (r) => r.topic === 'v1/1');
    assert.equal(pubAcl.type, 'PUBLISH');
    const sub = await p.waitFor('OnClientSubscribe', (r) => obj(r.clientinfo).clientid === 'v1-c');
    assert.deepEqual(sub.topic_filters, [{ name: 'v1/#', qos: 1 }]);
    await subscribe(c, '$share/g1/v1/shared', { qos: 2 });
    const shared = await p.waitFor('OnSessionSubscribed', (r) => r.topic === 'v1/shared');
    assert.deepEqual(
      { qos: obj(shared.subopts).qos, share: obj(shared.subopts).share },
      { qos: 2, share: 'g1' },
    );
    await end(c);
  });

  it('sends session.takeovered as OnSessionTakeovered', async () => {
    const a = await connectClient(b.port, {
      clientId: 'v1-t',
      username: 'u',
      password: 'letmein',
      clean: false,
    });
    const a2 = await connectClient(b.port, {
      clientId: 'v1-t',
      username: 'u',
      password: 'letmein',
      clean: false,
    });
    const t = await p.waitFor('OnSessionTakeovered');
    assert.equal(obj(t.clientinfo).clientid, 'v1-t');
    for (const c of [a, a2]) await end(c, true);
  });
});

/** The Python provider's process, its port and the JSON lines it reported. */
interface PythonProvider {
  proc: ChildProcess;
  port: number;
  lines: Obj[];
  dir: string;
}

/** Generates the v1 stubs with grpc_tools into a temp dir and starts the Python provider on a free port. */
async function startPythonProvider(): Promise<PythonProvider> {
  const python = '/usr/bin/python3';
  const dir = mkdtempSync(path.join(tmpdir(), 'hermod-exhook-py-'));
  const protoDir = path.join(repoRoot(), 'proto');
  const gen = spawnSync(
    python,
    [
      '-m',
      'grpc_tools.protoc',
      `-I${protoDir}`,
      `--python_out=${dir}`,
      `--grpc_python_out=${dir}`,
      path.join(protoDir, 'exhook_v1.proto'),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(gen.status, 0, `grpc_tools.protoc failed: ${gen.stderr}`);
  const script = path.join(repoRoot(), 'test', 'fixtures', 'exhook', 'v1_provider.py');
  const proc = spawn(python, [script], {
    env: { ...process.env, PYTHONPATH: dir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines: Obj[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`python provider exited ${code}: ${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else lines.push(JSON.parse(line) as Obj);
    });
  });
  return { proc, port, lines, dir };
}

describe('exhook: a Python (grpcio) server generated from the v1 proto', () => {
  let py: PythonProvider;
  let b: TestBroker;
  const seen = (rpc: string, match: (l: Obj) => boolean = () => true) =>
    py.lines.find((l) => l.rpc === rpc && match(l));
  const waitSeen = async (rpc: string, match: (l: Obj) => boolean = () => true) => {
    await eventually(() => seen(rpc, match) !== undefined, 10_000, rpc);
    return seen(rpc, match)!;
  };
  before(async () => {
    py = await startPythonProvider();
    b = await startBroker({
      config: { exhook: { servers: [{ name: 'py', url: `http://127.0.0.1:${py.port}` }] } },
    });
  });
  after(async () => {
    await b?.stop();
    if (py === undefined) return;
    py.proc.stdin?.end();
    py.proc.kill();
    rmSync(py.dir, { recursive: true, force: true });
  });

  it('is loaded as a v1 server and decides logins, ACL checks and messages', async () => {
    const s = b.node.exhook.server('py')!;
    assert.equal(s.status, 'connected');
    assert.equal(s.version, 'v1');
    const loaded = await waitSeen('OnProviderLoaded');
    assert.match(String(loaded.uptime), /^[0-9]+$/);

    await assert.rejects(connectClient(b.port, { username: 'p', password: 'nope' }), /authorized/i);
    const c = await connectClient(b.port, { clientId: 'py-c', username: 'p', password: 'letmein' });
    const got = collect(c);
    const connected = await waitSeen('OnClientConnected', (l) => l.clientid === 'py-c');
    assert.equal(connected.username, 'p');
    await assert.rejects(subscribe(c, 'py/secret', { qos: 1 }), /Subscribe error/);
    // The server's IGNORE (0 in v1) leaves the decision to the rest of the chain: allowed.
    await subscribe(c, 'py/#', { qos: 1 });
    const sub = await waitSeen('OnClientSubscribe', (l) => l.clientid === 'py-c');
    assert.deepEqual(sub.filters, [{ name: 'py/#', qos: 1 }]);
    await publish(c, 'py/1', 'original', { qos: 1 });
    const [m] = await got.next(1, 10_000);
    assert.equal(m!.payload.toString(), 'hardcoded by python');
    const acl = await waitSeen('OnClientCheckAcl', (l) => l.topic === 'py/1');
    assert.equal(acl.type, 'PUBLISH');
    await subscribe(c, '$share/grp/py/s', { qos: 1 });
    const shared = await waitSeen('OnSessionSubscribed', (l) => l.topic === 'py/s');
    assert.equal(shared.share, 'grp');
    await end(c);

    const a = await connectClient(b.port, {
      clientId: 'py-t',
      username: 'u',
      password: 'letmein',
      clean: false,
    });
    const a2 = await connectClient(b.port, {
      clientId: 'py-t',
      username: 'u',
      password: 'letmein',
      clean: false,
    });
    await waitSeen('OnSessionTakeovered', (l) => l.clientid === 'py-t');
    for (const x of [a, a2]) await end(x, true);
  });
});
