/**
 * What one idle MQTT connection costs Hermod, and what it is made of: a broker process (pinned to CPU 0,
 * started with --expose-gc) is sampled before and after `--connections` idle clients (MQTT 3.1.1,
 * keepalive 300 s) connect from this process (CPU 1). Per connection: RSS, V8 heap, external memory
 * and array buffers after two forced GCs, and with `--snapshot` the heap-snapshot self size by
 * constructor (the objects each connection adds, e.g. MqttChannel, Socket, closures, Maps).
 *
 * CONN_MEMORY_SNAPSHOT_FILE=<path> with `--snapshot` also writes the last full heap snapshot there.
 * `--floor` runs a plain `net` server instead (answers CONNECT with a CONNACK, keeps the socket): Node's
 * own cost per idle TCP connection, which no broker change can go below. `--node-flags '<flags>'` starts the
 * broker process with those Node/V8 flags (e.g. '--max-semi-space-size=1') to see what they change.
 *
 * `--no-gc --settle <ms>` samples without forcing GCs, `settle` ms after the last CONNACK (S4 reads RSS
 * 3 000 ms after its first pass): what the process holds on its own, grown young generation included.
 *
 *   npm run build && node dist/bench/conn-memory.js [--connections 10000] [--snapshot] [--top 30] [--floor]
 *     [--node-flags='<flags>'] [--no-gc] [--settle 2000]
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { BROKER_CPU, LOADGEN_CPU } from './brokers.js';
import { type ClientSink, openMany } from './loadgen/client.js';
import { rssBytes } from './proc.js';

interface Sample {
  rss: number;
  heapUsed: number;
  /** V8 heap committed (used plus free space in its pages). */
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Bytes V8 has reserved for the young generation (new space), which grows with a burst of allocation. */
  newSpace: number;
  /** Heap snapshot self size and count per "type:name" (only with --snapshot). */
  byClass?: Record<string, [number, number]>;
}

/** `gc: false` samples as S4 does: the heap as it is, garbage and grown young generation included. */
type Ask = { sample: boolean; snapshot: boolean; gc: boolean };

// ---------------------------------------------------------------------------------------- broker side

/** Node's own floor: a plain net server that answers CONNECT with CONNACK and keeps the socket. */
function floorServer(): Promise<number> {
  const connack = Buffer.from([0x20, 2, 0, 0]);
  const server = net.createServer({ noDelay: true }, (s) => {
    s.on('data', () => s.write(connack));
    s.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

async function serve(floor: boolean): Promise<void> {
  let port: number;
  if (floor) port = await floorServer();
  else {
    const { startBenchNode } = await import('./bench-node.js');
    const node = await startBenchNode({ mqtt: { idle_timeout: '60s' } });
    port = node.port('tcp:default');
  }
  const gc = (globalThis as { gc?: () => void }).gc!;
  process.on('message', async (m: Ask) => {
    if (m.gc) {
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
    }
    const mu = process.memoryUsage();
    const s: Sample = {
      rss: mu.rss,
      heapUsed: mu.heapUsed,
      heapTotal: mu.heapTotal,
      external: mu.external,
      arrayBuffers: mu.arrayBuffers,
      newSpace: v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0,
    };
    if (m.snapshot) s.byClass = await snapshotByClass();
    if (process.env.CONN_MEMORY_SNAPSHOT_FILE !== undefined && m.snapshot)
      v8.writeHeapSnapshot(process.env.CONN_MEMORY_SNAPSHOT_FILE);
    process.send!(s);
  });
  process.send!({ port });
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count of every live heap object, grouped by its type and constructor name. */
async function snapshotByClass(): Promise<Record<string, [number, number]>> {
  const chunks: string[] = [];
  for await (const c of v8.getHeapSnapshot()) chunks.push(String(c));
  const snap = JSON.parse(chunks.join('')) as RawSnapshot;
  const f = snap.snapshot.meta.node_fields;
  const stride = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const out: Record<string, [number, number]> = {};
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + iType]];
    // Strings and code are grouped by kind only: their names are their contents.
    const name =
      type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + iName]] : '';
    const key = `${type}:${name}`;
    const e = (out[key] ??= [0, 0]);
    e[0] += snap.nodes[i + iSize];
    e[1]++;
  }
  return out;
}

// ---------------------------------------------------------------------------------------- driver side

const quiet: ClientSink = { onPublish() {}, onAck() {}, onLost() {} };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'boolean' },
      connections: { type: 'string', default: '10000' },
      snapshot: { type: 'boolean' },
      floor: { type: 'boolean' },
      top: { type: 'string', default: '30' },
      'node-flags': { type: 'string', default: '' },
      settle: { type: 'string', default: '2000' },
      'no-gc': { type: 'boolean' },
    },
  });
  if (values.serve) return serve(values.floor === true);
  const n = Number(values.connections);
  const child = spawn(
    'taskset',
    [
      '-c',
      BROKER_CPU,
      process.execPath,
      '--expose-gc',
      ...values['node-flags'].split(' ').filter((f) => f.length > 0),
      process.argv[1],
      '--serve',
      ...(values.floor ? ['--floor'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  const next = () => new Promise<unknown>((resolve) => child.once('message', resolve));
  const { port } = (await next()) as { port: number };
  const ask = async (a: Ask): Promise<Sample> => {
    const got = next();
    child.send(a);
    const s = (await got) as Sample;
    s.rss = rssBytes(child.pid!); // VmRSS as `top` shows it (process.memoryUsage agrees)
    return s;
  };
  const snapshot = values.snapshot === true;
  const forceGc = values['no-gc'] !== true;
  const before = await ask({ sample: true, snapshot, gc: forceGc });
  const t0 = performance.now();
  const clients = await openMany(
    n,
    256,
    (i) => ({
      host: '127.0.0.1',
      port,
      clientId: `mem-${i}`,
      keepalive: 300,
      localAddress: `127.0.0.${2 + (i % 16)}`,
    }),
    quiet,
  );
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, Number(values.settle)));
  const after = await ask({ sample: true, snapshot, gc: forceGc });
  const per = (a: number, b: number) => ((b - a) / n).toFixed(0).padStart(7);
  console.log(`${n} idle connections (opened at ${Math.round(n / seconds)}/s), per connection, bytes:`);
  console.log(`  RSS          ${per(before.rss, after.rss)}`);
  console.log(`  V8 heap used ${per(before.heapUsed, after.heapUsed)}`);
  console.log(`  V8 heap committed ${per(before.heapTotal, after.heapTotal)}`);
  console.log(
    `  external     ${per(before.external, after.external)}  (of which array buffers ${per(before.arrayBuffers, after.arrayBuffers).trim()})`,
  );
  console.log(
    `  V8 new space ${per(before.newSpace, after.newSpace)}  (${(before.newSpace / 2 ** 20).toFixed(1)} → ${(after.newSpace / 2 ** 20).toFixed(1)} MiB)`,
  );
  if (before.byClass !== undefined && after.byClass !== undefined) {
    const rows: Array<[string, number, number]> = [];
    for (const [k, [size, count]] of Object.entries(after.byClass)) {
      const [size0, count0] = before.byClass[k] ?? [0, 0];
      rows.push([k, (size - size0) / n, (count - count0) / n]);
    }
    rows.sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((s, r) => s + r[1], 0);
    console.log(`heap snapshot, self size per connection by type:constructor (total ${total.toFixed(0)} B):`);
    for (const [k, size, count] of rows.slice(0, Number(values.top))) {
      console.log(`  ${size.toFixed(0).padStart(6)} B  ${count.toFixed(2).padStart(6)} ×  ${k}`);
    }
  }
  for (const c of clients) c.reset();
  child.kill('SIGTERM');
}

// Keep this driver off the broker's core.
spawn('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
void main();
