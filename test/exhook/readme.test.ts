/**
 * The README's ExHook server, as printed: type-checked and compiled with the project's tsc, run against a
 * broker, and seen to decide logins, get notifications and rewrite messages.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { collect, connectClient, end, publish, subscribe } from '../helpers/clients.js';
import { repoRoot } from '../helpers/fixtures.js';

/** The ```ts block of the README's ExHook section. */
function readmeExample(): string {
  const readme = readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## ExHook'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (m === null) throw new Error('no ```ts block in the README ExHook section');
  return m[1]!;
}

describe('README ExHook example', () => {
  // Inside node_modules so that the example resolves @grpc/* like a user's project would.
  const dir = path.join(repoRoot(), 'node_modules', '.cache', 'hermod-readme-exhook');
  let server: ChildProcess;
  let b: TestBroker;
  let output = '';

  before(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const code = readmeExample();
    assert.ok(code.includes("'0.0.0.0:9000'"));
    // The only change: a free port instead of 9000.
    writeFileSync(path.join(dir, 'server.mts'), code.replace("'0.0.0.0:9000'", "'127.0.0.1:0'"));
    copyFileSync(path.join(repoRoot(), 'proto', 'exhook.proto'), path.join(dir, 'exhook.proto'));
    const tsc = spawnSync(
      path.join(repoRoot(), 'node_modules', '.bin', 'tsc'),
      [
        '--ignoreConfig',
        '--strict',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--skipLibCheck',
        'server.mts',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `the README example does not compile:\n${tsc.stdout}${tsc.stderr}`);
    server = spawn(process.execPath, ['server.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      server.stdout!.on('data', (d) => {
        output += d;
        const m = /listening on (\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', (c) => reject(new Error(`example exited with ${c}`)));
    });
    b = await startBroker({
      config: { exhook: { servers: [{ name: 'readme', url: `http://127.0.0.1:${port}` }] } },
    });
  });
  after(async () => {
    await b?.stop();
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decides logins, logs connections and upper-cases sensor payloads', async () => {
    await assert.rejects(connectClient(b.port, { username: 'ann', password: 'guess' }), /authorized/i);
    const c = await connectClient(b.port, { clientId: 'readme-1', username: 'ann', password: 'ann-secret' });
    const got = collect(c);
    await subscribe(c, '#', { qos: 1 });
    await publish(c, 'sensors/t1', 'warm', { qos: 1 });
    await publish(c, 'other/t1', 'cold', { qos: 1 });
    const [m1, m2] = await got.next(2, 10_000);
    assert.equal(m1!.payload.toString(), 'WARM');
    assert.equal(m2!.payload.toString(), 'cold');
    await end(c);
    assert.match(output, /connected: readme-1/);
  });
});
