/**
 * Start-up time: seconds from spawning a broker process until it answers an MQTT CONNECT with a CONNACK, and
 * until a `ret/#` subscriber on that first connection has all N retained messages back. What users see when
 * they restart a broker during an upgrade and the fleet reconnects.
 *
 *   node dist/bench/startup.js [--runs 5] [--case default,bench-0,bench-10k,bench-100k,mosquitto-10k,…]
 *                              [--root <other checkout>]…
 *
 * Cases: `default` is `node bin/hermod.js start --config etc/hermod.conf` (what `npm start` runs; ports and
 * data_dir moved to free ones by HERMOD_* variables; `default-N` on a store of N retained messages, $SYS on as
 * in that config); `bench-N` is bench/servers/hermod.ts on a store holding
 * N retained messages (as the retained-restart curve starts it); `mosquitto-N` is Mosquitto with persistence
 * on a database holding N retained messages. Each `--root` is a checkout with its own dist/ (e.g. a `before`
 * worktree of main): the runs alternate between the roots so both see the same machine. The broker is pinned
 * to CPU 0, this process to CPU 1 (as the other benches). Prints the median and every run, and the load
 * average; writes nothing under bench/results.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BROKER_CPU, BROKERS, LOADGEN_CPU, ROOT } from './brokers.js';
import { freePort } from './children.js';
import { firstConnack } from './connack.js';
import { cpuSeconds } from './proc.js';

interface Sample {
  /** Spawn → first CONNACK. */
  connack: number;
  /** CPU the broker process used (all threads) until its first CONNACK: what a busy machine does not skew. */
  cpu: number;
  /** Spawn → the broker's own "ready" line on stdout (Hermod: after the management API started). */
  ready: number;
  /** Spawn → all N retained messages received on `ret/#` (the subscribe sent right after the CONNACK). */
  all: number;
}

interface Case {
  id: string;
  broker: 'hermod' | 'mosquitto';
  retained: number;
  /** Starts the broker of `root` on `port`; the line on stdout that says it is ready. */
  spawn(root: string, port: number): { child: ChildProcess; readyLine?: string };
  cleanup(): void;
}

function arg(name: string): string[] {
  const out: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++)
    if (argv[i] === name && argv[i + 1] !== undefined) out.push(argv[++i]!);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function loadAverage(): string {
  return spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ');
}

function watchLine(child: ChildProcess, line: string, t0: number): Promise<number> {
  return new Promise((done) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(line)) {
        done(performance.now() - t0);
        out = '';
      }
    });
    child.once('exit', () => done(Number.NaN));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

async function measure(c: Case, root: string): Promise<Sample> {
  const port = await freePort();
  const t0 = performance.now();
  const { child, readyLine } = c.spawn(root, port);
  const ready = readyLine === undefined ? undefined : watchLine(child, readyLine, t0);
  try {
    // The CPU at the first CONNACK: a second probe that stops there (the first may go on for ret/#).
    const cpuAtConnack = firstConnack(port, t0, 60_000).then(() => cpuSeconds(child.pid!) * 1000);
    const r = await firstConnack(port, t0, 60_000, c.retained);
    const cpu = await cpuAtConnack;
    return { ...r, cpu, ready: ready === undefined ? r.connack : await ready };
  } finally {
    await stopChild(child);
  }
}

/** Fills a data directory with n retained messages `ret/<i/100>/<i%100>` through a running broker. */
async function fillRetained(broker: 'hermod' | 'mosquitto', n: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `hermod-startup-${broker}-`));
  const def = BROKERS.find((b) => b.name === broker)!;
  def.ensureInstalled();
  const port = await freePort();
  const logFile = join(dir, 'fill.log');
  const running = await def.start({ port, logFile, dataDir: dir });
  const { default: mqtt } = await import('mqtt');
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: 'startup-fill' });
  const payload = Buffer.alloc(64, 7);
  const window = 256;
  let next = 0;
  const one = async () => {
    while (next < n) {
      const i = next++;
      await client.publishAsync(`ret/${Math.floor(i / 100)}/${i % 100}`, payload, { qos: 1, retain: true });
    }
  };
  await Promise.all(Array.from({ length: window }, one));
  await client.endAsync();
  await running.stop();
  return dir;
}

/** A copy of a prepared data directory for one start: the broker writes its state back at the stop, and every run starts from the same one. */
function runCopy(dir: string, prefix: string): string {
  const data = mkdtempSync(join(tmpdir(), prefix));
  cpSync(dir, data, { recursive: true });
  return data;
}

function removeOnExit(child: ChildProcess, dir: string): void {
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

function hermodBenchCase(n: number, dir: string): Case {
  return {
    id: `bench-${n >= 1000 ? `${n / 1000}k` : n}`,
    broker: 'hermod',
    retained: n,
    spawn(root, port) {
      const data = runCopy(dir, 'hermod-startup-run-');
      const script = join(root, 'dist', 'bench', 'servers', 'hermod.js');
      const child = spawn('taskset', ['-c', BROKER_CPU, process.execPath, script, String(port)], {
        stdio: ['ignore', 'pipe', 'inherit'],
        cwd: root,
        env: { ...process.env, BENCH_DATA_DIR: data },
      });
      removeOnExit(child, data);
      return { child, readyLine: `hermod listening on ${port}` };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `hermod start` with etc/hermod.conf, its ports moved to free ones and node.data_dir to `data`. */
function spawnDefault(root: string, port: number, data: string): ChildProcess {
  const env = {
    ...process.env,
    HERMOD_NODE__DATA_DIR: data,
    HERMOD_LISTENERS__TCP__DEFAULT__BIND: `127.0.0.1:${port}`,
    HERMOD_LISTENERS__WS__DEFAULT__BIND: '127.0.0.1:0',
    HERMOD_DASHBOARD__LISTENERS__HTTP__BIND: '127.0.0.1:0',
  };
  const bin = join(root, 'bin', 'hermod.js');
  return spawn(
    'taskset',
    ['-c', BROKER_CPU, process.execPath, bin, 'start', '--config', join(root, 'etc', 'hermod.conf')],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: root, env },
  );
}

/**
 * A restart of `npm start`: the data directory of a first start of the same tree (its shipped plugins
 * placed, the dashboard user made; with `n` > 0 on a store of n retained messages) copied for every run, so
 * each run starts on the state a restart finds.
 */
async function hermodDefaultCase(roots: readonly string[], n: number): Promise<Case> {
  const dirs = new Map<string, string>();
  for (const root of roots) {
    const dir =
      n > 0 ? await fillRetained('hermod', n) : mkdtempSync(join(tmpdir(), 'hermod-startup-default-'));
    const first = spawnDefault(root, await freePort(), dir);
    await watchLine(first, 'is running', performance.now());
    await stopChild(first);
    dirs.set(root, dir);
  }
  return {
    id: n > 0 ? `default-${n >= 1000 ? `${n / 1000}k` : n}` : 'default',
    broker: 'hermod',
    retained: n,
    spawn(root, port) {
      const data = runCopy(dirs.get(root)!, 'hermod-startup-default-run-');
      const child = spawnDefault(root, port, data);
      removeOnExit(child, data);
      return { child, readyLine: 'is running' };
    },
    cleanup: () => {
      for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function mosquittoCase(n: number, dir: string): Case {
  return {
    id: `mosquitto-${n >= 1000 ? `${n / 1000}k` : n}`,
    broker: 'mosquitto',
    retained: n,
    spawn(_root, port) {
      const data = mkdtempSync(join(tmpdir(), 'hermod-startup-mosq-'));
      cpSync(join(dir, 'mosquitto.db'), join(data, 'mosquitto.db'));
      // Started as root, Mosquitto drops to its own user, which must read (and write back) the database.
      chmodSync(data, 0o777);
      chmodSync(join(data, 'mosquitto.db'), 0o666);
      const conf = join(data, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          `listener ${port} 127.0.0.1`,
          'allow_anonymous true',
          'persistence true',
          `persistence_location ${data}/`,
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          'log_type notice',
        ].join('\n'),
      );
      const child = spawn('taskset', ['-c', BROKER_CPU, 'mosquitto', '-c', conf], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.resume();
      child.stderr!.resume();
      child.once('exit', () => rmSync(data, { recursive: true, force: true }));
      // Mosquitto prints no ready line: "ready" is its first CONNACK.
      return { child };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function parseSize(s: string): number {
  const m = /^(\d+)(k?)$/.exec(s);
  if (m === null) throw new Error(`bad size ${s}`);
  return Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  spawnSync('taskset', ['-p', '-c', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
  const runs = Number(arg('--runs')[0] ?? 5);
  const roots = arg('--root').map((r) => resolve(r));
  if (roots.length === 0) roots.push(ROOT);
  const wanted = (arg('--case')[0] ?? 'default,bench-10k,bench-100k,mosquitto-10k,mosquitto-100k').split(',');
  const cases: Case[] = [];
  for (const id of wanted) {
    const [kind, size] = id.split('-') as [string, string | undefined];
    if (kind === 'default') cases.push(await hermodDefaultCase(roots, parseSize(size ?? '0')));
    else if (kind === 'bench') {
      const n = parseSize(size ?? '0');
      cases.push(hermodBenchCase(n, await fillRetained('hermod', n)));
    } else if (kind === 'mosquitto') {
      const n = parseSize(size ?? '0');
      cases.push(mosquittoCase(n, await fillRetained('mosquitto', n)));
    } else throw new Error(`unknown case ${id}`);
  }
  const samples = new Map<string, Sample[]>();
  console.log(`load average before: ${loadAverage()}`);
  for (let r = 0; r < runs; r++) {
    for (const c of cases) {
      for (const root of c.broker === 'hermod' ? roots : [roots[0]!]) {
        const key = `${c.id}\t${c.broker === 'hermod' ? root : 'mosquitto'}`;
        const s = await measure(c, root);
        if (!samples.has(key)) samples.set(key, []);
        samples.get(key)!.push(s);
        console.log(
          `run ${r + 1} ${c.id} ${c.broker === 'hermod' ? root : ''}: CONNACK ${s.connack.toFixed(0)} ms (CPU ${s.cpu.toFixed(0)} ms), ready line ${s.ready.toFixed(0)} ms, all retained ${s.all.toFixed(0)} ms`,
        );
        await sleep(200);
      }
    }
  }
  console.log(`load average after: ${loadAverage()}`);
  console.log(
    '\n| case | tree | s to first CONNACK | CPU s to first CONNACK | s to ready line | s to ret/# all N | runs |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const [key, xs] of samples) {
    const [id, tree] = key.split('\t') as [string, string];
    const f = (k: keyof Sample) => (median(xs.map((x) => x[k])) / 1000).toFixed(3);
    console.log(
      `| ${id} | ${tree} | ${f('connack')} | ${f('cpu')} | ${f('ready')} | ${f('all')} | ${xs.length} |`,
    );
  }
  for (const c of cases) c.cleanup();
}

await main();
