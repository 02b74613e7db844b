/**
 * Where the slow messages sit in time: one QoS 1 publisher sending to `t/<i mod N>` at a fixed rate into one
 * `t/#` subscriber (the topics curve's traffic), every message's send time and latency recorded, then the
 * samples above p99 outlined: by position in the second (periodic timers), in clusters (pauses: GC, a
 * sweep), and by position in the pacer's burst (queueing behind the messages sent with it).
 *
 *   npm run build && node dist/bench/latency-trace.js [--broker hermod,mosquitto] [--topics 1000]
 *     [--rate 10000] [--seconds 5] [--warmup 0] [--pacing curve|even] [--rounds 1] [--dump FILE]
 *
 * `--pacing curve` is the topics curve's Flow (a 5 ms timer sending what is due, window 32, so bursts of up
 * to 32); `--pacing even` sends each message when it is due (setImmediate loop), one at a time.
 * BENCH_NODE_FLAGS='--trace-gc' passes flags to the Hermod process (its log: .tmp/bench-logs/).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, selectBrokers } from './brokers.js';
import { freePort } from './children.js';
import { type ClientSink, RawClient } from './loadgen/client.js';
import { P_SEQ, P_TIME, publishTemplate } from './loadgen/frames.js';

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'hermod,mosquitto' },
    topics: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '5' },
    pacing: { type: 'string', default: 'curve' },
    rounds: { type: 'string', default: '1' },
    window: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '0' },
    dump: { type: 'string' },
  },
});
const N = Number(values.topics);
const RATE = Number(values.rate);
const TOTAL = Math.round(Number(values.seconds) * RATE);
const WINDOW = Number(values.window);
/** Seconds of the same traffic on t/w/<k> before measuring (not recorded). */
const WARMUP = Number(values.warmup);
const LOGS = join(ROOT, '.tmp', 'bench-logs');
mkdirSync(LOGS, { recursive: true });

class Recorder implements ClientSink {
  readonly sent: Float64Array;
  readonly lat: Float64Array;
  received = 0;
  acked = 0;
  errors = 0;
  onAckCb: (() => void) | undefined;
  /** Reads that brought deliveries / acks (a read's messages share its `now`). */
  deliveryReads = 0;
  ackReads = 0;
  private lastDeliveryRead = -1;
  private lastAckRead = -1;
  constructor(readonly total: number) {
    this.sent = new Float64Array(total);
    this.lat = new Float64Array(total);
  }
  onPublish(_c: RawClient, buf: Buffer, payload: number, _e: number, _q: number, _d: boolean, now: number) {
    if (now !== this.lastDeliveryRead) {
      this.deliveryReads++;
      this.lastDeliveryRead = now;
    }
    const seq = buf.readUInt32LE(payload + P_SEQ);
    if (seq !== this.received) this.errors++;
    const t = buf.readDoubleLE(payload + P_TIME);
    if (seq < this.total) {
      this.sent[seq] = t;
      this.lat[seq] = (now - t) * 1000;
    }
    this.received++;
  }
  onAck() {
    const now = performance.now();
    if (now - this.lastAckRead > 0.02) this.ackReads++;
    this.lastAckRead = now;
    this.acked++;
    this.onAckCb?.();
  }
  onLost(_c: RawClient, why: string) {
    console.error('lost:', why);
    this.errors++;
  }
}

function frameMaker(prefix: string) {
  const templates = new Map<number, ReturnType<typeof publishTemplate>>();
  return (i: number, pid: number, sentAt: number): Buffer => {
    const k = i % N;
    let t = templates.get(k);
    if (t === undefined) {
      t = publishTemplate(`${prefix}${k}`, 1, false);
      if (templates.size < 10_000) templates.set(k, t);
    }
    const f = Buffer.from(t.frame);
    f.writeUInt16BE(pid, t.pidOffset);
    f.writeUInt32LE(0, t.payloadOffset);
    f.writeUInt32LE(i, t.payloadOffset + P_SEQ);
    f.writeDoubleLE(sentAt, t.payloadOffset + P_TIME);
    return f;
  };
}

/** The broker's main thread's time on a CPU in µs (schedstat: ns resolution, unlike /proc/<pid>/stat). */
function mainThreadUs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'latin1').split(' ')[0]) / 1000;
}

/** Sends `rec.total` messages to `<prefix><i mod N>` paced as --pacing says; resolves when all are acked. */
function sendAll(pub: RawClient, rec: Recorder, prefix: string): Promise<void> {
  const total = rec.total;
  const make = frameMaker(prefix);
  let sent = 0;
  const t0 = performance.now();
  const due = () => Math.min(total, ((performance.now() - t0) / 1000) * RATE);
  const pump = () => {
    const d = due();
    while (sent < d && sent - rec.acked < WINDOW) {
      const i = sent++;
      // Even pacing stamps the time a message was due (as the curves do), the curve pacing the send time
      // (as the curves did before).
      pub.write(
        make(i, (i % 65535) + 1, values.pacing === 'curve' ? performance.now() : t0 + (i * 1000) / RATE),
      );
    }
  };
  return new Promise<void>((resolve) => {
    if (values.pacing === 'curve') {
      // The topics curve's Flow before 2026-12-04: a 5 ms timer, up to WINDOW at once, nothing on acks.
      const timer = setInterval(pump, 5);
      rec.onAckCb = () => {
        if (rec.acked === total) {
          clearInterval(timer);
          resolve();
        }
      };
      pump();
    } else {
      rec.onAckCb = () => {
        if (rec.acked === total) resolve();
        else pump();
      };
      const tick = () => {
        pump();
        if (sent < total) setImmediate(tick);
      };
      setImmediate(tick);
    }
  });
}

async function waitReceived(rec: Recorder): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (rec.received < rec.total && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
}

async function runOnce(port: number, pid: number): Promise<Recorder> {
  const opts = (id: string) => ({ host: '127.0.0.1', port, clientId: id, keepalive: 300 });
  const warm = new Recorder(Math.round(WARMUP * RATE));
  const sub = await RawClient.open(opts('trace-sub'), warm);
  await sub.subscribe(['t/#'], 1);
  const pub = await RawClient.open(opts('trace-pub'), warm);
  if (warm.total > 0) {
    await sendAll(pub, warm, 't/w/');
    await waitReceived(warm);
  }
  const rec = new Recorder(TOTAL);
  sub.sink = rec;
  pub.sink = rec;
  // Broker main-thread CPU µs per message, per 500 ms: JIT warm-up and start-up work show as a costlier start.
  const cpuRows: string[] = [];
  let lastCpu = mainThreadUs(pid);
  let lastCount = 0;
  const sampler = setInterval(() => {
    const cpu = mainThreadUs(pid);
    const count = rec.received;
    if (count > lastCount) cpuRows.push(((cpu - lastCpu) / (count - lastCount)).toFixed(1));
    lastCpu = cpu;
    lastCount = count;
  }, 500);
  const t0 = performance.now();
  await sendAll(pub, rec, 't/');
  await waitReceived(rec);
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`  broker main-thread CPU µs per message, per 500 ms: ${cpuRows.join(' ')}`);
  console.log(
    `  deliveries per read ${(rec.received / rec.deliveryReads).toFixed(2)}, acks per read (approx.) ${(rec.acked / rec.ackReads).toFixed(2)}`,
  );
  console.log(
    `  ${TOTAL} messages in ${seconds.toFixed(2)} s (${Math.round(TOTAL / seconds)}/s), errors ${rec.errors + warm.errors}`,
  );
  sub.reset();
  pub.reset();
  return rec;
}

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function outline(rec: Recorder): void {
  const n = Math.min(rec.received, TOTAL);
  const lat = rec.lat.subarray(0, n);
  const sorted = Float64Array.from(lat).sort();
  const p99 = pct(sorted, 0.99);
  console.log(
    `  latency µs: p50 ${pct(sorted, 0.5).toFixed(0)}  p90 ${pct(sorted, 0.9).toFixed(0)}  p99 ${p99.toFixed(0)}  p99.9 ${pct(sorted, 0.999).toFixed(0)}  max ${sorted[n - 1].toFixed(0)}`,
  );
  // Skip the first second in the outline: JIT warm-up.
  const t0 = rec.sent[0];
  const slow: number[] = [];
  for (let i = 0; i < n; i++) if (lat[i] > p99) slow.push(i);
  // Clusters: slow messages whose send times are within 2 ms of the previous slow one.
  const clusters: Array<{ start: number; end: number; count: number; peak: number }> = [];
  for (const i of slow) {
    const last = clusters[clusters.length - 1];
    if (last !== undefined && rec.sent[i] - rec.sent[last.end] < 2) {
      last.end = i;
      last.count++;
      last.peak = Math.max(last.peak, lat[i]);
    } else clusters.push({ start: i, end: i, count: 1, peak: lat[i] });
  }
  console.log(`  ${slow.length} messages above p99 in ${clusters.length} clusters:`);
  for (const c of clusters.slice(0, 40)) {
    console.log(
      `    t=${(rec.sent[c.start] - t0).toFixed(1)} ms  seq ${c.start}..${c.end}  n=${c.count}  peak ${c.peak.toFixed(0)} µs`,
    );
  }
  // Position in the second (timers of 1 s period would pile up in one bin).
  const bins = new Array(10).fill(0);
  for (const i of slow) bins[Math.floor(((rec.sent[i] - t0) % 1000) / 100)]++;
  console.log(`  slow by 100 ms of each second: ${bins.join(' ')}`);
  // Per 500 ms of the run: p50 / p99 / max, to see warm-up and start-up work apart from the steady state.
  const rows: string[] = [];
  for (let from = 0; from < n; ) {
    let to = from;
    while (to < n && rec.sent[to] - rec.sent[from] < 500) to++;
    const part = Float64Array.from(lat.subarray(from, to)).sort();
    rows.push(
      `${pct(part, 0.5).toFixed(0)}/${pct(part, 0.99).toFixed(0)}/${part[part.length - 1].toFixed(0)}`,
    );
    from = to;
  }
  console.log(`  per 500 ms, p50/p99/max µs: ${rows.join('  ')}`);
}

const brokers = selectBrokers(values.broker!.split(','));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const b of brokers) {
    const port = await freePort();
    const broker = await b.start({ port, logFile: join(LOGS, `${b.name}-latency-trace.log`) });
    await new Promise((r) => setTimeout(r, 300));
    const load = (await import('node:os')).loadavg()[0];
    console.log(
      `${b.label} (load ${load.toFixed(2)}), ${N} topics at ${RATE}/s, pacing ${values.pacing}, warm-up ${WARMUP} s`,
    );
    const rec = await runOnce(port, broker.pid);
    await broker.stop();
    outline(rec);
    if (values.dump !== undefined) {
      const lines = ['seq,sent_ms,latency_us'];
      for (let i = 0; i < Math.min(rec.received, TOTAL); i++)
        lines.push(`${i},${(rec.sent[i] - rec.sent[0]).toFixed(3)},${rec.lat[i].toFixed(1)}`);
      writeFileSync(`${values.dump}.${b.name}.csv`, lines.join('\n'));
    }
  }
}
