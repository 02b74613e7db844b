/**
 * Connections held by `hermod start --workers N` against one process, with the same file-descriptor limit
 * per process. Each broker process may open `--fds` descriptors (RLIMIT_NOFILE, set with `ulimit -n`), so
 * one process holds about that many connections; N workers hold about N times as many. The loader opens
 * idle MQTT 3.1.1 connections (CONNECT, wait for CONNACK, keep alive 0) until the broker refuses them, and
 * reports how many are held and the broker's RSS (every process: primary and workers).
 *
 *   npm run build && node dist/bench/workers.js [--fds 4096] [--workers 2]
 *
 * A private nats-server with JetStream joins the workers into one cluster (as `--workers` requires).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './brokers.js';
import { freePort } from './children.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

const FDS = Number(arg('fds', '4096'));
const WORKERS = Number(arg('workers', '2'));
/** Connections being opened at once. */
const CONCURRENCY = 64;
/** Refusals in a row after which the broker counts as full. */
const FULL_AFTER = 200;

/** MQTT 3.1.1 CONNECT with clean session, keep alive 0 (the broker never times it out) and client id `id`. */
function connectFrame(id: string): Buffer {
  const cid = Buffer.from(id);
  const body = Buffer.concat([
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0]),
    Buffer.from([cid.length >> 8, cid.length & 0xff]),
    cid,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** Opens one connection; resolves with the socket once CONNACK arrived, undefined when refused. */
function open(port: number, id: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) resolve(s);
      else {
        s.destroy();
        resolve(undefined);
      }
    };
    const timer = setTimeout(() => finish(false), 10_000);
    s.once('connect', () => s.write(connectFrame(id)));
    s.once('data', (d) => finish(d[0] === 0x20 && d[3] === 0));
    s.once('error', () => finish(false));
    s.once('close', () => finish(false));
  });
}

/** Opens connections until FULL_AFTER in a row are refused; returns the ones held. */
async function fill(port: number, limit: number): Promise<net.Socket[]> {
  const held: net.Socket[] = [];
  let refusedInARow = 0;
  let n = 0;
  const worker = async () => {
    while (refusedInARow < FULL_AFTER && n < limit) {
      const s = await open(port, `w${n++}`);
      if (s === undefined) refusedInARow++;
      else {
        refusedInARow = 0;
        held.push(s);
        // A socket the broker closes later (refused after CONNACK) no longer counts.
        s.once('close', () => held.splice(held.indexOf(s), 1));
        s.on('error', () => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return held;
}

/** RSS in KB of `pid` and all its descendants. */
function treeRssKb(pid: number): number {
  let kb = 0;
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    kb += m ? Number(m[1]) : 0;
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const k of kids === '' ? [] : kids.split(/\s+/)) kb += treeRssKb(Number(k));
  } catch {
    // gone
  }
  return kb;
}

interface Result {
  mode: string;
  held: number;
  idleRssMb: number;
  rssMb: number;
}

async function runBroker(mode: string, dir: string, natsUrl: string, workers: number): Promise<Result> {
  const port = await freePort();
  const conf = join(dir, `${mode}.conf`);
  writeFileSync(
    conf,
    [
      `node { name = "bench@127.0.0.1", data_dir = "${join(dir, mode)}" }`,
      workers > 0 ? `cluster { name = bench, nats.servers = ["${natsUrl}"] }` : '',
      `listeners.tcp.default { bind = "127.0.0.1:${port}", max_connections = infinity }`,
      'listeners.ws.default.enable = false',
      'dashboard.listeners.http.enable = false',
      'log.console.level = error',
      '',
    ].join('\n'),
  );
  const args = ['start', '--config', conf, ...(workers > 0 ? ['--workers', String(workers)] : [])];
  const cmd = `ulimit -n ${FDS} && exec "${process.execPath}" "${join(ROOT, 'bin', 'hermod.js')}" ${args.map((a) => `"${a}"`).join(' ')}`;
  const child: ChildProcess = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('is running')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${mode}: broker exited (${code}): ${out}`)));
  });
  await new Promise((r) => setTimeout(r, 1000));
  const idle = treeRssKb(child.pid!);
  const held = await fill(port, FDS * Math.max(1, workers) * 2);
  await new Promise((r) => setTimeout(r, 2000));
  const rss = treeRssKb(child.pid!);
  const count = held.length;
  for (const s of held) s.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { mode, held: count, idleRssMb: idle / 1024, rssMb: rss / 1024 };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hermod-bench-workers-'));
  const natsPort = await freePort();
  writeFileSync(
    join(dir, 'nats.conf'),
    `listen: 127.0.0.1:${natsPort}\njetstream { store_dir: "${join(dir, 'js')}" }\n`,
  );
  const nats = spawn('/usr/sbin/nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const results = [
      await runBroker('single', dir, natsUrl, 0),
      await runBroker(`workers${WORKERS}`, dir, natsUrl, WORKERS),
    ];
    console.log(`fd limit per broker process: ${FDS} (ulimit -n); idle MQTT 3.1.1 connections, keep alive 0`);
    console.log('| broker | connections held | RSS idle | RSS full | KB per connection |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of results) {
      const per = r.held > 0 ? (((r.rssMb - r.idleRssMb) * 1024) / r.held).toFixed(1) : '-';
      const name = r.mode === 'single' ? 'one process' : `--workers ${WORKERS}`;
      console.log(
        `| ${name} | ${r.held} | ${r.idleRssMb.toFixed(0)} MB | ${r.rssMb.toFixed(0)} MB | ${per} |`,
      );
    }
    const [single, multi] = results;
    console.log(
      `\n--workers ${WORKERS} holds ${(multi!.held / single!.held).toFixed(2)}× the connections of one process`,
    );
  } finally {
    nats.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
