/**
 * What `hermod start` loads: with etc/hermod.conf (the default config) the optional parts stay unloaded
 * (gRPC for ExHook and ExProto, NATS for the cluster, jose for JWT, the gateways' codecs, the database
 * clients); enabling them at runtime through the REST API loads them then, and they work.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { TestProvider } from '../exhook/provider.js';
import { connectClient, end } from '../helpers/clients.js';
import { repoRoot } from '../helpers/fixtures.js';
import { freePort } from '../helpers/servers/common.js';
import { ApiClient } from '../mgmt/http.js';

/** Packages a default node must not load: each belongs to a part that is off by default. */
const OPTIONAL = [
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  '@nats-io/transport-node',
  '@nats-io/jetstream',
  '@nats-io/kv',
  '@nats-io/obj',
  'jose',
  'coap-packet',
  'cbor-x',
  'fast-xml-parser',
  'pg',
  'mysql2',
  'ioredis',
  'mongodb',
  'ldapts',
];

/** The packages (node_modules/<name>) among the module URLs the node resolved so far. */
function loadedPackages(trace: string): Set<string> {
  const out = new Set<string>();
  if (!existsSync(trace)) return out;
  for (const url of readFileSync(trace, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m !== null) out.add(m[1]!);
  }
  return out;
}

function loadedFiles(trace: string): string[] {
  return readFileSync(trace, 'utf8').split('\n');
}

/** Sends one STOMP CONNECT; resolves with the first frame's command. */
function stompConnect(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () =>
      s.write('CONNECT\naccept-version:1.2\nhost:/\n\n\0'),
    );
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) {
        s.destroy();
        resolve(got.slice(0, got.indexOf('\n')));
      }
    });
    s.on('error', reject);
  });
}

describe('hermod start with the default config', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hermod-start-modules-'));
  const trace = join(tmp, 'modules.txt');
  let child: ChildProcess;
  let out = '';
  let mqttPort = 0;
  let api: ApiClient;

  before(async () => {
    const apiPort = await freePort();
    child = spawn(
      process.execPath,
      [
        '--import',
        new URL('../helpers/module-trace.js', import.meta.url).href,
        join(repoRoot(), 'bin', 'hermod.js'),
        'start',
        '--config',
        join(repoRoot(), 'etc', 'hermod.conf'),
      ],
      {
        cwd: repoRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...Object.fromEntries(
            Object.entries(process.env).filter(
              ([k]) => !k.startsWith('HERMOD_') && k !== 'NODE_TEST_CONTEXT',
            ),
          ),
          HERMOD_TEST_MODULE_TRACE: trace,
          HERMOD_NODE__DATA_DIR: join(tmp, 'data'),
          HERMOD_LISTENERS__TCP__DEFAULT__BIND: '127.0.0.1:0',
          HERMOD_LISTENERS__WS__DEFAULT__BIND: '127.0.0.1:0',
          HERMOD_DASHBOARD__LISTENERS__HTTP__BIND: `127.0.0.1:${apiPort}`,
        },
      },
    );
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 30_000;
    while (!/is running/.test(out)) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`hermod did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    mqttPort = Number(/tcp:default on (\d+)/.exec(out)![1]);
    api = new ApiClient(`http://127.0.0.1:${apiPort}`);
    await api.login();
  });

  after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('loads none of the optional parts', () => {
    const loaded = loadedPackages(trace);
    assert.ok(loaded.has('fastify'), 'the trace sees the packages the node loads');
    assert.deepEqual(
      OPTIONAL.filter((p) => loaded.has(p)),
      [],
    );
    assert.deepEqual(
      loadedFiles(trace).filter((f) => /\/dist\/src\/gateway\/\w+\/index\.js$/.test(f)),
      [],
      'no gateway implementation',
    );
  });

  // `npm test` builds with `npm run build`, which always bundles (rolldown comes with vite, a dev dependency).
  it('loads TypeBox as the one bundle `npm run build` makes, not its ~250 modules', () => {
    assert.ok(
      existsSync(join(repoRoot(), 'dist', 'src', 'vendor', 'typebox.js')),
      'dist/src/vendor/typebox.js: run `npm run build` (tsc alone does not bundle)',
    );
    assert.ok(!loadedPackages(trace).has('@sinclair/typebox'));
    assert.ok(loadedFiles(trace).some((f) => f.endsWith('/dist/src/vendor/typebox.js')));
  });

  it('checks JWTs of an authenticator added through the API, with jose left unloaded for a configured secret', async () => {
    const secret = 'a-secret-long-enough-for-hs256';
    const r = await api.post('/authentication', { mechanism: 'jwt', secret });
    assert.equal(r.status, 200, r.text);
    // A configured key is verified with node:crypto; only a JWKS endpoint needs jose.
    assert.ok(!loadedPackages(trace).has('jose'));
    const token = await new SignJWT({ sub: 'dev1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(Buffer.from(secret));
    const ok = await connectClient(mqttPort, { username: 'dev1', password: token });
    await end(ok);
    const forged = await new SignJWT({ sub: 'dev1' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(Buffer.from('another-secret-of-some-length'));
    await assert.rejects(connectClient(mqttPort, { username: 'dev1', password: forged, reconnectPeriod: 0 }));
  });

  it('loads a gateway when it is enabled through the API, and serves its clients', async () => {
    const port = await freePort();
    const r = await api.put('/gateways/stomp', {
      listeners: [{ type: 'tcp', name: 'default', bind: `127.0.0.1:${port}` }],
    });
    assert.equal(r.status, 204, r.text);
    assert.ok(loadedFiles(trace).some((f) => f.endsWith('/dist/src/gateway/stomp/index.js')));
    assert.equal(await stompConnect(port), 'CONNECTED');
  });

  it('loads gRPC when an ExHook server is added through the API, and calls it', async () => {
    const provider = await TestProvider.start();
    try {
      const r = await api.post('/exhooks', { name: 'lazy', url: provider.url });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body.node_status, [{ node: 'hermod@127.0.0.1', status: 'connected' }]);
      assert.ok(loadedPackages(trace).has('@grpc/grpc-js'));
      assert.equal(provider.of('OnProviderLoaded').length, 1);
      assert.equal((await api.del('/exhooks/lazy')).status, 204);
    } finally {
      await provider.stop();
    }
  });
});
