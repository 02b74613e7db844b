/**
 * CONNECT and close cost alone, for before/after comparisons of the connection set-up path (issue 21): N
 * anonymous MQTT 3.1.1 clients (keepalive 300 s) log in 256 handshakes at a time, as the connections curve
 * does; then all of them send DISCONNECT and close; then N log in again on the same broker (a warm second
 * burst: the JIT has seen the path, the heap already grew once). Per run and as medians: CONNECT/s, broker
 * CPU µs per CONNECT of each burst and per DISCONNECT + close (all threads, /proc/<pid>/task/x/schedstat, so
 * the load generator's share of the machine does not skew it), and RSS bytes per idle connection 3 s and
 * 15 s after the first burst (the times S4 reads it).
 *
 *   node dist/bench/connect-rate.js [--n 10000] [--repeat 3] [--broker hermod,mosquitto] [--before DIR]
 *                                   [--no-rss] [--profile]
 *
 * --before DIR also runs, in the same rounds, the Hermod built in DIR (a worktree of an earlier revision
 * with node_modules linked and `npm run build` run): before/after under the same load. --no-rss skips the
 * 15 s wait (CPU only). --profile runs this tree's Hermod under --cpu-prof
 * (bench/results/hermod-connect-rate.cpuprofile; `node dist/bench/profile.js <file>`).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { brokersWithBefore, loadAverage, median, pinLoadAndLogs } from './before-tree.js';
import { type BrokerDef, ROOT } from './brokers.js';
import { freePort } from './children.js';
import { type ClientSink, openMany, type RawClient } from './loadgen/client.js';
import { threadsCpuSeconds as cpuSeconds, rssBytes } from './proc.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string' },
    repeat: { type: 'string' },
    broker: { type: 'string' },
    before: { type: 'string' },
    'no-rss': { type: 'boolean' },
    profile: { type: 'boolean' },
  },
});
const n = Number(values.n ?? 10_000);
const repeat = Number(values.repeat ?? 3);
const before = values.before === undefined ? undefined : resolve(values.before);
const withRss = values['no-rss'] !== true;
// The load from CPU 1, the broker on CPU 0, as the curves run them.
const LOGS = pinLoadAndLogs();

const brokers = brokersWithBefore(before, values.broker ?? 'hermod');

const none: ClientSink = { onPublish() {}, onAck() {}, onLost() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = loadAverage;

interface Run {
  rate: number;
  /** Broker CPU µs per CONNECT, first burst (fresh broker) and second (after closing the first). */
  cpu1: number;
  cpu2: number;
  /** Broker CPU µs per DISCONNECT + close. */
  cpuClose: number;
  /** RSS bytes per idle connection 3 s and 15 s after the first burst (NaN with --no-rss). */
  rss3: number;
  rss15: number;
}

let burst = 0;

/** Opens N clients; resolves with them and the broker CPU µs each CONNECT cost. */
async function connectAll(
  port: number,
  pid: number,
): Promise<{ clients: RawClient[]; us: number; rate: number }> {
  // Fresh client ids per burst: the second burst must not find the first one's sessions.
  const tag = ++burst;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const clients = await openMany(
    n,
    256,
    (i) => ({
      host: '127.0.0.1',
      port,
      clientId: `cr-${tag}-${i}`,
      keepalive: 300,
      localAddress: `127.0.0.${2 + (i % 16)}`,
    }),
    none,
  );
  const seconds = (performance.now() - t0) / 1000;
  return { clients, us: ((cpuSeconds(pid) - cpu0) * 1e6) / n, rate: n / seconds };
}

/** DISCONNECT and FIN from every client; resolves once the broker closed them all, with µs per close. */
async function closeAll(clients: RawClient[], pid: number): Promise<number> {
  const cpu0 = cpuSeconds(pid);
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((done) => {
          c.sock.once('close', () => done());
          c.close();
        }),
    ),
  );
  // The broker's own closes run when it reads the FINs: give its loop a moment past the last one.
  await sleep(300);
  return ((cpuSeconds(pid) - cpu0) * 1e6) / clients.length;
}

async function once(b: BrokerDef): Promise<Run> {
  const port = await freePort();
  const cpuProf =
    values.profile === true && b.label === 'Hermod'
      ? { dir: join(ROOT, 'bench', 'results'), name: 'hermod-connect-rate.cpuprofile' }
      : undefined;
  const logFile = join(LOGS, `${b.label.replace(/\W+/g, '-')}-connect-rate.log`);
  const broker = await b.start({ port, logFile, cpuProf });
  try {
    await sleep(300);
    const rss0 = rssBytes(broker.pid);
    const first = await connectAll(port, broker.pid);
    let rss3 = Number.NaN;
    let rss15 = Number.NaN;
    if (withRss) {
      await sleep(3000);
      rss3 = (rssBytes(broker.pid) - rss0) / n;
      await sleep(12_000);
      rss15 = (rssBytes(broker.pid) - rss0) / n;
    }
    const cpuClose = await closeAll(first.clients, broker.pid);
    const second = await connectAll(port, broker.pid);
    for (const c of second.clients) c.reset();
    return { rate: first.rate, cpu1: first.us, cpu2: second.us, cpuClose, rss3, rss15 };
  } finally {
    await broker.stop();
  }
}

const show = (x: Run) =>
  `${Math.round(x.rate)} CONNECT/s, CPU µs per CONNECT ${x.cpu1.toFixed(1)} (first burst) ${x.cpu2.toFixed(1)} (second), per DISCONNECT+close ${x.cpuClose.toFixed(1)}, RSS B/conn ${Math.round(x.rss3)} at 3 s ${Math.round(x.rss15)} at 15 s`;

console.log(`CONNECT cost, N = ${n}, ${repeat} repeats; load average at start ${load()}`);
const runs = new Map<string, Run[]>(brokers.map((b) => [b.label, []]));
for (let r = 0; r < repeat; r++) {
  for (const b of brokers) {
    const x = await once(b);
    runs.get(b.label)!.push(x);
    console.log(`  run ${r + 1} ${b.label}: ${show(x)} (load ${load()})`);
  }
}
console.log(`medians (load average at end ${load()}):`);
for (const b of brokers) {
  const xs = runs.get(b.label)!;
  const m = (k: keyof Run) => median(xs.map((x) => x[k]));
  console.log(
    `  ${b.label}: ${show({ rate: m('rate'), cpu1: m('cpu1'), cpu2: m('cpu2'), cpuClose: m('cpuClose'), rss3: m('rss3'), rss15: m('rss15') })}`,
  );
}
process.exit(0);
