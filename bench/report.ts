/**
 * The results page: bench/results/<date>.json (everything measured) and <date>.md (tables per scenario,
 * Hermod's ratio to each peer, the benchmark goals, every broker setting, every failure).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import {
  CLIENT_WINDOW,
  LIMITS,
  LOWER_IS_BETTER,
  type PrimaryMetric,
  SCENARIOS,
  type Variant,
} from './scenarios.js';
import type { RunResult } from './types.js';

export interface BrokerInfo {
  name: string;
  label: string;
  version: string;
  settings: string[];
}

export interface Report {
  generated: string;
  machine: { cpu: string; cores: number; kernel: string; node: string };
  command: string;
  config: {
    warmupSeconds: number;
    measureSeconds: number;
    clientWindow: number;
    limits: { maxInflight: number; maxQueued: number };
    pinning: string;
  };
  brokers: BrokerInfo[];
  results: RunResult[];
  /** Wall time of each harness invocation that contributed, s. */
  durations: { command: string; seconds: number; at: string }[];
}

/** The machine this process runs on, as a report records it. */
export function machineInfo(): Report['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    node: process.version,
  };
}

/** A report's harness settings: the windows and limits every scenario runs with, plus how it pinned processes. */
export function harnessConfig(
  warmupSeconds: number,
  measureSeconds: number,
  pinning: string,
): Report['config'] {
  return {
    warmupSeconds,
    measureSeconds,
    clientWindow: CLIENT_WINDOW,
    limits: { ...LIMITS },
    pinning,
  };
}

/** Adds `fresh` to the report already in `path` (same broker + variant replaced), or starts a new one. */
export function mergeReport(path: string, base: Report, fresh: RunResult[]): Report {
  if (!existsSync(path)) return { ...base, results: fresh };
  const old = JSON.parse(readFileSync(path, 'utf8')) as Report;
  const key = (r: RunResult) => `${r.broker}/${r.variant}`;
  const replaced = new Set(fresh.map(key));
  const brokers = [...base.brokers];
  for (const b of old.brokers) if (!brokers.some((x) => x.name === b.name)) brokers.push(b);
  return {
    ...base,
    brokers,
    results: [...old.results.filter((r) => !replaced.has(key(r))), ...fresh],
    durations: [...(old.durations ?? []), ...base.durations],
  };
}

const PEERS = ['aedes', 'mosquitto'] as const;

export function metricOf(r: RunResult | undefined, m: PrimaryMetric): number | undefined {
  if (r === undefined || r.status !== 'ok') return undefined;
  if (m === 'p99') return r.latency?.p99;
  if (m === 'cpuPerMessage') {
    // CPU % of one core → µs of broker CPU per delivered message.
    return r.brokerCpu !== undefined && r.outRate ? (r.brokerCpu * 10_000) / r.outRate : undefined;
  }
  return r[m];
}

/** Hermod's ratio to `peer` on a variant's primary metric, oriented so that > 1 means Hermod is better. */
export function ratio(results: RunResult[], variant: Variant, peer: string): number | undefined {
  const m = primaryOf(variant).metric;
  const h = metricOf(find(results, 'hermod', variant.id), m);
  const p = metricOf(find(results, peer, variant.id), m);
  if (h === undefined || p === undefined || h <= 0 || p <= 0) return undefined;
  return LOWER_IS_BETTER.has(m) ? p / h : h / p;
}

/** What `variant`'s ratio compares: its own metric, else its scenario's. */
export function primaryOf(variant: Variant): { metric: PrimaryMetric; label: string } {
  return variant.primary ?? SCENARIOS.find((s) => s.id === variant.scenario)!.primary;
}

function find(results: RunResult[], broker: string, variant: string): RunResult | undefined {
  return results.find((r) => r.broker === broker && r.variant === variant);
}

const int = (n: number | undefined) => (n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | undefined) => (n === undefined ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const mb = (n: number | undefined) => (n === undefined ? '–' : (n / 2 ** 20).toFixed(0));
const pct = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(0));
const x = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(2)}×`);

function status(r: RunResult): string {
  if (r.status === 'ok') return 'ok';
  if (r.status === 'unsupported') return 'n/a';
  return `**${r.status.toUpperCase()}**`;
}

/** A run whose broker's or loader's core ran other processes more than this share of the window is flagged. */
const DISTURBED_PERCENT = 3;

function disturbed(r: RunResult): string | undefined {
  const parts: string[] = [];
  if ((r.brokerCoreOther ?? 0) > DISTURBED_PERCENT)
    parts.push(`the broker's ${r.brokerCoreOther!.toFixed(0)} %`);
  if ((r.loaderCoreOther ?? 0) > DISTURBED_PERCENT)
    parts.push(`the loader's ${r.loaderCoreOther!.toFixed(0)} %`);
  return parts.length > 0 ? `disturbed: other processes took ${parts.join(' and ')} of the core` : undefined;
}

export function renderMarkdown(rep: Report): string {
  const out: string[] = [];
  const label = (name: string) => rep.brokers.find((b) => b.name === name)?.label ?? name;
  const day = rep.generated.slice(0, 10);
  out.push(`# Hermod benchmark — ${day}`, '');
  out.push(
    `Hermod, Aedes and Mosquitto driven by the same load generator (\`bench/\`), one broker process at a time, ` +
      `a fresh broker for every scenario variant. ${rep.config.pinning}. Measured window ` +
      `${rep.config.measureSeconds} s after ${rep.config.warmupSeconds} s of warm-up; every client keeps at most ` +
      `${rep.config.clientWindow} messages unacknowledged and ${rep.config.clientWindow} not yet delivered ` +
      `(end-to-end window), so the load follows what each broker can deliver.`,
    '',
  );
  out.push(
    `Machine: ${rep.machine.cpu}, ${rep.machine.cores} cores, Linux ${rep.machine.kernel}, Node ${rep.machine.node}. ` +
      `Last command: \`${rep.command}\`.`,
    '',
  );
  out.push('| broker | version |', '|---|---|');
  for (const b of rep.brokers) out.push(`| ${b.label} | ${b.version} |`);
  out.push('');
  out.push(
    'Columns: **in** = PUBLISHes sent per second, **out** = deliveries received per second, latency = ' +
      'publish → delivery as the load generator sees it (the payload carries the send time), **CPU** = broker ' +
      'CPU in % of one core and **RSS** = broker resident memory (average / peak), both over the window, ' +
      '**loader** = load generator CPU (near 100 % means the loader may have been the limit). Ratios are Hermod ' +
      'against the peer on the scenario’s main metric, oriented so that **> 1 means Hermod is better**.',
    '',
  );

  for (const sc of SCENARIOS) {
    const rows = sc.variants.flatMap((v) => rep.results.filter((r) => r.variant === v.id));
    if (rows.length === 0) continue;
    out.push(`## ${sc.id} — ${sc.title}`, '');
    if (sc.id === 'S4') {
      out.push(
        '| variant | broker | status | connected | connections/s | RSS per connection at 3 s / 15 s | RSS after (MB) | CPU % | loader % |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|',
      );
      for (const r of rows) {
        const kb = (v: number | undefined) => (v === undefined ? '–' : `${(v / 1024).toFixed(1)} KB`);
        const per = `${kb(r.rssPerConn)} / ${kb(r.rssPerConnIdle)}`;
        out.push(
          `| ${r.variant} | ${label(r.broker)} | ${status(r)} | ${int(r.connections)} | ${int(r.connRate)} | ${per} | ${mb(r.rssAvg)} | ${pct(r.brokerCpu)} | ${pct(r.loadgenCpu)} |`,
        );
      }
    } else if (sc.id === 'S5') {
      out.push(
        '| variant | broker | status | stored/s | s until all delivered | deliveries/s | CPU % (delivery) | RSS avg / peak (MB) |',
        '|---|---|---|---:|---:|---:|---:|---:|',
      );
      for (const r of rows) {
        const secs = r.deliverySeconds === undefined ? '–' : r.deliverySeconds.toFixed(2);
        out.push(
          `| ${r.variant} | ${label(r.broker)} | ${status(r)} | ${int(r.storeRate)} | ${secs} | ${int(r.outRate)} | ${pct(r.brokerCpu)} | ${mb(r.rssAvg)} / ${mb(r.rssMax)} |`,
        );
      }
    } else {
      const s6 = sc.id === 'S6';
      out.push(
        `| variant | broker | status | ${s6 ? 'target/s | ' : ''}in msgs/s | out msgs/s | p50 ms | p99 ms | ${s6 ? 'p99.9 ms | ' : ''}CPU % | RSS avg / peak (MB) | loader % |`,
        `|---|---|---|${s6 ? '---:|' : ''}---:|---:|---:|---:|${s6 ? '---:|' : ''}---:|---:|---:|`,
      );
      for (const r of rows) {
        const l = r.latency;
        out.push(
          `| ${r.variant} | ${label(r.broker)} | ${status(r)} | ${s6 ? `${int(r.targetRate)} | ` : ''}${int(r.inRate)} | ${int(r.outRate)} | ${ms(l?.p50)} | ${ms(l?.p99)} | ${s6 ? `${ms(l?.p999)} | ` : ''}${pct(r.brokerCpu)} | ${mb(r.rssAvg)} / ${mb(r.rssMax)} | ${pct(r.loadgenCpu)} |`,
        );
      }
    }
    out.push('');
    if (sc.id === 'S6') {
      out.push(
        'The pacer spins between sends to spread them evenly, so the loader column reads about 100 % here by design. ' +
          'Paced traffic arrives one message per read: for Hermod, whose maximum comes from batched reads and ' +
          'writes, "half of its maximum" is close to its unbatched limit (see its CPU column).',
        '',
      );
    }
    out.push(`Hermod's ratio (${sc.primary.label}):`, '');
    out.push('| variant | vs Aedes | vs Mosquitto |', '|---|---:|---:|');
    for (const v of sc.variants) {
      if (!rows.some((r) => r.variant === v.id)) continue;
      // A variant with its own metric names it, and what each broker measured on it.
      const own = v.primary === undefined ? '' : ` (${ownMetric(rep.results, v, label)})`;
      out.push(
        `| ${v.id}${own} | ${x(ratio(rep.results, v, 'aedes'))} | ${x(ratio(rep.results, v, 'mosquitto'))} |`,
      );
    }
    if (sc.id === 'S4') {
      const v = sc.variants[0];
      for (const [key, when] of [
        ['rssPerConn', '3 s'],
        ['rssPerConnIdle', '15 s'],
      ] as const) {
        const h = find(rep.results, 'hermod', v.id)?.[key];
        const cells = PEERS.map((p) => {
          const o = find(rep.results, p, v.id)?.[key];
          return h !== undefined && o !== undefined && h > 0 ? x(o / h) : '–';
        });
        out.push(`| ${v.id} memory per connection at ${when} (peer ÷ Hermod) | ${cells[0]} | ${cells[1]} |`);
      }
    }
    out.push('');
    const remarks = rows.flatMap((r) => {
      const lines: string[] = [];
      for (const p of r.problems) lines.push(`- ${label(r.broker)} ${r.variant}: **${p}**`);
      for (const n of r.notes) lines.push(`- ${label(r.broker)} ${r.variant}: ${n}`);
      const d = disturbed(r);
      if (d !== undefined) lines.push(`- ${label(r.broker)} ${r.variant}: ${d}`);
      if ((r.loadgenCpu ?? 0) > 90 && r.status === 'ok' && r.targetRate === undefined) {
        lines.push(
          `- ${label(r.broker)} ${r.variant}: the load generator ran at ${r.loadgenCpu!.toFixed(0)} % of its core: the broker may have more to give (throughput) or the latency includes loader queueing`,
        );
      }
      return lines;
    });
    if (remarks.length > 0) out.push(...remarks, '');
  }

  out.push('## Goals of issue 7', '');
  out.push(...goals(rep.results, label), '');

  out.push('## Broker settings', '');
  for (const b of rep.brokers) {
    out.push(`**${b.label} ${b.version}**`, '');
    for (const s of b.settings) out.push(s.startsWith('  ') ? `    ${s.trim()}` : `- ${s}`);
    out.push('');
  }
  out.push(
    `Shared limits (bench/scenarios.ts LIMITS): outgoing inflight window ${rep.config.limits.maxInflight} per session; ` +
      `queue ${rep.config.limits.maxQueued} per session where the broker has a message-count limit.`,
    '',
  );
  if (rep.durations.length > 0) {
    out.push('## Runs', '');
    for (const d of rep.durations)
      out.push(`- ${d.at}: \`${d.command}\` took ${(d.seconds / 60).toFixed(1)} min`);
    out.push('');
  }
  return out.join('\n');
}

/** `label: value per broker` of a variant with its own metric, e.g. 'broker CPU µs per message: Hermod 26.1, …'. */
function ownMetric(results: RunResult[], v: Variant, label: (name: string) => string): string {
  const p = primaryOf(v);
  const values = results
    .filter((r) => r.variant === v.id)
    .map((r) => `${label(r.broker)} ${metricOf(r, p.metric)?.toFixed(1) ?? '–'}`);
  return `${p.label}: ${values.join(', ')}`;
}

function goals(results: RunResult[], label: (n: string) => string): string[] {
  const lines: string[] = [];
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : '**not met**');
  // Extra views (the same fixed load for every broker) are not among the issue's scenarios.
  const all = SCENARIOS.flatMap((s) => s.variants).filter((v) => v.extraView !== true);
  const vsAedes = all
    .map((v) => ({ v, r: ratio(results, v, 'aedes') }))
    .filter((e) => e.r !== undefined || find(results, 'hermod', e.v.id) !== undefined);
  const worst = vsAedes.filter((e) => e.r !== undefined).sort((a, b) => a.r! - b.r!)[0];
  const unmeasured = vsAedes.filter((e) => e.r === undefined).map((e) => e.v.id);
  lines.push(
    `- Hermod ≥ 2× Aedes in every scenario: ${mark(worst === undefined ? undefined : worst.r! >= 2)}` +
      (worst !== undefined ? ` (lowest: ${worst.v.id} ${worst.r!.toFixed(2)}×)` : '') +
      (unmeasured.length > 0 ? `; no ratio for ${unmeasured.join(', ')}` : ''),
  );
  for (const extra of SCENARIOS.flatMap((s) => s.variants).filter((v) => v.extraView === true)) {
    const cells = PEERS.map((peer) => {
      const r = ratio(results, extra, peer);
      return r === undefined ? undefined : `${r.toFixed(2)}× ${label(peer)}`;
    }).filter((c) => c !== undefined);
    if (cells.length > 0) {
      lines.push(
        `  (not counted: ${extra.id}, the same fixed load for all, ${cells.join(', ')} on ${primaryOf(extra).label})`,
      );
    }
  }
  for (const v of SCENARIOS.find((s) => s.id === 'S2')!.variants) {
    const r = ratio(results, v, 'mosquitto');
    lines.push(
      `- ≥ 1.0× Mosquitto in fan-out deliveries/s (${v.id}): ${mark(r === undefined ? undefined : r >= 1)}${r !== undefined ? ` (${r.toFixed(2)}×)` : ''}`,
    );
  }
  const p2p = SCENARIOS.find((s) => s.id === 'S1')!.variants.find((v) => v.id === 'S1.qos1')!;
  const r1 = ratio(results, p2p, 'mosquitto');
  lines.push(
    `- ≥ 0.8× Mosquitto in QoS 1 point-to-point (S1.qos1): ${mark(r1 === undefined ? undefined : r1 >= 0.8)}${r1 !== undefined ? ` (${r1.toFixed(2)}×)` : ''}`,
  );
  const s4 = find(results, 'hermod', 'S4.idle');
  const per = s4?.status === 'ok' ? s4.rssPerConn : undefined;
  lines.push(
    `- ${label('hermod')} RSS ≤ 8 KB per idle connection: ${mark(per === undefined ? undefined : per <= 8 * 1024)}${per !== undefined ? ` (${(per / 1024).toFixed(1)} KB)` : ''}`,
  );
  // Issue 21's goal is for the idle fleet, so it reads the later (steady) figure.
  const idle = s4?.status === 'ok' ? s4.rssPerConnIdle : undefined;
  lines.push(
    `- ${label('hermod')} RSS ≤ 4 KB per idle connection, 15 s after connecting (issue 21): ${mark(idle === undefined ? undefined : idle <= 4 * 1024)}${idle !== undefined ? ` (${(idle / 1024).toFixed(1)} KB)` : ''}`,
  );
  return lines;
}

export function writeReport(jsonPath: string, mdPath: string, rep: Report): void {
  writeFileSync(jsonPath, `${JSON.stringify(rep, null, 2)}\n`);
  writeFileSync(mdPath, renderMarkdown(rep));
}
