/**
 * SUBSCRIBE rate alone, for before/after comparisons of the subscribe path (issue 21): the filter mix of the
 * subscriptions curve (a quarter each `bg/c/k`, `bg/c/+/k`, `+/c/k`, `bg/c/k/#`, SUBSCRIBE packets of 100
 * filters, one packet in flight per client), against each broker in turn, repeated; prints per run and the
 * medians: filters/s (wall clock), broker CPU µs per filter (/proc, so not skewed by the load generator's
 * share of the machine) and RSS bytes per subscription.
 *
 *   node dist/bench/subscribe-rate.js [--n 100000] [--repeat 3] [--broker hermod,mosquitto] [--profile]
 *
 * --profile runs Hermod under --cpu-prof (bench/results/hermod-subscribe-rate.cpuprofile; summarise with
 * `node dist/bench/profile.js <file>`): such a run's figures are not results.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, selectBrokers } from './brokers.js';
import { freePort } from './children.js';
import { type ClientSink, openMany, type RawClient } from './loadgen/client.js';
import { cpuSeconds, rssBytes } from './proc.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    repeat: { type: 'string' },
    broker: { type: 'string' },
    profile: { type: 'boolean' },
  },
});
const n = Number(values.n ?? 100_000);
const repeat = Number(values.repeat ?? 3);
const brokers = selectBrokers((values.broker ?? 'hermod,mosquitto').split(','));
const LOGS = join(ROOT, '.tmp', 'bench-logs');
mkdirSync(LOGS, { recursive: true });

const none: ClientSink = { onPublish() {}, onAck() {}, onLost() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () => readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');

function filtersOf(ci: number, per: number): string[] {
  return Array.from({ length: per }, (_, k) =>
    k % 4 === 0
      ? `bg/${ci}/${k}`
      : k % 4 === 1
        ? `bg/${ci}/+/${k}`
        : k % 4 === 2
          ? `+/${ci}/${k}`
          : `bg/${ci}/${k}/#`,
  );
}

async function subscribeAll(c: RawClient, filters: string[]): Promise<void> {
  for (let k = 0, pid = 1; k < filters.length; k += 100, pid++) {
    const codes = await c.subscribe(filters.slice(k, k + 100), 1, pid);
    if (codes.some((x) => x >= 0x80)) throw new Error(`SUBSCRIBE refused (${codes.find((x) => x >= 0x80)})`);
  }
}

interface Run {
  rate: number;
  cpuUs: number;
  bytes: number;
}

async function once(b: (typeof brokers)[number]): Promise<Run> {
  const port = await freePort();
  const cpuProf =
    values.profile === true && b.name === 'hermod'
      ? { dir: join(ROOT, 'bench', 'results'), name: 'hermod-subscribe-rate.cpuprofile' }
      : undefined;
  const broker = await b.start({ port, logFile: join(LOGS, `${b.name}-subscribe-rate.log`), cpuProf });
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
    const lists = subs.map((_, ci) => filtersOf(ci, per));
    await sleep(200);
    const rss0 = rssBytes(broker.pid);
    const cpu0 = cpuSeconds(broker.pid);
    const t0 = performance.now();
    await Promise.all(subs.map((c, ci) => subscribeAll(c, lists[ci]!)));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(broker.pid) - cpu0;
    await sleep(1000);
    const bytes = (rssBytes(broker.pid) - rss0) / (clients * per);
    for (const c of subs) c.reset();
    return { rate: (clients * per) / seconds, cpuUs: (cpu * 1e6) / (clients * per), bytes };
  } finally {
    await broker.stop();
  }
}

console.log(`SUBSCRIBE rate, N = ${n}, ${repeat} repeats; load average at start ${load()}`);
const runs = new Map<string, Run[]>(brokers.map((b) => [b.name, []]));
for (let r = 0; r < repeat; r++) {
  for (const b of brokers) {
    const x = await once(b);
    runs.get(b.name)!.push(x);
    console.log(
      `  run ${r + 1} ${b.label}: ${Math.round(x.rate)} filters/s, ${x.cpuUs.toFixed(2)} µs CPU/filter, ${Math.round(x.bytes)} B/sub (load ${load()})`,
    );
  }
}
console.log(`medians (load average at end ${load()}):`);
for (const b of brokers) {
  const xs = runs.get(b.name)!;
  console.log(
    `  ${b.label}: ${Math.round(median(xs.map((x) => x.rate)))} filters/s, ${median(xs.map((x) => x.cpuUs)).toFixed(2)} µs CPU/filter, ${Math.round(median(xs.map((x) => x.bytes)))} B/sub`,
  );
}
process.exit(0);
