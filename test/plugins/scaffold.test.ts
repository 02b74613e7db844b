import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { hermod } from '../helpers/cli.js';
import { connectClient, end } from '../helpers/clients.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

describe('hermod plugin new: the scaffold', () => {
  let work: string;
  let project: string;
  let b: TestBroker;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'hermod-scaffold-'));
    b = await startBroker({ tempDataDir: true });
  });
  after(async () => {
    await b.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('writes a project whose plugin type-checks against the exported types', async () => {
    const r = await hermodIn(work, ['plugin', 'new', 'demo_plug']);
    assert.equal(r.code, 0, r.stderr);
    project = join(work, 'demo_plug');
    for (const f of [
      'package.json',
      'src/index.ts',
      'test/plugin.test.ts',
      'priv/config.hocon',
      'priv/config_schema.json',
      'scripts/pack.mjs',
      'README.md',
    ])
      assert.ok(existsSync(join(project, f)), f);
    assert.equal((await hermodIn(work, ['plugin', 'new', 'demo_plug'])).code, 1, 'refuses to overwrite');
    assert.equal((await hermodIn(work, ['plugin', 'new', '../x'])).code, 1);

    // Links stand in for `npm install`: this checkout as the hermod package, and the shared dev dependencies.
    mkdirSync(join(project, 'node_modules/@types'), { recursive: true });
    symlinkSync(REPO, join(project, 'node_modules/hermod'));
    for (const dep of ['mqtt', 'typescript', '@types/node'])
      symlinkSync(join(REPO, 'node_modules', dep), join(project, 'node_modules', dep));
    const tsc = spawnSync(
      process.execPath,
      [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      {
        cwd: project,
        encoding: 'utf8',
      },
    );
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('packs with its own script into a package a node installs, whose authenticator and ACL act', async () => {
    assert.ok(existsSync(join(project, 'dist/src/index.js')), 'built by the type-check above');
    // The project's own test: packs with its script, installs into an in-process broker, logs in over MQTT.
    const own = spawnSync(process.execPath, ['--test', 'dist/test/'], {
      cwd: project,
      encoding: 'utf8',
      env: withoutTestContext(),
    });
    assert.equal(own.status, 0, own.stdout + own.stderr);
    assert.match(own.stdout, /^# pass 1$/m);
    execFileSync(process.execPath, ['scripts/pack.mjs'], { cwd: project });
    const tarball = join(project, 'demo_plug-0.1.0.tar.gz');
    assert.ok(existsSync(tarball));

    const plugins = b.node.plugins;
    plugins.allow('demo_plug-0.1.0');
    await plugins.installUpload('demo_plug-0.1.0.tar.gz', readFileSync(tarball));
    await plugins.startAndEnable('demo_plug-0.1.0');
    assert.match(String(plugins.describe('demo_plug-0.1.0').readme), /^# demo_plug/);

    const ok = await connectClient(b.port, { username: 'demo', password: 'demo-secret', protocolVersion: 5 });
    const denied = await new Promise<number | undefined>((resolve) =>
      ok.publish('forbidden/x', 'no', { qos: 1 }, (_err, packet) =>
        resolve((packet as { reasonCode?: number } | undefined)?.reasonCode),
      ),
    );
    assert.equal(denied, 0x87);
    await end(ok);
    await assert.rejects(connectClient(b.port, { username: 'demo', password: 'wrong', reconnectPeriod: 0 }));
  });
});

function hermodIn(cwd: string, args: string[]) {
  const prev = process.cwd();
  process.chdir(cwd);
  try {
    return hermod(args);
  } finally {
    process.chdir(prev);
  }
}

/** The environment without node --test's marker, so the project's own `node --test` runs as a top-level run. */
function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}
