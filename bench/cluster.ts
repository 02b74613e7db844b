/**
 * What the cluster bus costs (issue 20): cross-node deliveries/s, broker CPU per message and latency of a
 * 3-node cluster on this machine against one node, with the same MQTT traffic.
 *
 *   npm run bench -- --scenario cluster
 *   npm run build && node dist/bench/cluster.js [--seconds 5] [--warmup 2] [--pairs 100] [--rate 5000]
 *     [--rounds 1] [--loads closed,paced] [--qos 0,1] [--json FILE]
 *
 * BENCH_CLUSTER_PROFILE=a,b (node names: single, a, b, c) writes V8 CPU profiles of those nodes to
 * .tmp/bench-logs/ when they stop; node and nats-server logs go there too.
 *
 * Processes: one nats-server with JetStream, one Hermod node without cluster config (the baseline) and nodes
 * A, B and C (`hermod start --config FILE` each) on that nats-server. Every broker-side process (the four
 * nodes and nats-server) is pinned to CPU 0, the load generator (a child of this script) and this script to
 * CPU 1: both set-ups get the same single core, so their throughput follows their summed CPU per message and
 * the difference of CPU per message is what the bus adds. All of them stay up for the whole run and the phases
 * alternate (one node, cluster, one node, …), so a busier machine weighs on both sides alike; an idle
 * set-up's timers are not counted as its own CPU (they show as "other" on CPU 0).
 *
 * Traffic: `pairs` publishers and subscribers, publisher i → topic bench/c/i → subscriber i, 64-byte
 * payloads carrying publisher index, sequence number and send time. On the cluster the publishers are
 * connected to node A and the subscribers to node B (every message crosses the bus once); on the baseline
 * both to the one node. Two loads per QoS (0 and 1):
 * - closed: every publisher keeps at most CLIENT_WINDOW messages unacknowledged and not yet delivered,
 *   as S1 does: the most each set-up delivers on its core;
 * - paced: `rate` messages/s in total, one publisher after the other: latency and CPU per message at the
 *   same load for both set-ups.
 *
 * Checked while measuring: each subscriber sees its publisher's sequence numbers rise by one; a skipped
 * number is lost, a number seen again is a duplicate (a QoS 1 redelivery when it has DUP) or out of order.
 * After each window the publishers stop and the run drains: what never arrived is lost.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROKER_CPU, BROKERS, LOADGEN_CPU, ROOT } from './brokers.js';
import { canConnect, childLines, freePort } from './children.js';
import { type ClientSink, openMany, type RawClient } from './loadgen/client.js';
import { P_INDEX, P_SEQ, P_TIME, PUBACK, type PublishTemplate, publishTemplate } from './loadgen/frames.js';
import type { LatencySummary } from './loadgen/histogram.js';
import { TrafficMeter } from './loadgen/meter.js';
import { Pacer } from './loadgen/pacer.js';
import { RefillQueue } from './loadgen/refill.js';
import { SequenceCheck } from './loadgen/sequence.js';
import { CoreWatch, cpuSeconds, selfCpuSeconds } from './proc.js';
import { harnessConfig, machineInfo, type Report } from './report.js';
import { CLIENT_WINDOW, LIMITS, PAYLOAD_BYTES } from './scenarios.js';
import type { RunResult } from './types.js';

const self = fileURLToPath(import.meta.url);
const NATS_SERVER = '/usr/sbin/nats-server';
const LOGS = join(ROOT, '.tmp', 'bench-logs');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- load generator (child)

type Setup = 'single' | 'cluster';
type Load = 'closed' | 'paced';

interface LoadJob {
  /** Client id prefix: unique per phase, as the cluster's registry keeps ids cluster-wide. */
  prefix: string;
  pubPort: number;
  subPort: number;
  qos: 0 | 1;
  pairs: number;
  warmup: number;
  seconds: number;
  /** Paced load: messages/s over all publishers; closed loop when absent. */
  rate?: number;
  /** Broker-side processes whose CPU is the set-up's: name → pid. */
  pids: Record<string, number>;
}

interface LoadResult {
  seconds: number;
  published: number;
  delivered: number;
  latency: LatencySummary;
  /** CPU seconds of each process of `pids` over the window. */
  cpu: Record<string, number>;
  loaderCpu: number;
  brokerCoreOther: number;
  loaderCoreOther: number;
  /** Over the whole phase (warm-up and drain included). */
  sent: number;
  lost: number;
  outOfOrder: number;
  duplicates: number;
  unexpected: number;
  pacerSkipped: number;
  problems: string[];
}

/** A run with no delivery and no ack for this long has stalled. */
const STALL_MS = 5000;

/** Publisher i → subscriber i traffic with its windows and checks (one sink for every client). */
class Pairs implements ClientSink {
  private readonly P: number;
  private readonly W = CLIENT_WINDOW;
  private pubs: RawClient[] = [];
  private subs: RawClient[] = [];
  private readonly templates: PublishTemplate[] = [];
  /** Next sequence number per publisher. */
  private readonly sent: Int32Array;
  /** Per subscriber i: the next number it expects (numbers below it arrived or were skipped). */
  private readonly seqs: SequenceCheck;
  /** Unacknowledged QoS 1 PUBLISHes per publisher. */
  private readonly ackOut: Int32Array;
  private unexpected = 0;
  private readonly lostConns: string[] = [];
  private readonly meter = new TrafficMeter();
  private readonly refills: RefillQueue;
  /** Paced load: one message per publisher in turn, as independent devices would send. */
  private readonly pacer: Pacer | undefined;

  constructor(private readonly job: LoadJob) {
    this.P = job.pairs;
    this.sent = new Int32Array(this.P);
    this.seqs = new SequenceCheck(this.P);
    this.ackOut = new Int32Array(this.P);
    this.refills = new RefillQueue(this.P, (pub) => this.pump(pub, this.W));
    this.pacer =
      job.rate === undefined
        ? undefined
        : new Pacer(job.rate, this.P, 1, (pub, limit) => this.pump(pub, limit));
    for (let i = 0; i < this.P; i++) this.templates.push(publishTemplate(`bench/c/${i}`, job.qos, false));
  }

  async run(): Promise<LoadResult> {
    const { job } = this;
    const problems: string[] = [];
    const host = '127.0.0.1';
    this.subs = await openMany(
      this.P,
      50,
      (i) => ({ host, port: job.subPort, clientId: `${job.prefix}-s${i}` }),
      this,
    );
    const codes = await Promise.all(this.subs.map((c) => c.subscribe([`bench/c/${c.index}`], job.qos)));
    const refused = codes.filter((c) => c[0] !== job.qos).length;
    if (refused > 0) problems.push(`${refused} subscriptions not granted at QoS ${job.qos}`);
    this.pubs = await openMany(
      this.P,
      50,
      (i) => ({ host, port: job.pubPort, clientId: `${job.prefix}-p${i}` }),
      this,
    );
    await sleep(200);

    this.meter.begin();
    if (this.pacer !== undefined) this.pacer.start(this.meter);
    else for (let i = 0; i < this.P; i++) this.pump(i, this.W);
    let stalled = await this.stalledIn(job.warmup * 1000);

    const pids = Object.entries(job.pids);
    const ownCpu = () => pids.reduce((s, [, pid]) => s + cpuSeconds(pid), 0);
    const cpu0 = new Map(pids.map(([name, pid]) => [name, cpuSeconds(pid)]));
    const brokerCore = new CoreWatch(Number(BROKER_CPU), ownCpu).start();
    const loaderCore = new CoreWatch(Number(LOADGEN_CPU), selfCpuSeconds).start();
    const self0 = selfCpuSeconds();
    const t0 = performance.now();
    this.meter.openWindow();
    if (!stalled) stalled = await this.stalledIn(job.seconds * 1000);
    this.meter.measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    const cpu: Record<string, number> = {};
    for (const [name, pid] of pids) cpu[name] = cpuSeconds(pid) - cpu0.get(name)!;
    const loaderCpu = (100 * (selfCpuSeconds() - self0)) / seconds;
    const brokerCoreOther = brokerCore.stop();
    const loaderCoreOther = loaderCore.stop();
    const published = this.meter.published;
    const delivered = this.meter.delivered;
    this.meter.stopped = true;

    // Drain: everything sent must arrive.
    const drainStart = performance.now();
    this.meter.lastProgress = drainStart;
    while (!this.complete() && this.lostConns.length === 0) {
      const now = performance.now();
      if (now - this.meter.lastProgress > 3000 || now - drainStart > 20_000) break;
      await sleep(50);
    }
    let lost = this.seqs.gaps;
    for (let i = 0; i < this.P; i++) lost += this.sent[i]! - this.seqs.next[i]!;
    if (stalled) problems.push(`stalled: no delivery or ack for ${STALL_MS / 1000} s`);
    problems.push(...this.lostConns);
    for (const c of [...this.pubs, ...this.subs]) c.close();
    return {
      seconds,
      published,
      delivered,
      latency: this.meter.latency.summary(),
      cpu,
      loaderCpu,
      brokerCoreOther,
      loaderCoreOther,
      sent: this.sent.reduce((a, b) => a + b, 0),
      lost,
      outOfOrder: this.seqs.backwards,
      duplicates: this.seqs.dups,
      unexpected: this.unexpected,
      pacerSkipped: this.pacer?.skipped ?? 0,
      problems,
    };
  }

  private async stalledIn(ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await sleep(Math.min(250, until - performance.now()));
      if (performance.now() - this.meter.lastProgress > STALL_MS || this.lostConns.length > 0) return true;
    }
    return false;
  }

  private complete(): boolean {
    for (let i = 0; i < this.P; i++) {
      if (this.seqs.next[i]! < this.sent[i]! || this.ackOut[i]! > 0) return false;
    }
    return true;
  }

  onPublish(c: RawClient, buf: Buffer, p: number, end: number, qos: number, dup: boolean, now: number): void {
    const pub = end - p >= 16 ? buf.readUInt32LE(p + P_INDEX) : -1;
    if (pub !== c.index) {
      this.unexpected++;
      return;
    }
    const seq = buf.readUInt32LE(p + P_SEQ);
    this.meter.delivery(buf.readDoubleLE(p + P_TIME), now);
    if (this.seqs.accept(pub, seq, qos, dup) < 0) return;
    this.markDirty(pub);
  }

  onAck(c: RawClient, type: number): void {
    if (type !== PUBACK) return;
    this.ackOut[c.index]!--;
    this.meter.lastProgress = performance.now();
    this.markDirty(c.index);
  }

  onLost(c: RawClient, why: string): void {
    if (this.lostConns.length < 5) this.lostConns.push(`${c.id}: ${why}`);
  }

  private markDirty(pub: number): void {
    if (this.job.rate !== undefined || this.meter.stopped) return;
    this.refills.mark(pub);
  }

  /** Sends up to `limit` messages of publisher `pub` that its windows allow, in one write. */
  private pump(pub: number, limit: number): number {
    if (this.meter.stopped) return 0;
    let n = Math.min(limit, this.W - (this.sent[pub]! - this.seqs.next[pub]!));
    if (this.job.qos > 0) n = Math.min(n, this.W - this.ackOut[pub]!);
    if (n <= 0) return 0;
    const t = this.templates[pub]!;
    const fl = t.frame.length;
    const out = Buffer.allocUnsafe(n * fl);
    const ts = performance.now();
    let seq = this.sent[pub]!;
    for (let m = 0, pos = 0; m < n; m++, pos += fl, seq++) {
      t.frame.copy(out, pos);
      if (t.pidOffset >= 0) out.writeUInt16BE((seq % 65535) + 1, pos + t.pidOffset);
      out.writeUInt32LE(pub, pos + t.payloadOffset + P_INDEX);
      out.writeUInt32LE(seq, pos + t.payloadOffset + P_SEQ);
      out.writeDoubleLE(ts, pos + t.payloadOffset + P_TIME);
    }
    this.sent[pub] = seq;
    if (this.job.qos > 0) this.ackOut[pub]! += n;
    if (this.meter.measuring) this.meter.published += n;
    this.pubs[pub]!.write(out);
    return n;
  }
}

async function loadMain(job: LoadJob): Promise<void> {
  const r = await new Pairs(job).run();
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- broker-side processes

interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
}

function pinned(name: string, cmd: string, args: string[]): Proc {
  mkdirSync(LOGS, { recursive: true });
  const log = createWriteStream(join(LOGS, `cluster-${name}.log`));
  const child = spawn('taskset', ['-c', BROKER_CPU, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // taskset execs the command: the child's pid is the broker's.
  return { name, pid: child.pid!, child, exited };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.exited;
  clearTimeout(t);
}

/** nats-server with JetStream and the limits docs/cluster.md recommends. */
async function startNats(dir: string): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    [
      `listen: 127.0.0.1:${port}`,
      'max_payload: 8MB',
      'max_control_line: 32KB',
      'max_pending: 256MB',
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      '',
    ].join('\n'),
  );
  const proc = pinned('nats', NATS_SERVER, ['-c', conf]);
  for (let i = 0; !(await canConnect(port)); i++) {
    if (i > 100) throw new Error('nats-server did not listen within 10 s');
    await sleep(100);
  }
  return { proc, url: `nats://127.0.0.1:${port}` };
}

interface Node extends Proc {
  port: number;
  httpPort: number;
}

/**
 * `hermod start --config FILE`: the same settings as the scenarios' broker (bench/servers/hermod.ts) plus
 * the dashboard listener, which serves the counters read at the end; `natsUrl` makes it a cluster node.
 */
async function startNode(name: string, dir: string, natsUrl: string | undefined): Promise<Node> {
  const port = await freePort();
  const httpPort = await freePort();
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    [
      `node { name = "hermod-${name}@127.0.0.1", data_dir = "${join(dir, name)}" }`,
      natsUrl === undefined ? '' : `cluster { name = bench, nats { servers = ["${natsUrl}"] } }`,
      `listeners.tcp.default.bind = "127.0.0.1:${port}"`,
      'listeners.ws.default.enable = false',
      `dashboard.listeners.http.bind = "127.0.0.1:${httpPort}"`,
      'sys_topics { sys_msg_interval = disabled, sys_heartbeat_interval = disabled }',
      `mqtt { max_inflight = ${LIMITS.maxInflight}, max_mqueue_len = ${LIMITS.maxQueued} }`,
      // As the scenarios' broker (an in-memory store): clean sessions write nothing to the store anyway.
      'durability.mode = off',
      'log.console.level = warning',
      '',
    ].join('\n'),
  );
  // BENCH_CLUSTER_PROFILE=a,b: V8 CPU profiles of those nodes over the whole run, written when they stop.
  const profiled = (process.env.BENCH_CLUSTER_PROFILE ?? '').split(',').includes(name);
  const prof = profiled
    ? ['--cpu-prof', `--cpu-prof-dir=${LOGS}`, `--cpu-prof-name=cluster-${name}.cpuprofile`]
    : [];
  const hermod = [join(ROOT, 'bin', 'hermod.js'), 'start', '--config', conf];
  const proc = pinned(name, process.execPath, [...prof, ...hermod]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`node ${name} did not start within 60 s`)), 60_000);
    proc.child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('is running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void proc.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`node ${name} exited at start; see ${join(LOGS, `cluster-${name}.log`)}`));
    });
  });
  return { ...proc, port, httpPort };
}

/** A counter of a node, from its Prometheus endpoint (EMQX's name: emqx_<metric with _>). */
async function counter(node: Node, metric: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/api/v5/prometheus/stats`);
  const text = await res.text();
  const name = `emqx_${metric.replace(/[^a-zA-Z0-9_]/g, '_')}`;
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

// ---------------------------------------------------------------- orchestration (main)

/** One measured phase, in the shape of the other scenarios' results plus the per-process CPU. */
type ClusterRun = RunResult & {
  setup: Setup;
  load: Load;
  qos: 0 | 1;
  /** CPU µs per delivered message: all broker-side processes of the set-up, and each of them. */
  cpuPerMessage: number;
  cpuPerMessageByProcess: Record<string, number>;
  loadAverage: number;
  /** Start of the invocation that measured it: a day's JSON file keeps every run. */
  runId: string;
};

interface Options {
  warmup: number;
  seconds: number;
  pairs: number;
  rate: number;
  rounds: number;
  loads: Load[];
  qos: Array<0 | 1>;
}

async function runPhase(
  setup: Setup,
  load: Load,
  qos: 0 | 1,
  nodes: Record<string, Node>,
  nats: Proc,
  o: Options & { round: number; runId: string },
): Promise<ClusterRun> {
  const single = setup === 'single';
  const pids: Record<string, number> = single
    ? { node: nodes.single!.pid }
    : { A: nodes.a!.pid, B: nodes.b!.pid, C: nodes.c!.pid, 'nats-server': nats.pid };
  const job: LoadJob = {
    prefix: `r${o.round}-${setup}-${load}-q${qos}`,
    pubPort: single ? nodes.single!.port : nodes.a!.port,
    subPort: single ? nodes.single!.port : nodes.b!.port,
    qos,
    pairs: o.pairs,
    warmup: o.warmup,
    seconds: o.seconds,
    rate: load === 'paced' ? o.rate : undefined,
    pids,
  };
  const loadAverage = loadavg()[0]!;
  const child = spawn('taskset', ['-c', LOADGEN_CPU, process.execPath, self, 'load', JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let last = '';
  await childLines(child, (l) => {
    if (l.trim() !== '') last = l;
  });
  const base: RunResult = {
    broker: single ? 'hermod (1 node)' : 'hermod (3 nodes)',
    variant: `cluster.${load}.qos${qos}`,
    scenario: 'cluster',
    status: 'ok',
    problems: [],
    notes: [],
    seconds: 0,
    at: new Date().toISOString(),
  };
  let r: LoadResult;
  try {
    r = JSON.parse(last) as LoadResult;
  } catch {
    base.status = 'error';
    base.problems.push(`the load generator gave no result (${last.slice(0, 200)})`);
    const runId = o.runId;
    return { ...base, setup, load, qos, cpuPerMessage: 0, cpuPerMessageByProcess: {}, loadAverage, runId };
  }
  const problems = [...r.problems];
  const notes: string[] = [];
  if (r.lost > 0) {
    const share = `${r.lost} of ${r.sent} messages lost`;
    if (qos === 0) notes.push(`QoS 0: ${share}`);
    else problems.push(share);
  }
  if (r.outOfOrder > 0) problems.push(`${r.outOfOrder} deliveries out of order or repeated without DUP`);
  if (r.unexpected > 0) problems.push(`${r.unexpected} deliveries to the wrong subscriber`);
  if (r.duplicates > 0) notes.push(`${r.duplicates} QoS 1 redeliveries (DUP)`);
  if (r.pacerSkipped > 0) {
    notes.push(`the pacer fell behind by ${((100 * r.pacerSkipped) / (o.rate * r.seconds)).toFixed(1)} %`);
  }
  const perMsg = (cpuS: number) => (r.delivered > 0 ? (cpuS * 1e6) / r.delivered : 0);
  const byProcess: Record<string, number> = {};
  let total = 0;
  for (const [name, s] of Object.entries(r.cpu)) {
    byProcess[name] = perMsg(s);
    total += s;
  }
  return {
    ...base,
    status: problems.length > 0 ? 'failed' : 'ok',
    problems,
    notes,
    seconds: r.seconds,
    inRate: r.published / r.seconds,
    outRate: r.delivered / r.seconds,
    latency: r.latency,
    brokerCpu: (100 * total) / r.seconds,
    loadgenCpu: r.loaderCpu,
    brokerCoreOther: r.brokerCoreOther,
    loaderCoreOther: r.loaderCoreOther,
    targetRate: job.rate,
    counts: {
      sent: r.sent,
      lost: r.lost,
      outOfOrder: r.outOfOrder,
      duplicates: r.duplicates,
      unexpected: r.unexpected,
    },
    setup,
    load,
    qos,
    cpuPerMessage: perMsg(total),
    cpuPerMessageByProcess: byProcess,
    loadAverage,
    runId: o.runId,
  };
}

/** Median; of an even count the mean of the middle two (two rounds give their mean). */
function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
const f0 = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en');
const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2));

function phaseLine(r: ClusterRun): string {
  const by = Object.entries(r.cpuPerMessageByProcess)
    .map(([k, v]) => `${k} ${f1(v)}`)
    .join(' + ');
  const check = r.counts === undefined ? '' : `sent ${r.counts.sent}, lost ${r.counts.lost}`;
  return (
    `${r.load.padEnd(6)} QoS ${r.qos} ${r.setup.padEnd(7)} ${r.status.padEnd(6)} ` +
    `${f0(r.outRate).padStart(7)} deliveries/s  p50 ${f2(r.latency?.p50)} ms  p99 ${f2(r.latency?.p99)} ms  ` +
    `${f1(r.cpuPerMessage)} µs CPU/msg (${by})  loader ${f0(r.loadgenCpu)} %  ` +
    `other on CPU ${BROKER_CPU}/${LOADGEN_CPU} ${f0(r.brokerCoreOther)}/${f0(r.loaderCoreOther)} %  ${check}` +
    (r.problems.length + r.notes.length > 0 ? `  — ${[...r.problems, ...r.notes].join('; ')}` : '')
  );
}

function tables(runs: ClusterRun[], o: Options): string[] {
  const out: string[] = [];
  const pick = (load: Load, qos: 0 | 1, setup: Setup) =>
    runs.filter((r) => r.load === load && r.qos === qos && r.setup === setup && r.status !== 'error');
  const med = (rs: ClusterRun[], f: (r: ClusterRun) => number | undefined) =>
    median(rs.map(f).filter((x): x is number => x !== undefined));
  out.push(
    '',
    `Medians of ${o.rounds} round${o.rounds > 1 ? 's' : ''}. CPU = broker-side CPU per delivered message (1 node: the node; ` +
      '3 nodes: A + B + C + nats-server); "bus adds" = 3 nodes − 1 node.',
    '',
    '| load | QoS | deliveries/s 1 node | 3 nodes | p50 ms 1 node / 3 nodes | p99 ms 1 node / 3 nodes | CPU µs/msg 1 node | 3 nodes | bus adds | of which nats-server | A / B / C | other % on CPU 0, 1 node / 3 nodes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const load of o.loads) {
    for (const qos of o.qos) {
      const s = pick(load, qos, 'single');
      const c = pick(load, qos, 'cluster');
      const sc = med(s, (r) => r.cpuPerMessage);
      const cc = med(c, (r) => r.cpuPerMessage);
      const by = (k: string) => med(c, (r) => r.cpuPerMessageByProcess[k]);
      const failed = [...s, ...c].some((r) => r.status !== 'ok') ? ' (check failed)' : '';
      out.push(
        `| ${load === 'closed' ? 'closed loop' : `paced ${f0(o.rate)}/s`}${failed} | ${qos} | ` +
          `${f0(med(s, (r) => r.outRate))} | ${f0(med(c, (r) => r.outRate))} | ` +
          `${f2(med(s, (r) => r.latency?.p50))} / ${f2(med(c, (r) => r.latency?.p50))} | ` +
          `${f2(med(s, (r) => r.latency?.p99))} / ${f2(med(c, (r) => r.latency?.p99))} | ` +
          `${f1(sc)} | ${f1(cc)} | **${f1(cc - sc)}** | ${f1(by('nats-server'))} | ` +
          `${f1(by('A'))} / ${f1(by('B'))} / ${f1(by('C'))} | ` +
          `${f0(med(s, (r) => r.brokerCoreOther))} / ${f0(med(c, (r) => r.brokerCoreOther))} |`,
      );
    }
  }
  return out;
}

/** nats-server, then the baseline node and the cluster nodes A, B, C, all pinned to CPU 0. */
async function startAll(dir: string, procs: Proc[]): Promise<{ nats: Proc; nodes: Record<string, Node> }> {
  const nats = await startNats(dir);
  procs.push(nats.proc);
  const nodes: Record<string, Node> = {};
  // One at a time: the first cluster node creates the buckets the others open.
  for (const [name, url] of [
    ['single', undefined],
    ['a', nats.url],
    ['b', nats.url],
    ['c', nats.url],
  ] as const) {
    nodes[name] = await startNode(name, dir, url);
    procs.push(nodes[name]);
  }
  // Let the cluster settle (membership, buckets) before anything is measured.
  await sleep(1000);
  return { nats: nats.proc, nodes };
}

/** Adds this run's phases to the day's JSON file (the shape of bench/results/<date>.json). */
function writeJson(path: string, o: Options, runs: ClusterRun[], seconds: number, runId: string): void {
  const command = `node dist/bench/cluster.js ${process.argv.slice(2).join(' ')}`;
  type File = Omit<Report, 'results'> & { results: ClusterRun[] };
  const old = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as File) : undefined;
  const report: File = {
    generated: runId,
    machine: machineInfo(),
    command,
    config: harnessConfig(
      o.warmup,
      o.seconds,
      `nats-server and every Hermod node pinned to CPU ${BROKER_CPU}, load generator to CPU ${LOADGEN_CPU} (taskset)`,
    ),
    brokers: [
      {
        name: 'hermod',
        label: 'Hermod',
        version: BROKERS.find((b) => b.name === 'hermod')!.version(),
        settings: [
          '`hermod start --config FILE` per node; tcp listener on a free port, ws off, dashboard on a free port',
          "sys_topics.sys_msg_interval = sys_heartbeat_interval = 'disabled', durability.mode = off",
          `mqtt.max_inflight = ${LIMITS.maxInflight}, mqtt.max_mqueue_len = ${LIMITS.maxQueued}`,
          '3 nodes: cluster { name = bench, nats.servers = [one private nats-server] }, heartbeat defaults',
          `${o.pairs} pairs, ${PAYLOAD_BYTES}-byte payloads, paced load ${o.rate} msgs/s`,
        ],
      },
    ],
    results: [...(old?.results ?? []), ...runs],
    durations: [...(old?.durations ?? []), { command, seconds, at: new Date().toISOString() }],
  };
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path}`);
}

async function main(): Promise<void> {
  const o: Options = {
    seconds: Number(arg('seconds', '5')),
    warmup: Number(arg('warmup', '2')),
    pairs: Number(arg('pairs', '100')),
    rate: Number(arg('rate', '5000')),
    rounds: Number(arg('rounds', '1')),
    loads: arg('loads', 'closed,paced').split(',') as Load[],
    qos: arg('qos', '0,1').split(',').map(Number) as Array<0 | 1>,
  };
  const json = arg('json', '');
  const runId = new Date().toISOString();
  const started = performance.now();
  // This script only waits while a phase runs: it stays off the brokers' core.
  spawnSync('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'hermod-bench-cluster-'));
  const procs: Proc[] = [];
  const runs: ClusterRun[] = [];
  try {
    const { nats, nodes } = await startAll(dir, procs);
    console.log(
      `${o.pairs} publishers → ${o.pairs} subscribers (topic per pair), ${PAYLOAD_BYTES}-byte payloads, window ${CLIENT_WINDOW}; ` +
        `${o.seconds} s measured after ${o.warmup} s warm-up per phase; paced load ${o.rate} msgs/s.\n` +
        '1 node: publishers and subscribers on it. 3 nodes: publishers on A, subscribers on B, C idle. ' +
        `nats-server and all Hermod nodes on CPU ${BROKER_CPU}, load generator on CPU ${LOADGEN_CPU}. ` +
        `Load average at the start: ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}.\n`,
    );
    const forward0 = await counter(nodes.a!, 'messages.forward');
    let sentOnA = 0;
    let clusterPhases = 0;
    for (let round = 1; round <= o.rounds; round++) {
      for (const load of o.loads) {
        for (const qos of o.qos) {
          for (const setup of ['single', 'cluster'] as const) {
            const r = await runPhase(setup, load, qos, nodes, nats, { ...o, round, runId });
            runs.push(r);
            if (setup === 'cluster') {
              sentOnA += r.counts?.sent ?? 0;
              clusterPhases++;
            }
            console.log(phaseLine(r));
            const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
            if (dead !== undefined) throw new Error(`${dead.name} exited during the run; see ${LOGS}`);
          }
        }
      }
    }
    const out = tables(runs, o);
    const forward1 = await counter(nodes.a!, 'messages.forward');
    if (forward0 !== undefined && forward1 !== undefined) {
      const forwarded = forward1 - forward0;
      // A cluster node cannot know that no other node subscribes to $SYS client events: it forwards them.
      const events = 2 * o.pairs * clusterPhases;
      out.push(
        '',
        `Bus publishes on node A (counter messages.forward): ${forwarded} for ${sentOnA} MQTT messages published ` +
          `on A, ${f2(forwarded / Math.max(1, sentOnA))} per message; ${forwarded - sentOnA} more than the ` +
          `messages (the $SYS connected/disconnected events of the publishers' ${events / 2} connections to A ` +
          `would be ${events}).`,
      );
    }
    const failed = runs.filter((r) => r.status !== 'ok');
    out.push(
      failed.length === 0
        ? 'Checks: every message of every phase delivered once and in order per publisher (sequence numbers), no loss, no duplicate.'
        : `Checks FAILED in ${failed.length} phase(s): ${failed.map((r) => `${r.variant} ${r.setup}: ${r.problems.join('; ')}`).join(' | ')}`,
    );
    const seconds = (performance.now() - started) / 1000;
    out.push(`Run took ${seconds.toFixed(0)} s; load average at the end: ${loadavg()[0]!.toFixed(2)}.`);
    console.log(out.join('\n'));
    if (json !== '') writeJson(json, o, runs, seconds, runId);
  } finally {
    // Nodes first (they leave the cluster through nats-server), then nats-server.
    await Promise.all(procs.filter((p) => p.name !== 'nats').map(stopProc));
    for (const p of procs.filter((x) => x.name === 'nats')) await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'load') {
  void loadMain(JSON.parse(process.argv[3] ?? '') as LoadJob);
} else {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
