/** `hermod start` as a subprocess: refuses bad config with every error, runs a good one, stops on SIGTERM. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { displayPath } from '../../src/config/hocon/index.js';
import { spawnHermod } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { freePort } from '../helpers/servers/common.js';

const tmp = mkdtempSync(join(tmpdir(), 'hermod-start-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const hermod = spawnHermod;

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** The `# expect:` lines of a bad corpus file, as printed from the repository root. */
function expectedErrors(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('# expect: '))
    .map((l) => l.slice('# expect: '.length).replaceAll('<dir>', displayPath(fixture('config'))));
}

describe('hermod start with a bad config', () => {
  const bad = fixture('config', 'bad', 'several.conf');
  const dataDir = join(tmp, 'bad-data');

  test('--config <bad file>: prints every error and exits 1 without starting', async () => {
    const run = hermod(['start', '--config', bad], { HERMOD_NODE__DATA_DIR: dataDir });
    const { code } = await run.exit;
    assert.equal(code, 1);
    assert.deepEqual(run.stderr().trim().split('\n'), expectedErrors(bad));
    assert.equal(run.stdout(), '');
    assert.equal(existsSync(join(dataDir, 'hermod.pid')), false);
  });

  test('-c and HERMOD_CONFIG name the file too; environment errors are listed with them', async () => {
    const short = hermod(['start', '-c', bad], { HERMOD_NODE__DATA_DIR: dataDir });
    assert.equal((await short.exit).code, 1);
    assert.deepEqual(short.stderr().trim().split('\n'), expectedErrors(bad));
    const viaEnv = hermod(['start'], {
      HERMOD_CONFIG: bad,
      HERMOD_NODE__DATA_DIR: dataDir,
      HERMOD_MQTT__MAX_INFLIGHT: '0',
    });
    assert.equal((await viaEnv.exit).code, 1);
    assert.deepEqual(viaEnv.stderr().trim().split('\n'), [
      ...expectedErrors(bad),
      'config error: env HERMOD_MQTT__MAX_INFLIGHT: mqtt.max_inflight: expected integer to be greater or equal to 1 (got 0)',
    ]);
  });

  test('a syntax error names file, line and column', async () => {
    const file = fixture('config', 'bad', 'syntax-error.conf');
    const run = hermod(['start', '--config', file], { HERMOD_NODE__DATA_DIR: dataDir });
    assert.equal((await run.exit).code, 1);
    assert.deepEqual(run.stderr().trim().split('\n'), expectedErrors(file));
  });

  test('unknown arguments print the usage and exit 1', async () => {
    const run = hermod(['start', '--bogus']);
    assert.equal((await run.exit).code, 1);
    assert.match(run.stderr(), /hermod start: unknown argument --bogus/);
    assert.match(run.stderr(), /Usage: hermod start \[--config <file>\]/);
  });
});

describe('hermod start with a good config', () => {
  test('binds the configured ports, writes the pid file, logs to its file, stops on SIGTERM with 0', async () => {
    const [tcp, ws] = [await freePort(), await freePort()];
    const dataDir = join(tmp, 'good-data');
    const logFile = join(tmp, 'log', 'hermod.log');
    const conf = join(tmp, 'good.conf');
    writeFileSync(
      conf,
      [
        'node {',
        '  name = "start-test@127.0.0.1"',
        `  data_dir = "${dataDir}"`,
        '}',
        `listeners.tcp.default.bind = "127.0.0.1:${tcp}"`,
        `listeners.ws.default.bind = "127.0.0.1:"\${WS_PORT}`,
        'log.console.level = warning',
        `log.file.main { path = "${logFile}", level = info, formatter = json }`,
        '',
      ].join('\n'),
    );
    const run = hermod(['start', '--config', conf], { WS_PORT: String(ws) });
    try {
      await waitFor(() => run.stdout().includes('is running'), 'the node to start');
      assert.match(
        run.stdout(),
        new RegExp(`\\(start-test@127\\.0\\.0\\.1\\): tcp:default on ${tcp}, ws:default on ${ws}`),
      );
      assert.equal(await connects(tcp), true);
      assert.equal(await connects(ws), true);
      const pidFile = join(dataDir, 'hermod.pid');
      assert.equal(readFileSync(pidFile, 'utf8').trim(), String(run.child.pid));

      // A second node on the same data dir is refused before it binds anything.
      const second = hermod(['start', '--config', conf], { WS_PORT: String(ws) });
      assert.equal((await second.exit).code, 1);
      assert.match(second.stderr(), new RegExp(`already running as pid ${run.child.pid}`));

      run.child.kill('SIGTERM');
      const { code } = await run.exit;
      assert.equal(code, 0, run.stderr());
      assert.equal(existsSync(pidFile), false, 'the pid file is removed at stop');
      assert.equal(await connects(tcp), false);
      const logged = readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; level: string });
      assert.ok(
        logged.some((l) => l.msg === 'listener started' && l.level === 'info'),
        'info goes to the file',
      );
      assert.ok(logged.some((l) => l.msg === 'stopping'));
      assert.doesNotMatch(run.stdout(), /listener started/, 'the console handler stays at warning');
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('without --config the node runs on the defaults plus the environment', async () => {
    const [tcp, ws] = [await freePort(), await freePort()];
    const run = hermod(['start'], {
      HERMOD_NODE__DATA_DIR: join(tmp, 'default-data'),
      HERMOD_LISTENERS__TCP__DEFAULT__BIND: `127.0.0.1:${tcp}`,
      HERMOD_LISTENERS__WS__DEFAULT__BIND: `127.0.0.1:${ws}`,
    });
    try {
      await waitFor(() => run.stdout().includes('is running'), 'the node to start');
      assert.match(run.stdout(), /\(hermod@127\.0\.0\.1\)/);
      assert.equal(await connects(tcp), true);
      run.child.kill('SIGINT');
      assert.equal((await run.exit).code, 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });
});
