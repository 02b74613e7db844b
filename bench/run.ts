/**
 * `npm run bench`: drives every selected scenario variant against every selected broker, one broker
 * process at a time (pinned to CPU 0), with the load generator as its own process (pinned to CPU 1), and
 * writes bench/results/<date>.{json,md}.
 *
 *   npm run bench                                         everything (about 8 minutes on a quiet machine)
 *   npm run bench -- --scenario S1,S2.qos1 --broker hermod,aedes
 *   npm run bench -- --seconds 3 --warmup 1               quick look
 *   npm run bench -- --scenario S1.qos1 --repeat 5        median of 5 runs (before/after comparisons)
 *   npm run bench -- --profile auto                       CPU profile of Hermod in its worst scenario
 *
 * Environment: BENCH_SCENARIO, BENCH_BROKER, BENCH_SECONDS, BENCH_WARMUP, BENCH_REPEAT, BENCH_WINDOW (client window),
 * BENCH_QUIET_WAIT (s to wait for other processes to go quiet before each run), BENCH_RETRIES (runs
 * repeated when other processes ran on the broker's or loader's core, default 1).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BROKER_CPU, BROKERS, type BrokerDef, LOADGEN_CPU, ROOT, selectBrokers } from './brokers.js';
import { writeCharts } from './chart.js';
import { freePort } from './children.js';
import { runCurves } from './curves.js';
import { systemCpu } from './proc.js';
import { renderProfile } from './profile.js';
import {
  harnessConfig,
  machineInfo,
  mergeReport,
  metricOf,
  primaryOf,
  type Report,
  ratio,
  writeReport,
} from './report.js';
import { ALL_VARIANTS, selectVariants, type Variant } from './scenarios.js';
import type { Job, RunResult } from './types.js';

const RESULTS = join(ROOT, 'bench', 'results');
const LOGS = join(ROOT, '.tmp', 'bench-logs');
const LOADGEN = join(ROOT, 'dist', 'bench', 'loadgen', 'main.js');

interface Options {
  variants: Variant[];
  brokers: BrokerDef[];
  warmup: number;
  seconds: number;
  profile: string | undefined;
  save: boolean;
  quietWait: number;
  retries: number;
  repeat: number;
  /** --curves: the cost curves (bench/curves.ts) instead of the scenarios. */
  curves: { curves: string[]; full: boolean; budget: number } | undefined;
  /** Hermod-only scenarios to run (bench/<name>.ts): all of them without --scenario, else those named. */
  solo: SoloScenario[];
}

function list(s: string | undefined): string[] {
  return (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', short: 's', multiple: true },
      broker: { type: 'string', short: 'b', multiple: true },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      profile: { type: 'string' },
      repeat: { type: 'string' },
      'no-save': { type: 'boolean' },
      curves: { type: 'boolean' },
      curve: { type: 'string', multiple: true },
      full: { type: 'boolean' },
      budget: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      [
        'usage: npm run bench -- [--scenario S1,S2.qos1,...,coap,dtls,exhook,exproto,workers,cluster] [--broker hermod,aedes,mosquitto]',
        '                        [--seconds N] [--warmup N] [--repeat N] [--profile auto|<variant>] [--no-save]',
        '       npm run bench -- --curves [--curve subscriptions,retained,connections[-pbkdf2|-bcrypt|-jwt],topics] [--full] [--budget S]',
        `variants: ${ALL_VARIANTS.map((v) => v.id).join(', ')}`,
      ].join('\n'),
    );
    process.exit(0);
  }
  const asked = values.scenario?.flatMap(list) ?? list(process.env.BENCH_SCENARIO);
  // CoAP, DTLS, ExHook and ExProto have no Aedes or Mosquitto peer: they run on Hermod alone.
  const solo = (x: string) => SOLO_SCENARIOS.includes(x.toLowerCase() as SoloScenario);
  const scen = asked.filter((x) => !solo(x));
  const soloAsked = asked.map((x) => x.toLowerCase()).filter(solo) as SoloScenario[];
  const soloOnly = asked.length > 0 && scen.length === 0;
  const brok = values.broker?.flatMap(list) ?? list(process.env.BENCH_BROKER);
  const curves =
    values.curves === true || values.curve !== undefined
      ? {
          curves: values.curve?.flatMap(list) ?? [],
          full: values.full === true,
          budget: Number(values.budget ?? 180),
        }
      : undefined;
  return {
    curves,
    variants: soloOnly ? [] : selectVariants(scen),
    solo: asked.length === 0 ? [...SOLO_SCENARIOS] : soloAsked,
    brokers: selectBrokers(brok),
    seconds: Number(values.seconds ?? process.env.BENCH_SECONDS ?? 10),
    warmup: Number(values.warmup ?? process.env.BENCH_WARMUP ?? 3),
    profile: values.profile,
    save: values['no-save'] !== true,
    quietWait: Number(process.env.BENCH_QUIET_WAIT ?? 60),
    retries: Number(process.env.BENCH_RETRIES ?? 1),
    repeat: Number(values.repeat ?? process.env.BENCH_REPEAT ?? 1),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until other processes leave the machine alone (≤ 10 % of one core busy over a second), at most
 * `maxSeconds`. Returns the busy share seen last, in % of one core.
 */
async function waitQuiet(maxSeconds: number): Promise<number> {
  const until = Date.now() + maxSeconds * 1000;
  let busy = 0;
  let told = false;
  for (;;) {
    const a = systemCpu();
    await sleep(1000);
    const b = systemCpu();
    busy = (100 * (b.busy - a.busy)) / ((b.total - a.total) / cpus().length);
    if (busy <= 10 || Date.now() > until) return busy;
    if (!told) {
      console.log(`  waiting for the machine to go quiet (${busy.toFixed(0)} % of a core busy elsewhere)`);
      told = true;
    }
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Runs one variant against one broker: fresh broker process, one load generator process. */
async function runOne(
  b: BrokerDef,
  v: Variant,
  o: Options,
  extra: { rate?: number; seconds?: number; cpuProf?: { dir: string; name: string } } = {},
): Promise<RunResult> {
  const busy = await waitQuiet(o.quietWait);
  const port = await freePort();
  const logFile = join(LOGS, `${b.name}-${v.id}.log`);
  const broker = await b.start({ port, logFile, cpuProf: extra.cpuProf });
  let brokerExit: number | null | undefined;
  void broker.exited.then((code) => {
    brokerExit = code;
  });
  await sleep(300);
  const job: Job = {
    broker: b.name,
    variant: v,
    host: '127.0.0.1',
    port,
    brokerPid: broker.pid,
    warmupSeconds: o.warmup,
    measureSeconds: extra.seconds ?? o.seconds,
    rate: extra.rate,
    cores: { broker: Number(BROKER_CPU), loader: Number(LOADGEN_CPU) },
  };
  const timeoutMs = (job.warmupSeconds + job.measureSeconds + 300) * 1000;
  const result = await new Promise<RunResult>((resolve) => {
    const child = spawn('taskset', ['-c', LOADGEN_CPU, process.execPath, LOADGEN, JSON.stringify(job)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let got: RunResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (m) => {
      got = m as RunResult;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        got ?? {
          broker: b.name,
          variant: v.id,
          scenario: v.scenario,
          status: 'error',
          problems: [`load generator exited (${signal ?? code}) without a result`],
          notes: [],
          seconds: 0,
        },
      );
    });
  });
  if (brokerExit !== undefined) {
    result.status = 'error';
    result.problems.push(`broker exited during the run (code ${brokerExit}); see ${logFile}`);
  }
  await broker.stop();
  if (busy > 10) result.notes.push(`other processes used ${busy.toFixed(0)} % of a core just before the run`);
  return result;
}

/** Share of the window (%) other processes ran on the broker's or the loader's core. */
function waited(r: RunResult): number {
  return Math.max(r.brokerCoreOther ?? 0, r.loaderCoreOther ?? 0);
}

/**
 * runOne, repeated (up to BENCH_RETRIES times) while other processes disturbed the measurement (took > 5 %
 * of the broker's or the loader's core); the least disturbed attempt is kept.
 */
async function undisturbed(
  b: BrokerDef,
  v: Variant,
  o: Options,
  extra: Parameters<typeof runOne>[3] = {},
): Promise<RunResult> {
  let best = await runOne(b, v, o, extra);
  let last = best;
  let attempts = 1;
  for (let i = 0; i < o.retries && waited(best) > 5; i++) {
    console.log(
      `  disturbed (other processes took ${(last.brokerCoreOther ?? 0).toFixed(0)} % of the broker's core, ${(last.loaderCoreOther ?? 0).toFixed(0)} % of the loader's): running it again`,
    );
    last = await runOne(b, v, o, extra);
    attempts++;
    if (waited(last) < waited(best)) best = last;
  }
  if (attempts > 1) best.notes.push(`the least disturbed of ${attempts} attempts`);
  return best;
}

/** The value a run is judged by (see Scenario.primary). */
function primaryValue(r: RunResult, v: Variant): number | undefined {
  return metricOf(r, primaryOf(v).metric);
}

/**
 * A measurement of one variant on one broker: `--repeat N` runs it N times and keeps the median run by the
 * scenario's main metric (a closed-loop benchmark can settle into more or less batched patterns from one
 * run to the next; the median of 3 or 5 is what a before/after comparison should use).
 */
async function measure(
  b: BrokerDef,
  v: Variant,
  o: Options,
  extra: Parameters<typeof runOne>[3] = {},
): Promise<RunResult> {
  if (o.repeat <= 1) return undisturbed(b, v, o, extra);
  const runs: RunResult[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const r = await undisturbed(b, v, o, extra);
    console.log(`  run ${i + 1}/${o.repeat}: ${line(r)}`);
    runs.push(r);
  }
  const ok = runs.filter((r) => r.status === 'ok' && primaryValue(r, v) !== undefined);
  if (ok.length < runs.length) return runs.find((r) => r.status !== 'ok')!;
  ok.sort((x, y) => primaryValue(x, v)! - primaryValue(y, v)!);
  const median = ok[Math.floor(ok.length / 2)];
  const f = (n: number) => (n >= 100 ? Math.round(n).toString() : n.toFixed(2));
  median.notes.push(`median of ${o.repeat} runs: ${ok.map((r) => f(primaryValue(r, v)!)).join(', ')}`);
  return median;
}

function line(r: RunResult): string {
  const f = (n: number | undefined, d = 0) => (n === undefined ? '–' : n.toFixed(d));
  const parts = [`${r.broker.padEnd(9)} ${r.variant.padEnd(12)} ${r.status.padEnd(6)}`];
  if (r.connRate !== undefined) {
    parts.push(
      `${f(r.connRate)} conn/s, ${f((r.rssPerConn ?? 0) / 1024, 1)} KB/conn (${f((r.rssPerConnIdle ?? 0) / 1024, 1)} at 15 s)`,
    );
  } else if (r.deliverySeconds !== undefined || r.storeRate !== undefined) {
    parts.push(`stored ${f(r.storeRate)}/s, all delivered in ${f(r.deliverySeconds, 2)} s`);
  } else {
    parts.push(
      `in ${f(r.inRate)}/s out ${f(r.outRate)}/s p50 ${f(r.latency?.p50, 2)} ms p99 ${f(r.latency?.p99, 2)} ms`,
    );
  }
  parts.push(`cpu ${f(r.brokerCpu)}% rss ${f((r.rssMax ?? 0) / 2 ** 20)} MB loader ${f(r.loadgenCpu)}%`);
  if (r.problems.length > 0) parts.push(`— ${r.problems.join('; ')}`);
  return parts.join(' | ');
}

function unsupported(b: BrokerDef, v: Variant, why: string): RunResult {
  return {
    broker: b.name,
    variant: v.id,
    scenario: v.scenario,
    status: 'unsupported',
    problems: [],
    notes: [why],
    seconds: 0,
  };
}

/** Max rate of `rateOf` for a broker: from this invocation, from today's results, or a short calibration. */
async function maxRate(
  b: BrokerDef,
  rateOf: string,
  fresh: RunResult[],
  o: Options,
): Promise<{ rate: number; from: string } | undefined> {
  const ok = (r: RunResult | undefined) => (r?.status === 'ok' && r.inRate !== undefined ? r : undefined);
  const here = ok(fresh.find((r) => r.broker === b.name && r.variant === rateOf));
  if (here !== undefined) return { rate: here.inRate!, from: `${rateOf} of this run` };
  const path = join(RESULTS, `${today()}.json`);
  if (existsSync(path)) {
    const rep = JSON.parse(readFileSync(path, 'utf8')) as Report;
    const earlier = ok(rep.results.find((r) => r.broker === b.name && r.variant === rateOf));
    if (earlier !== undefined) return { rate: earlier.inRate!, from: `${rateOf} measured ${earlier.at}` };
  }
  const v = ALL_VARIANTS.find((x) => x.id === rateOf)!;
  console.log(`  calibrating: ${b.name} ${rateOf} for 5 s`);
  const cal = ok(await runOne(b, v, o, { seconds: 5 }));
  return cal === undefined ? undefined : { rate: cal.inRate!, from: `${rateOf} calibration (5 s)` };
}

function openFileLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

async function runAll(o: Options): Promise<void> {
  const started = performance.now();
  const fresh: RunResult[] = [];
  const limit = openFileLimit();
  for (const v of o.variants) {
    for (const b of o.brokers) {
      console.log(`${v.id} ${v.title} — ${b.label}`);
      let r: RunResult;
      const spec = v.spec;
      if (spec.kind === 'traffic' && spec.shared && b.lacks.has('shared')) {
        r = unsupported(b, v, `${b.label} has no shared subscriptions ($share/…)`);
      } else if (spec.kind === 'connections' && limit < spec.connections + 200) {
        r = unsupported(b, v, `open-file limit ${limit} is below ${spec.connections + 200}`);
      } else if (spec.kind === 'traffic' && spec.paced !== undefined) {
        const paced = spec.paced;
        const max = 'fixed' in paced ? undefined : await maxRate(b, paced.rateOf, fresh, o);
        if ('fixed' in paced) {
          r = await measure(b, v, o, { rate: paced.fixed });
        } else if (max === undefined) {
          r = unsupported(b, v, `no successful ${paced.rateOf} run to take the maximum rate from`);
        } else {
          r = await measure(b, v, o, { rate: max.rate * paced.fraction });
          r.notes.push(`target = ${paced.fraction * 100} % of ${Math.round(max.rate)} msgs/s (${max.from})`);
        }
      } else {
        r = await measure(b, v, o);
      }
      fresh.push(r);
      console.log(`  ${line(r)}`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(`\nall runs took ${(seconds / 60).toFixed(1)} min`);
  if (!o.save) return;
  mkdirSync(RESULTS, { recursive: true });
  const day = today();
  const jsonPath = join(RESULTS, `${day}.json`);
  const mdPath = join(RESULTS, `${day}.md`);
  const base: Report = {
    generated: new Date().toISOString(),
    machine: machineInfo(),
    command,
    config: harnessConfig(
      o.warmup,
      o.seconds,
      `Broker pinned to CPU ${BROKER_CPU}, load generator to CPU ${LOADGEN_CPU} (taskset)`,
    ),
    brokers: BROKERS.filter((b) => o.brokers.includes(b)).map((b) => ({
      name: b.name,
      label: b.label,
      version: b.version(),
      settings: b.settings,
    })),
    results: [],
    durations: [{ command, seconds, at: new Date().toISOString() }],
  };
  const rep = mergeReport(jsonPath, base, fresh);
  writeReport(jsonPath, mdPath, rep);
  const charts = writeCharts(RESULTS, day, rep);
  console.log(
    `wrote ${jsonPath}\nwrote ${mdPath}${charts.length > 0 ? `\nwrote ${charts.length} charts` : ''}`,
  );
  for (const v of ALL_VARIANTS) {
    if (!fresh.some((r) => r.variant === v.id && r.broker === 'hermod')) continue;
    const a = ratio(rep.results, v, 'aedes');
    const m = ratio(rep.results, v, 'mosquitto');
    const fx = (n: number | undefined) => (n === undefined ? '   –  ' : `${n.toFixed(2)}×`.padStart(6));
    console.log(`  ${v.id.padEnd(12)} Hermod vs Aedes ${fx(a)}  vs Mosquitto ${fx(m)}`);
  }
}

/** The variant where Hermod compares worst with any peer, from the latest results file. */
function worstVariant(): string {
  const files = existsSync(RESULTS)
    ? readdirSync(RESULTS)
        .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f))
        .sort()
    : [];
  if (files.length === 0) return 'S1.qos1';
  const rep = JSON.parse(readFileSync(join(RESULTS, files[files.length - 1]), 'utf8')) as Report;
  let worst: { id: string; r: number } | undefined;
  for (const v of ALL_VARIANTS) {
    for (const peer of ['aedes', 'mosquitto']) {
      const r = ratio(rep.results, v, peer);
      if (r !== undefined && (worst === undefined || r < worst.r)) worst = { id: v.id, r };
    }
  }
  if (worst !== undefined)
    console.log(`worst ratio in ${files[files.length - 1]}: ${worst.id} (${worst.r.toFixed(2)}×)`);
  return worst?.id ?? 'S1.qos1';
}

async function runProfile(o: Options): Promise<void> {
  const id = o.profile === 'auto' || o.profile === '' ? worstVariant() : o.profile!;
  const v = selectVariants([id])[0];
  const hermod = BROKERS.find((b) => b.name === 'hermod')!;
  mkdirSync(RESULTS, { recursive: true });
  const name = `hermod-${v.id}-${today()}.cpuprofile`;
  console.log(`profiling Hermod in ${v.id} (${v.title})`);
  let rate: number | undefined;
  const paced = v.spec.kind === 'traffic' ? v.spec.paced : undefined;
  if (paced !== undefined && 'fixed' in paced) rate = paced.fixed;
  else if (paced !== undefined) {
    const max = await maxRate(hermod, paced.rateOf, [], o);
    rate = max === undefined ? undefined : max.rate * paced.fraction;
  }
  const r = await runOne(hermod, v, o, { rate, cpuProf: { dir: RESULTS, name } });
  console.log(`  ${line(r)}`);
  const path = join(RESULTS, name);
  if (!existsSync(path)) throw new Error(`no profile written at ${path}`);
  const md = [
    `# Hermod CPU profile — ${v.id}, ${today()}`,
    '',
    `\`npm run bench -- --profile ${o.profile}\`: ${v.title}, ${o.seconds} s measured after ${o.warmup} s warm-up, ` +
      'broker run with `node --cpu-prof` (sampling adds a few % of overhead, so this run is not a result).',
    '',
    `Run: ${line(r)}`,
    '',
    renderProfile(path, ROOT, 30, r.windowUs),
    '',
  ].join('\n');
  const mdPath = join(RESULTS, `${today()}-profile-${v.id}.md`);
  writeFileSync(mdPath, md);
  console.log(`\n${md}\nwrote ${path}\nwrote ${mdPath}`);
}

async function main(): Promise<void> {
  const o = options();
  mkdirSync(LOGS, { recursive: true });
  // Keep the orchestrator itself off the broker's core.
  spawnSync('taskset', ['-a', '-p', '-c', LOADGEN_CPU, String(process.pid)], { stdio: 'ignore' });
  const needed = o.profile !== undefined ? BROKERS.filter((b) => b.name === 'hermod') : o.brokers;
  for (const b of needed) b.ensureInstalled();
  if (o.profile !== undefined) await runProfile(o);
  else if (o.curves !== undefined) await runCurves({ ...o.curves, brokers: o.brokers, save: o.save });
  else {
    if (o.variants.length > 0) await runAll(o);
    for (const name of o.solo) runSolo(o, name);
  }
}

/** Scenarios with no Aedes or Mosquitto counterpart, each a script of its own (bench/<name>.ts). */
const SOLO_SCENARIOS = ['coap', 'dtls', 'exhook', 'exproto', 'workers', 'cluster'] as const;
type SoloScenario = (typeof SOLO_SCENARIOS)[number];

const SOLO_TITLES: Record<SoloScenario, string> = {
  coap: 'CoAP gateway',
  dtls: 'DTLS (CoAP gateway): handshakes/s and CoAP publishes/s over DTLS next to UDP',
  exhook: 'ExHook (one message.publish server): grpc-js client against the HTTP/2 client',
  exproto: 'ExProto gateway echo',
  workers: 'Connections held by hermod start --workers 2 against one process (same fd limit per process)',
  cluster: 'Cluster bus: 3 nodes on one nats-server (publishers on A, subscribers on B) against one node',
};

/**
 * A Hermod-only scenario: CoAP (NON publishes from many peers, MQTT fan-out to observers, each next to the
 * same traffic over MQTT), DTLS (handshakes/s, CoAP publishes over DTLS next to UDP), ExHook (publish throughput with a no-op message.publish server, through either
 * gRPC client), ExProto (TCP lines echoed by a no-op handler), cluster (cross-node deliveries and the CPU the
 * bus adds per message). Each pins its own processes.
 */
function runSolo(o: Options, name: SoloScenario): void {
  const script = join(ROOT, 'dist', 'bench', `${name}.js`);
  // DTLS phases are short by design: a handshake-rate and two publish-rate figures.
  const seconds = name === 'dtls' ? Math.min(o.seconds, 3) : o.seconds;
  const args = [script, '--seconds', String(seconds)];
  // The cluster phases warm up like the scenarios, and its per-phase figures also go to a JSON file.
  if (name === 'cluster') {
    args.push('--warmup', String(o.warmup));
    if (o.save) args.push('--json', join(RESULTS, `${today()}-cluster.json`));
  }
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  // Broker info lines (JSON log records) are not part of the figures.
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => !l.startsWith('{"level"'))
    .join('\n');
  console.log(`\n# ${SOLO_TITLES[name]}\n${out}`);
  if (r.status !== 0) throw new Error(`${name} scenario failed (exit ${r.status})`);
  if (!o.save) return;
  const mdPath = join(RESULTS, `${today()}-${name}.md`);
  const md = [
    `# ${SOLO_TITLES[name]} — ${today()}`,
    '',
    `\`npm run bench -- --scenario ${name} --seconds ${o.seconds}\` (Hermod only: Aedes and Mosquitto have no counterpart).`,
    'The machine may be shared: figures are medians of repeated phases but still noisy.',
    '',
    '```',
    out.trim(),
    '```',
    '',
  ].join('\n');
  writeFileSync(mdPath, md);
  console.log(`wrote ${mdPath}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
