/**
 * EMQX 5.8's shipped emqx.conf starts Hermod unchanged (ports and data dir moved by EMQX_* variables, as a
 * container deployment does): the cluster keys are warned about, and `hermod ctl conf show --unsupported`
 * lists them from the running node.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hermod } from '../helpers/cli.js';
import { fixture, repoRoot } from '../helpers/fixtures.js';
import { freePort } from '../helpers/servers/common.js';

const tmp = mkdtempSync(join(tmpdir(), 'hermod-emqx-conf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('hermod start --config emqx.conf runs as a single node: its cluster keys are real keys, no warning', async () => {
  const [tcp, ws, http] = [await freePort(), await freePort(), await freePort()];
  const dataDir = join(tmp, 'data');
  const env = {
    EMQX_NODE__DATA_DIR: dataDir,
    EMQX_LISTENERS__TCP__DEFAULT__BIND: `127.0.0.1:${tcp}`,
    EMQX_LISTENERS__WS__DEFAULT__BIND: `127.0.0.1:${ws}`,
    EMQX_DASHBOARD__LISTENERS__HTTP__BIND: `127.0.0.1:${http}`,
  };
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(HERMOD|EMQX)_/.test(k) && k !== 'NODE_TEST_CONTEXT'),
  );
  const child = spawn(
    process.execPath,
    [join(repoRoot(), 'bin', 'hermod.js'), 'start', '--config', fixture('config', 'emqx', 'emqx.conf')],
    { cwd: repoRoot(), env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const until = Date.now() + 20_000;
    while (!out.includes('is running')) {
      if (Date.now() > until || child.exitCode !== null) assert.fail(`did not start:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, /\(emqx@127\.0\.0\.1\)/);
    const warnings = err.split('\n').filter((l) => l.startsWith('config warning: '));
    // cluster.name and cluster.discovery_strategy are Hermod keys now; with no cluster.nats.servers the
    // node runs alone, as an EMQX node with discovery_strategy = manual and no join does.
    assert.deepEqual(warnings, []);

    const unsupported = await hermod(['ctl', '--data-dir', dataDir, 'conf', 'show', '--unsupported']);
    assert.equal(unsupported.code, 0, unsupported.stderr);
    assert.equal(unsupported.stdout.trim(), 'No unsupported keys.');
    const shown = await hermod(['ctl', '--data-dir', dataDir, 'conf', 'show']);
    assert.equal(shown.code, 0, shown.stderr);
    // The file's two keys, then the Hermod defaults of the section (cluster.nats …).
    assert.match(
      shown.stdout,
      /^cluster \{\n {4}name = "emqxcl"\n {4}discovery_strategy = "manual"\n {4}nats \{$/m,
    );
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  }
});
