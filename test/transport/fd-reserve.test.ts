import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FdBudget } from '../../src/transport/fd-reserve.js';
import { connectClient, end } from '../helpers/clients.js';
import { ApiClient } from '../mgmt/http.js';

const SCRIPT = fileURLToPath(new URL('./fd-flood-broker.js', import.meta.url));
// Small enough that a test-sized flood exhausts it; the reserve is then 32 descriptors.
const FD_LIMIT = 200;
const FLOOD = 300;

interface Ready {
  port: number;
  apiUrl: string;
  threshold: number;
}

// biome-ignore lint/suspicious/noExplicitAny: log lines are read field by field
type LogLine = any;

describe('a connection flood up to the descriptor limit leaves the management API reachable', () => {
  let child: ChildProcess;
  let ready: Ready;
  const lines: LogLine[] = [];
  const flood: Socket[] = [];

  before(async () => {
    const env = {
      ...process.env,
      NODE_TEST_CONTEXT: '',
      FD_FLOOD_CHILD: '1',
      FD_FLOOD_LIMIT: String(FD_LIMIT),
    };
    child = spawn(process.execPath, [SCRIPT], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    ready = await new Promise<Ready>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (line.ready === true) resolve(line);
          else lines.push(line);
          nl = buf.indexOf('\n');
        }
      });
      child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    });
  });
  after(async () => {
    for (const s of flood) s.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  const refusals = () => lines.filter((l) => String(l.msg).includes('reserved for the management API'));

  it('refuses MQTT connections beyond limit - reserve, and the API still answers', async () => {
    assert.equal(ready.threshold, FD_LIMIT - 32);
    for (let i = 0; i < FLOOD; i++) {
      const s = connect(ready.port, '127.0.0.1');
      s.on('error', () => undefined);
      flood.push(s);
    }
    // Every flood socket is through the TCP handshake: the broker has them in its accept queue, if not yet accepted.
    await until(() => flood.every((s) => s.readyState !== 'opening'), 'the flood to connect');
    const api = new ApiClient(ready.apiUrl);
    const status = await fetch(`${ready.apiUrl}/status`, { signal: AbortSignal.timeout(5000) });
    assert.equal(status.status, 200);
    await api.login();
    const clients = await api.get('/clients');
    assert.equal(clients.status, 200);
    await until(() => refusals().length > 0, 'a refusal log line');
  });

  it('logs the refusals rate-limited: one line, then summaries with the suppressed count', async () => {
    await until(() => refusals().some((l) => l.suppressed > 0), 'a summary line');
    const first = refusals()[0];
    assert.equal(first.listener, 'tcp:default');
    assert.equal(first.limit, FD_LIMIT);
    const logged = refusals().length;
    const stood = refusals().reduce((n, l) => n + (l.suppressed ?? 1), 0);
    assert.ok(logged < stood, `${logged} lines for ${stood} refusals`);
  });

  it('accepts MQTT again once the flood is gone', async () => {
    for (const s of flood) s.destroy();
    flood.length = 0;
    let client: Awaited<ReturnType<typeof connectClient>> | undefined;
    for (let i = 0; i < 50 && client === undefined; i++) {
      client = await connectClient(ready.port, { reconnectPeriod: 0, connectTimeout: 2000 }).catch(
        () => undefined,
      );
      if (client === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(client, 'an MQTT client connects after the flood');
    await end(client);
  });
});

describe('the descriptor budget counts what others open too', () => {
  it('refuses once files opened outside the listeners (a plugin, the store) fill it, and admits again once they close', async () => {
    const open = readdirSync('/proc/self/fd').length;
    // 16 descriptors below the threshold: near it, where the count is re-read at most once a second.
    const budget = new FdBudget({ limit: open + 16 + 32, reserve: 32, logIntervalMs: 60_000 });
    assert.equal(budget.admit('test', 'peer'), true);
    const files: number[] = [];
    for (let i = 0; i < 100; i++) files.push(openSync('/dev/null', 'r'));
    try {
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(budget.admit('test', 'peer'), false);
    } finally {
      for (const fd of files) closeSync(fd);
    }
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(budget.admit('test', 'peer'), true);
  });
});

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
