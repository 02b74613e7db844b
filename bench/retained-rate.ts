/**
 * The retained curves' phases alone, for before/after comparisons of the retainer (issue 21): N retained
 * topics `ret/<g>/<k>` stored by 10 QoS 1 publishers (32 in flight each, as the curves send them), then
 * `ret/+/7` (N/100 matches) and `ret/#` (all N), against each broker in turn, repeated. Prints per run and
 * the medians: stores/s (wall clock) and the broker's CPU µs per retained PUBLISH (/proc, so not skewed by
 * the load generator's share of the machine; it counts until 1.5 s after the last PUBACK, which takes in a
 * periodic durability commit), ms for `ret/+/7`, s for `ret/#` and CPU µs per `ret/#` delivery.
 *
 *   node dist/bench/retained-rate.js [--n 100000] [--repeat 3] [--broker hermod,mosquitto] [--disk]
 *                                    [--profile] [--before DIR]
 *
 * --disk keeps the state on disk as the retained-restart curve does (Hermod: durability.mode = periodic,
 * Mosquitto: persistence). --before DIR also runs, in the same rounds, the Hermod built in DIR (a worktree
 * of another revision, node_modules linked, built): before/after under the same load. --profile runs Hermod
 * under --cpu-prof (bench/results/hermod-retained-rate.cpuprofile): such a run's figures are not results.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { brokersWithBefore, loadAverage, median, pinLoadAndLogs } from './before-tree.js';
import { type BrokerDef, ROOT } from './brokers.js';
import { freePort } from './children.js';
import { type ClientSink, openMany, type RawClient } from './loadgen/client.js';
import { P_INDEX, publishTemplate, subscribeFrame } from './loadgen/frames.js';
import { threadsCpuSeconds as cpuSeconds, monotonicUs } from './proc.js';
import { renderProfile } from './profile.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    repeat: { type: 'string' },
    broker: { type: 'string' },
    disk: { type: 'boolean' },
    profile: { type: 'boolean' },
    before: { type: 'string' },
  },
});
const n = Number(values.n ?? 100_000);
const repeat = Number(values.repeat ?? 3);
const disk = values.disk === true;
const before = values.before === undefined ? undefined : resolve(values.before);
const WINDOW = 32;
// The load from CPU 1, the broker on CPU 0, as the curves run them.
const LOGS = pinLoadAndLogs();

/** CPU seconds of the process's main thread alone (the others are V8's compiler and GC helpers). */
const mainCpu = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'latin1').split(' ')[0]) / 1e9;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = loadAverage;

const brokers = brokersWithBefore(before, values.broker ?? 'hermod,mosquitto');

/** Sends `count` retained QoS 1 PUBLISHes with WINDOW in flight; resolves when all are acknowledged. */
function publishAll(c: RawClient, first: number, count: number): Promise<void> {
  return new Promise((done) => {
    let sent = 0;
    let acked = 0;
    const frame = (i: number) => {
      const idx = first + i;
      const t = publishTemplate(`ret/${Math.floor(idx / 100)}/${idx % 100}`, 1, true);
      const f = Buffer.from(t.frame);
      f.writeUInt16BE((i % 65535) + 1, t.pidOffset);
      f.writeUInt32LE(idx, t.payloadOffset + P_INDEX);
      return f;
    };
    const pump = () => {
      while (sent < count && sent - acked < WINDOW) c.write(frame(sent++));
    };
    c.sink = {
      onPublish() {},
      onAck() {
        acked++;
        if (acked === count) done();
        else pump();
      },
      onLost() {},
    };
    if (count === 0) done();
    else pump();
  });
}

/** Subscribes `filter` from a new client; ms until `count` deliveries arrived (each index once). */
async function lookup(port: number, filter: string, count: number): Promise<number> {
  const seen = new Uint8Array(n);
  let got = 0;
  let wrong = 0;
  let done: (() => void) | undefined;
  const sink: ClientSink = {
    onPublish(_c, buf, payload) {
      const i = buf.readUInt32LE(payload + P_INDEX);
      if (i >= n || seen[i] !== 0) wrong++;
      else seen[i] = 1;
      got++;
      if (got >= count) done?.();
    },
    onAck() {},
    onLost() {},
  };
  const [c] = await openMany(1, 1, () => ({ host: '127.0.0.1', port, clientId: `look-${got}` }), sink);
  const t = performance.now();
  const all = new Promise<void>((r) => {
    done = r;
  });
  c!.write(subscribeFrame(1, [filter], 1));
  await Promise.race([all, sleep(120_000)]);
  const ms = performance.now() - t;
  if (got !== count || wrong > 0)
    throw new Error(`${filter}: ${got} of ${count}, ${wrong} wrong or repeated`);
  c!.reset();
  return ms;
}

interface Run {
  rate: number;
  cpuStore: number;
  msColumn: number;
  sAll: number;
  cpuAll: number;
  /** The main thread's share of cpuStore and cpuAll. */
  mainStore: number;
  mainAll: number;
}

async function once(b: BrokerDef): Promise<Run> {
  const port = await freePort();
  const cpuProf =
    values.profile === true && b.label === 'Hermod'
      ? { dir: join(ROOT, 'bench', 'results'), name: 'hermod-retained-rate.cpuprofile' }
      : undefined;
  const logFile = join(LOGS, `${b.label.replace(/\W+/g, '-')}-retained-rate.log`);
  const dataDir = disk ? mkdtempSync(join(tmpdir(), 'hermod-retained-rate-')) : undefined;
  const broker = await b.start({ port, logFile, cpuProf, dataDir });
  try {
    await sleep(300);
    const none: ClientSink = { onPublish() {}, onAck() {}, onLost() {} };
    const pubs = await openMany(
      10,
      10,
      (i) => ({ host: '127.0.0.1', port, clientId: `rpub-${i}`, keepalive: 300 }),
      none,
    );
    await sleep(200);
    const share = Math.ceil(n / 10);
    const cpu0 = cpuSeconds(broker.pid);
    const main0 = mainCpu(broker.pid);
    const w0 = monotonicUs();
    const t0 = performance.now();
    await Promise.all(
      pubs.map((p, j) => publishAll(p, j * share, Math.max(0, Math.min(share, n - j * share)))),
    );
    const seconds = (performance.now() - t0) / 1000;
    await sleep(1500);
    const cpuStore = ((cpuSeconds(broker.pid) - cpu0) * 1e6) / n;
    const mainStore = ((mainCpu(broker.pid) - main0) * 1e6) / n;
    windows.store = [w0, monotonicUs()];
    const wc = monotonicUs();
    const msColumn = await lookup(port, 'ret/+/7', n / 100);
    windows.column = [wc, monotonicUs()];
    const cpu1 = cpuSeconds(broker.pid);
    const main1 = mainCpu(broker.pid);
    const w1 = monotonicUs();
    const sAll = (await lookup(port, 'ret/#', n)) / 1000;
    const cpuAll = ((cpuSeconds(broker.pid) - cpu1) * 1e6) / n;
    const mainAll = ((mainCpu(broker.pid) - main1) * 1e6) / n;
    windows.all = [w1, monotonicUs()];
    for (const p of pubs) p.reset();
    return { rate: n / seconds, cpuStore, msColumn, sAll, cpuAll, mainStore, mainAll };
  } finally {
    await broker.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The phases of the last run, for the profile (CLOCK_MONOTONIC µs). */
const windows: { store?: [number, number]; column?: [number, number]; all?: [number, number] } = {};

const line = (x: Run) =>
  `${Math.round(x.rate)} stores/s, ${x.cpuStore.toFixed(2)} µs CPU/store (main thread ${x.mainStore.toFixed(2)}), ret/+/7 ${x.msColumn.toFixed(1)} ms, ret/# ${x.sAll.toFixed(3)} s, ${x.cpuAll.toFixed(2)} µs CPU/delivery (main thread ${x.mainAll.toFixed(2)})`;
console.log(`retained phases, N = ${n}${disk ? ', on disk' : ''}, ${repeat} repeats; load ${load()}`);
const runs = new Map<string, Run[]>(brokers.map((b) => [b.label, []]));
for (let r = 0; r < repeat; r++) {
  for (const b of brokers) {
    const x = await once(b);
    runs.get(b.label)!.push(x);
    console.log(`  run ${r + 1} ${b.label}: ${line(x)} (load ${load()})`);
  }
}
console.log(`medians (load ${load()}):`);
for (const b of brokers) {
  const xs = runs.get(b.label)!;
  const m = (k: keyof Run) => median(xs.map((x) => x[k]));
  console.log(
    `  ${b.label}: ${line({ rate: m('rate'), cpuStore: m('cpuStore'), msColumn: m('msColumn'), sAll: m('sAll'), cpuAll: m('cpuAll'), mainStore: m('mainStore'), mainAll: m('mainAll') })}`,
  );
}
if (values.profile === true) {
  const file = join(ROOT, 'bench', 'results', 'hermod-retained-rate.cpuprofile');
  for (const [phase, w] of Object.entries(windows)) {
    console.log(`\n### ${phase}\n`);
    console.log(renderProfile(file, ROOT, 30, w));
  }
}
process.exit(0);
