/**
 * scripts/cluster-demo.sh as a user runs it: `start` brings up nats-server and three nodes that form one
 * cluster, `stop` (from another shell) and Ctrl-C both stop every process it started. Ports are moved off
 * the defaults (HERMOD_DEMO_*_PORT) so the test does not collide with anything on the machine.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { fromKvKey } from '../../src/cluster/subject.js';
import { collect, connectClient, end } from '../helpers/clients.js';
import { eventually } from '../helpers/cluster.js';
import { repoRoot } from '../helpers/fixtures.js';
import { freePort, tempDir } from '../helpers/servers/common.js';

const SCRIPT = join(repoRoot(), 'scripts', 'cluster-demo.sh');
const NAMES = ['hermod-1@127.0.0.1', 'hermod-2@127.0.0.1', 'hermod-3@127.0.0.1'];

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first of three consecutive free ports. */
async function freeRun(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 65000 && (await listenable(p + 1)) && (await listenable(p + 2))) return p;
  }
}

/** True when a STOMP CONNECT to host:port is answered CONNECTED. */
function stompConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, host);
    let got = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(3000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('CONNECT\naccept-version:1.2\nhost:demo\n\n\0'));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\0')) done(got.startsWith('CONNECTED'));
    });
  });
}

interface Demo {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

describe('scripts/cluster-demo.sh', () => {
  let dir: string;
  let env: Record<string, string>;
  let mqtt: number;
  let api: number;
  let natsUrl: string;

  function startDemo(): Demo {
    const child = spawn('bash', [SCRIPT, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, out: () => out, exit };
  }

  async function up(demo: Demo): Promise<void> {
    await eventually('the demo is up', () => /Ctrl-C stops everything/.test(demo.out()), 120_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${demo.out()}`);
      },
    );
  }

  function nodePids(): number[] {
    return [1, 2, 3, 0].map((n) =>
      Number(readFileSync(join(dir, n === 0 ? 'nats.pid' : `node-${n}/pid`), 'utf8')),
    );
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  before(async () => {
    dir = tempDir('cluster-demo');
    mqtt = await freeRun();
    const ws = await freeRun();
    api = await freeRun();
    const natsPort = await freePort();
    natsUrl = `nats://127.0.0.1:${natsPort}`;
    const base = Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] =>
          e[1] !== undefined && !e[0].startsWith('HERMOD_') && e[0] !== 'NODE_TEST_CONTEXT',
      ),
    );
    env = {
      ...base,
      HERMOD_DEMO_DIR: dir,
      HERMOD_DEMO_MQTT_PORT: String(mqtt),
      HERMOD_DEMO_WS_PORT: String(ws),
      HERMOD_DEMO_API_PORT: String(api),
      HERMOD_DEMO_NATS_PORT: String(natsPort),
    };
  });

  after(() => {
    // Whatever a failed test left running.
    spawnSync('bash', [SCRIPT, 'stop'], { env, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  describe('start, then stop from another shell', () => {
    let demo: Demo;
    before(async () => {
      demo = startDemo();
      await up(demo);
    });

    it('prints how to connect a subscriber to one node and a publisher to another', () => {
      assert.match(demo.out(), new RegExp(`mosquitto_sub -h 127\\.0\\.0\\.1 -p ${mqtt} `));
      assert.match(demo.out(), new RegExp(`mosquitto_pub -h 127\\.0\\.0\\.1 -p ${mqtt + 1} `));
      assert.match(demo.out(), new RegExp(`NATS ${natsUrl.replaceAll('.', '\\.')}`));
    });

    it('three nodes are up: each API answers, and the cluster lists all three', async () => {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${api + i}/api/v5/status`);
        assert.equal(res.status, 200);
      }
      const nc = await connect({ servers: natsUrl });
      try {
        const kv = await new Kvm(nc).open('hm_demo_nodes');
        await eventually('three members', async () => {
          const names: string[] = [];
          for await (const k of await kv.keys()) names.push(fromKvKey(k));
          return names.sort().join() === NAMES.join();
        });
      } finally {
        await nc.close();
      }
    });

    it("a STOMP gateway enabled through node 1's API listens on all three nodes", async () => {
      const stomp = await freePort();
      const login = await fetch(`http://127.0.0.1:${api}/api/v5/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'public' }),
      });
      const { token } = (await login.json()) as { token: string };
      const put = await fetch(`http://127.0.0.1:${api}/api/v5/gateways/stomp`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ listeners: [{ type: 'tcp', name: 'default', bind: String(stomp) }] }),
      });
      assert.equal(put.status, 204, await put.text());
      // Each node binds its own loopback address (node.listen_host in the demo's configs).
      for (const host of ['127.0.0.1', '127.0.0.2', '127.0.0.3'])
        await eventually(`STOMP on ${host}`, () => stompConnects(host, stomp), 20_000);
    });

    it('a subscriber on node 1 gets a publish made on node 2', async () => {
      const sub = await connectClient(mqtt, { clientId: 'demo-sub' });
      const pub = await connectClient(mqtt + 1, { clientId: 'demo-pub' });
      try {
        const got = collect(sub);
        await sub.subscribeAsync('demo/#', { qos: 1 });
        await eventually('delivered across nodes', async () => {
          await pub.publishAsync('demo/hello', 'hi', { qos: 1 });
          return got.messages.length > 0;
        });
      } finally {
        await end(sub, true);
        await end(pub, true);
      }
    });

    it('kill 1: a persistent subscriber of node 1 carries on on node 3, its subscription kept', async () => {
      const persistent = { clientId: 'demo-persist', clean: false, protocolVersion: 5 as const };
      const props = { properties: { sessionExpiryInterval: 600 } };
      const first = await connectClient(mqtt, { ...persistent, ...props });
      await first.subscribeAsync('persist/#', { qos: 1 });
      const killed = spawnSync('bash', [SCRIPT, 'kill', '1'], { env, encoding: 'utf8' });
      assert.equal(killed.status, 0, killed.stderr);
      await end(first, true);
      const pub = await connectClient(mqtt + 1, { clientId: 'demo-persist-pub' });
      try {
        // Node 3 resumes the session (from the cluster's session record, or after adopting it); the client
        // does not subscribe again. What was published before node 3 took the session may be lost (node
        // 1's memory), so publish until one arrives.
        let n = 0;
        await eventually(
          'the session carries on on node 3',
          async () => {
            // A connect may be refused while the cluster settles who owns the session: try again.
            const again = await connectClient(mqtt + 2, { ...persistent, ...props }).catch(() => undefined);
            if (again === undefined) return false;
            const got = collect(again);
            await pub.publishAsync('persist/after-kill', `m${n++}`, { qos: 1 });
            const arrived = await got.next(1, 2000).then(
              () => true,
              () => false,
            );
            await end(again, true);
            return arrived;
          },
          30_000,
        );
      } finally {
        await end(pub, true);
      }
    });

    it('`stop` stops the nodes and nats-server; the foreground script exits 0', async () => {
      const pids = nodePids();
      const r = spawnSync('bash', [SCRIPT, 'stop'], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stderr}\n${demo.out()}`);
      assert.equal(await demo.exit, 0);
      for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
      const status = spawnSync('bash', [SCRIPT, 'status'], { env, encoding: 'utf8' }).stdout;
      assert.equal((status.match(/stopped/g) ?? []).length, 4, status);
    });
  });

  it('Ctrl-C (SIGINT) stops everything it started', async () => {
    const demo = startDemo();
    await up(demo);
    const pids = nodePids();
    demo.child.kill('SIGINT');
    assert.equal(await demo.exit, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
    assert.match(demo.out(), /cluster demo stopped/);
  });
});
