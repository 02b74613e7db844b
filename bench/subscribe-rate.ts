/**
 * SUBSCRIBE rate alone, for before/after comparisons of the subscribe path (issue 21): the filter mix of the
 * subscriptions curve (a quarter each `bg/c/k`, `bg/c/+/k`, `+/c/k`, `bg/c/k/#`, SUBSCRIBE packets of 100
 * filters, one packet in flight per client), against each broker in turn, repeated; prints per run and the
 * medians: filters/s (wall clock), broker CPU µs per filter (/proc, so not skewed by the load generator's
 * share of the machine), RSS bytes per subscription and, for Hermod, V8 heap bytes per subscription after
 * forced GCs (bench/servers/heap-probe.ts).
 *
 *   node dist/bench/subscribe-rate.js [--n 100000] [--repeat 3] [--broker hermod,mosquitto] [--profile]
 *                                     [--before DIR]
 *
 * --before DIR also runs, in the same rounds, the Hermod built in DIR (e.g. `git archive <rev>` unpacked
 * there, with node_modules linked and `npx tsc -p tsconfig.json` run): before/after under the same load.
 *
 * --profile runs Hermod under --cpu-prof (bench/results/hermod-subscribe-rate.cpuprofile; summarise with
 * `node dist/bench/profile.js <file>`): such a run's figures are not results.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { brokersWithBefore, loadAverage, median, pinLoadAndLogs } from './before-tree.js';
import { ROOT } from './brokers.js';
import { freePort } from './children.js';
import { mixedFilters, subscribeAll } from './curves.js';
import { type ClientSink, openMany } from './loadgen/client.js';
import { threadsCpuSeconds as cpuSeconds, rssBytes } from './proc.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    repeat: { type: 'string' },
    broker: { type: 'string' },
    profile: { type: 'boolean' },
    before: { type: 'string' },
  },
});
const n = Number(values.n ?? 100_000);
const repeat = Number(values.repeat ?? 3);
const before = values.before === undefined ? undefined : resolve(values.before);
// The load from CPU 1, the broker on CPU 0, as the curves run them.
const LOGS = pinLoadAndLogs();

const brokers = brokersWithBefore(before, values.broker ?? 'hermod,mosquitto');

const none: ClientSink = { onPublish() {}, onAck() {}, onLost() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = loadAverage;

interface Run {
  rate: number;
  cpuUs: number;
  bytes: number;
  /** V8 heap bytes per subscription after forced GCs (Node brokers with the heap probe; else NaN). */
  heap: number;
}

async function once(b: (typeof brokers)[number]): Promise<Run> {
  const port = await freePort();
  const cpuProf =
    values.profile === true && b.label === 'Hermod'
      ? { dir: join(ROOT, 'bench', 'results'), name: 'hermod-subscribe-rate.cpuprofile' }
      : undefined;
  const logFile = join(LOGS, `${b.label.replace(/\W+/g, '-')}-subscribe-rate.log`);
  const broker = await b.start({ port, logFile, cpuProf, heapProbe: true });
  try {
    await sleep(300);
    const clients = Math.max(10, Math.round(n / 1000));
    const per = Math.round(n / clients);
    const subs = await openMany(
      clients,
      Math.min(256, clients),
      (i) => ({ host: '127.0.0.1', port, clientId: `sub-${i}`, keepalive: 300 }),
      none,
    );
    const lists = subs.map((_, ci) => mixedFilters(ci, per));
    await sleep(200);
    // The heap first: its forced GC must not shrink RSS between rss0 and the step.
    const heap0 = await broker.heap?.();
    const rss0 = rssBytes(broker.pid);
    const cpu0 = cpuSeconds(broker.pid);
    const t0 = performance.now();
    await Promise.all(subs.map((c, ci) => subscribeAll(c, lists[ci]!)));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(broker.pid) - cpu0;
    await sleep(1000);
    const bytes = (rssBytes(broker.pid) - rss0) / (clients * per);
    const heap1 = await broker.heap?.();
    const heap =
      heap0 === undefined || heap1 === undefined
        ? Number.NaN
        : (heap1.heapUsed - heap0.heapUsed) / (clients * per);
    for (const c of subs) c.reset();
    return { rate: (clients * per) / seconds, cpuUs: (cpu * 1e6) / (clients * per), bytes, heap };
  } finally {
    await broker.stop();
  }
}

console.log(`SUBSCRIBE rate, N = ${n}, ${repeat} repeats; load average at start ${load()}`);
const runs = new Map<string, Run[]>(brokers.map((b) => [b.label, []]));
for (let r = 0; r < repeat; r++) {
  for (const b of brokers) {
    const x = await once(b);
    runs.get(b.label)!.push(x);
    console.log(
      `  run ${r + 1} ${b.label}: ${Math.round(x.rate)} filters/s, ${x.cpuUs.toFixed(2)} µs CPU/filter, ${Math.round(x.bytes)} B/sub RSS, ${Math.round(x.heap)} B/sub heap (load ${load()})`,
    );
  }
}
console.log(`medians (load average at end ${load()}):`);
for (const b of brokers) {
  const xs = runs.get(b.label)!;
  console.log(
    `  ${b.label}: ${Math.round(median(xs.map((x) => x.rate)))} filters/s, ${median(xs.map((x) => x.cpuUs)).toFixed(2)} µs CPU/filter, ${Math.round(median(xs.map((x) => x.bytes)))} B/sub RSS, ${Math.round(median(xs.map((x) => x.heap)))} B/sub heap`,
  );
}
process.exit(0);
