/**
 * Publish/subscribe traffic (S1, S2, S3, S6) with correctness checks while it runs.
 *
 * Flow control: each publisher keeps at most CLIENT_WINDOW messages unacknowledged (QoS 1/2) and at most
 * CLIENT_WINDOW messages not yet delivered to every subscriber that should get them (the end-to-end window).
 * The second bound makes the publishers run at the rate the broker delivers, not at the rate it accepts,
 * so no broker is measured while its queues grow without end.
 *
 * Checks, per (publisher, subscriber) pair: sequence numbers must rise (order kept), a skipped number is a
 * lost message unless it comes later (then it is an order violation), a repeated one is a duplicate (allowed
 * at QoS 1 with the DUP flag, a failure otherwise). After the window the publishers stop and the run drains;
 * whatever never arrived is lost. Loss fails QoS 1/2 runs and is reported for QoS 0.
 */

import { CoreWatch, cpuSeconds, monotonicUs, ProcSampler, selfCpuSeconds } from '../proc.js';
import { CLIENT_WINDOW, type TrafficSpec } from '../scenarios.js';
import type { Job, RunResult } from '../types.js';
import { type ClientSink, openMany, type RawClient } from './client.js';
import { P_INDEX, P_SEQ, P_TIME, PUBACK, PUBCOMP, type PublishTemplate, publishTemplate } from './frames.js';
import { TrafficMeter } from './meter.js';
import { Pacer } from './pacer.js';
import { RefillQueue } from './refill.js';
import { SequenceCheck } from './sequence.js';

const SETUP_CONCURRENCY = 200;
/** A run with no delivery and no ack for this long has stalled. */
const STALL_MS = 5000;
/** After the window, wait this long without progress before declaring what is missing lost. */
const DRAIN_IDLE_MS = 3000;
const DRAIN_MAX_MS = 30_000;

const log = (msg: string) => process.stderr.write(`  loadgen: ${msg}\n`);

export async function runTraffic(job: Job, spec: TrafficSpec): Promise<RunResult> {
  const t = new Traffic(job, spec);
  try {
    return await t.run();
  } finally {
    t.closeAll();
  }
}

class Traffic implements ClientSink {
  private readonly P: number;
  private readonly S: number;
  private readonly W = CLIENT_WINDOW;
  private readonly qos: number;
  private readonly shared: boolean;
  /** Subscribers each message of a publisher must reach (non-shared). */
  private readonly fanout: number;
  private pubs: RawClient[] = [];
  private subs: RawClient[] = [];
  private readonly templates: PublishTemplate[] = [];

  /** Next sequence number per publisher. */
  private readonly sent: Int32Array;
  /** Messages per publisher delivered everywhere they should go (the end-to-end window's lower edge). */
  private readonly done: Int32Array;
  /** Unacknowledged PUBLISHes per publisher. */
  private readonly ackOut: Int32Array;
  /** Per publisher, per window slot: subscribers that got (or skipped) that sequence number. */
  private readonly ring: Int32Array;
  /** Shared subscriptions: deliveries per publisher, over all members. */
  private readonly received: Float64Array;
  /** Sequence checks per (subscriber, publisher). */
  private readonly seqs: SequenceCheck;

  private unexpected = 0;
  private readonly lost: string[] = [];

  private readonly meter = new TrafficMeter();

  private readonly refills: RefillQueue;

  private readonly paced: boolean;
  /** What is due goes out from the next publisher in turn, in one write (one or a few messages). */
  private readonly pacer: Pacer | undefined;

  constructor(
    private readonly job: Job,
    private readonly spec: TrafficSpec,
  ) {
    this.P = spec.publishers;
    this.S = spec.subscribers;
    this.qos = spec.qos;
    this.shared = spec.shared === true;
    this.fanout = spec.pattern === 'fanout' ? this.S : 1;
    this.sent = new Int32Array(this.P);
    this.done = new Int32Array(this.P);
    this.ackOut = new Int32Array(this.P);
    this.ring = new Int32Array(this.P * this.W);
    this.received = new Float64Array(this.P);
    this.seqs = new SequenceCheck(this.S * this.P);
    this.refills = new RefillQueue(this.P, (pub) => this.pump(pub, Number.POSITIVE_INFINITY));
    this.paced = job.rate !== undefined;
    this.pacer =
      job.rate === undefined
        ? undefined
        : new Pacer(job.rate, this.P, Number.POSITIVE_INFINITY, (pub, limit) => this.pump(pub, limit));
    for (let i = 0; i < this.P; i++) this.templates.push(publishTemplate(this.topicOf(i), spec.qos, false));
  }

  private topicOf(pub: number): string {
    switch (this.spec.pattern) {
      case 'p2p':
        return `bench/p2p/${pub}`;
      case 'fanout':
        return 'bench/fan';
      case 'fanin':
        return `bench/in/${pub}`;
    }
  }

  private filterOf(sub: number): string {
    switch (this.spec.pattern) {
      case 'p2p':
        return `bench/p2p/${sub}`;
      case 'fanout':
        return 'bench/fan';
      case 'fanin':
        return this.shared ? '$share/bench/bench/in/+' : 'bench/in/+';
    }
  }

  /** Whether subscriber `sub` should see messages of publisher `pub`. */
  private expects(sub: number, pub: number): boolean {
    return this.spec.pattern !== 'p2p' || sub === pub;
  }

  async run(): Promise<RunResult> {
    const { job, spec } = this;
    const problems: string[] = [];
    const notes: string[] = [];
    const prefix = `bench-${job.variant.id.replace('.', '-')}`;
    const base = { host: job.host, port: job.port };

    log(`connecting ${this.S} subscribers and ${this.P} publishers`);
    this.subs = await openMany(
      this.S,
      SETUP_CONCURRENCY,
      (i) => ({ ...base, clientId: `${prefix}-s${i}` }),
      this,
    );
    const acks = await Promise.all(this.subs.map((c) => c.subscribe([this.filterOf(c.index)], spec.qos)));
    const refused = acks.filter((codes) => codes[0] === 0x80).length;
    if (refused > 0) {
      return this.result(
        'failed',
        [`broker refused ${refused} of ${this.S} subscriptions (SUBACK 0x80)`],
        notes,
      );
    }
    const downgraded = acks.filter((codes) => codes[0] < spec.qos).length;
    if (downgraded > 0) notes.push(`${downgraded} subscriptions granted below QoS ${spec.qos}`);
    this.pubs = await openMany(
      this.P,
      SETUP_CONCURRENCY,
      (i) => ({ ...base, clientId: `${prefix}-p${i}` }),
      this,
    );
    await sleep(200);

    // Warm-up, then the measured window.
    this.meter.begin();
    if (this.pacer !== undefined) this.pacer.start(this.meter);
    else for (let i = 0; i < this.P; i++) this.pump(i, Number.POSITIVE_INFINITY);
    const stalledIn = async (ms: number): Promise<boolean> => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        await sleep(Math.min(250, until - performance.now()));
        if (performance.now() - this.meter.lastProgress > STALL_MS) return true;
        if (this.lostConnections > 0) return true;
      }
      return false;
    };
    let stalled = await stalledIn(job.warmupSeconds * 1000);
    const sampler = new ProcSampler(job.brokerPid);
    const windowUs: [number, number] = [0, 0];
    let window = {
      seconds: 0,
      cpu: { cpuPercent: 0, rssAvg: 0, rssMax: 0 },
      self: 0,
      brokerOther: 0,
      loaderOther: 0,
    };
    if (!stalled) {
      this.meter.openWindow();
      sampler.start();
      const brokerCore = new CoreWatch(job.cores.broker, () => cpuSeconds(job.brokerPid)).start();
      const loaderCore = new CoreWatch(job.cores.loader, selfCpuSeconds).start();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      windowUs[0] = monotonicUs();
      stalled = await stalledIn(job.measureSeconds * 1000);
      const seconds = (performance.now() - t0) / 1000;
      windowUs[1] = monotonicUs();
      this.meter.measuring = false;
      const used = process.cpuUsage(cpu0);
      window = {
        seconds,
        cpu: sampler.stop(),
        self: (used.user + used.system) / 1e4 / seconds,
        brokerOther: brokerCore.stop(),
        loaderOther: loaderCore.stop(),
      };
    }
    this.meter.stopped = true;
    const inCount = this.meter.published;
    const outCount = this.meter.delivered;

    // Drain: everything sent must arrive.
    const drainStart = performance.now();
    this.meter.lastProgress = drainStart;
    while (!this.complete() && this.lostConnections === 0) {
      const now = performance.now();
      if (now - this.meter.lastProgress > DRAIN_IDLE_MS || now - drainStart > DRAIN_MAX_MS) break;
      await sleep(50);
    }

    const drained = this.complete();
    const drainSeconds = (performance.now() - drainStart) / 1000;

    // Verdict.
    const gaps = this.seqs.gaps;
    const missing = this.missing();
    const totalSent = this.sent.reduce((a, b) => a + b, 0);
    const expected = this.shared ? totalSent : totalSent * this.fanout;
    if (stalled && this.lostConnections === 0) {
      problems.push(`stalled: no delivery or ack for ${STALL_MS / 1000} s`);
    }
    problems.push(...this.lost);
    if (this.unexpected > 0)
      problems.push(`${this.unexpected} deliveries to a subscriber that should not get them`);
    const { backwards, dups } = this.seqs;
    if (backwards > 0) {
      problems.push(`${backwards} deliveries out of order or duplicated without DUP (per-publisher order)`);
    }
    if (dups > 0) {
      if (spec.qos === 2) problems.push(`${dups} duplicates at QoS 2`);
      else notes.push(`${dups} QoS 1 redeliveries (DUP)`);
    }
    if (missing > 0) {
      const share = `${missing} of ${expected} deliveries lost (${((100 * missing) / Math.max(1, expected)).toFixed(3)} %)`;
      if (spec.qos === 0) notes.push(`QoS 0: ${share}`);
      else problems.push(share);
    }
    const paceSkipped = this.pacer?.skipped ?? 0;
    if (this.paced && paceSkipped > 0 && window.seconds > 0) {
      const share = (100 * paceSkipped) / (job.rate! * window.seconds);
      notes.push(`the pacer fell behind its target by ${share.toFixed(1)} % (windows full or loader busy)`);
    }
    const r = this.result(problems.length > 0 ? 'failed' : 'ok', problems, notes);
    r.seconds = window.seconds;
    if (window.seconds > 0) {
      r.inRate = inCount / window.seconds;
      r.outRate = outCount / window.seconds;
      r.latency = this.meter.latency.summary();
      r.brokerCpu = window.cpu.cpuPercent;
      r.rssAvg = window.cpu.rssAvg;
      r.rssMax = window.cpu.rssMax;
      r.loadgenCpu = window.self;
      r.brokerCoreOther = window.brokerOther;
      r.loaderCoreOther = window.loaderOther;
    }
    if (this.paced) r.targetRate = job.rate;
    if (windowUs[1] > 0) r.windowUs = windowUs;
    r.counts = {
      sent: totalSent,
      expectedDeliveries: expected,
      lost: missing,
      skipped: gaps,
      drained: drained ? 1 : 0,
      drainSeconds,
      outOfOrder: backwards,
      duplicates: dups,
      unexpected: this.unexpected,
    };
    return r;
  }

  private result(status: RunResult['status'], problems: string[], notes: string[]): RunResult {
    return {
      broker: this.job.broker,
      variant: this.job.variant.id,
      scenario: this.job.variant.scenario,
      status,
      problems,
      notes,
      seconds: 0,
    };
  }

  private lostConnections = 0;

  onLost(c: RawClient, why: string): void {
    this.lostConnections++;
    if (this.lost.length < 5) this.lost.push(`${c.id}: ${why}`);
  }

  // ------------------------------------------------------------------ hot path

  onPublish(c: RawClient, buf: Buffer, p: number, end: number, qos: number, dup: boolean, now: number): void {
    const P = this.P;
    const pub = buf.readUInt32LE(p + P_INDEX);
    const sub = c.index;
    if (end - p < 16 || pub >= P || !this.expects(sub, pub)) {
      this.unexpected++;
      return;
    }
    const seq = buf.readUInt32LE(p + P_SEQ);
    this.meter.delivery(buf.readDoubleLE(p + P_TIME), now);
    // In a shared group each member sees a rising subsequence: skips there are normal.
    const n = this.seqs.accept(sub * P + pub, seq, qos, dup, !this.shared);
    if (n < 0) return;
    if (this.shared) {
      this.received[pub]++;
      const d = Math.min(this.received[pub], this.sent[pub]);
      if (d > this.done[pub]) {
        this.done[pub] = d;
        this.markDirty(pub);
      }
      return;
    }
    // Every subscriber counts each number once, received or skipped, so a loss cannot block the window.
    const W = this.W;
    const ring = this.ring;
    const base = pub * W;
    for (let s = n; s <= seq; s++) ring[base + (s % W)]++;
    let d = this.done[pub];
    const sent = this.sent[pub];
    const F = this.fanout;
    if (ring[base + (d % W)] < F) return;
    while (d < sent && ring[base + (d % W)] >= F) {
      ring[base + (d % W)] = 0;
      d++;
    }
    this.done[pub] = d;
    this.markDirty(pub);
  }

  onAck(c: RawClient, type: number, _packetId: number): void {
    if ((type === PUBACK && this.qos === 1) || (type === PUBCOMP && this.qos === 2)) {
      const pub = c.index;
      this.ackOut[pub]--;
      this.meter.lastProgress = performance.now();
      this.markDirty(pub);
    }
  }

  private markDirty(pub: number): void {
    if (this.paced || this.meter.stopped) return;
    this.refills.mark(pub);
  }

  /** Sends as many messages as publisher `pub`'s windows (and `limit`) allow, in one write. */
  private pump(pub: number, limit: number): number {
    if (this.meter.stopped) return 0;
    const W = this.W;
    let n = W - (this.sent[pub] - this.done[pub]);
    if (this.qos > 0) n = Math.min(n, W - this.ackOut[pub]);
    if (limit < n) n = Math.floor(limit);
    if (n <= 0) return 0;
    const t = this.templates[pub];
    const tf = t.frame;
    const fl = tf.length;
    const pidAt = t.pidOffset;
    const pay = t.payloadOffset;
    const out = Buffer.allocUnsafe(n * fl);
    const ts = performance.now();
    let seq = this.sent[pub];
    for (let m = 0, pos = 0; m < n; m++, pos += fl) {
      tf.copy(out, pos);
      if (pidAt >= 0) {
        const pid = (seq % 65535) + 1;
        out[pos + pidAt] = pid >>> 8;
        out[pos + pidAt + 1] = pid & 0xff;
      }
      out.writeUInt32LE(pub, pos + pay + P_INDEX);
      out.writeUInt32LE(seq, pos + pay + P_SEQ);
      out.writeDoubleLE(ts, pos + pay + P_TIME);
      seq++;
    }
    this.sent[pub] = seq;
    if (this.qos > 0) this.ackOut[pub] += n;
    if (this.meter.measuring) this.meter.published += n;
    this.pubs[pub].write(out);
    return n;
  }

  // ------------------------------------------------------------------ verdict

  private complete(): boolean {
    for (let i = 0; i < this.P; i++) {
      if (this.done[i] < this.sent[i]) return false;
      if (this.qos > 0 && this.ackOut[i] > 0) return false;
    }
    return true;
  }

  /** Deliveries that never arrived. */
  private missing(): number {
    if (this.shared) {
      let m = 0;
      for (let i = 0; i < this.P; i++) {
        const d = this.sent[i] - this.received[i];
        if (d > 0) m += d;
        else if (d < 0) this.seqs.dups -= d;
      }
      return m;
    }
    let m = this.seqs.gaps;
    for (let j = 0; j < this.S; j++) {
      for (let i = 0; i < this.P; i++) {
        if (this.expects(j, i)) m += this.sent[i] - this.seqs.next[j * this.P + i];
      }
    }
    return m;
  }

  closeAll(): void {
    for (const c of this.pubs) c?.close();
    for (const c of this.subs) c?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
