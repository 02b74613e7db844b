/**
 * S5: stores many retained messages (QoS 1, acknowledged), then subscribes many clients at once to wildcard
 * filters that each match a slice of them, and times until every retained message has reached its
 * subscriber exactly once.
 */
import { CoreWatch, cpuSeconds, monotonicUs, ProcSampler } from '../proc.js';
import { CLIENT_WINDOW, type RetainedSpec } from '../scenarios.js';
import type { Job, RunResult } from '../types.js';
import { type ClientSink, openMany, type RawClient } from './client.js';
import { P_INDEX, PUBACK, publishTemplate } from './frames.js';

const STORE_TIMEOUT_MS = 120_000;
const DELIVERY_TIMEOUT_MS = 120_000;
/** Pause between storing and subscribing, so a broker that stores in the background has caught up. */
const SETTLE_MS = 500;

const log = (msg: string) => process.stderr.write(`  loadgen: ${msg}\n`);

export async function runRetained(job: Job, spec: RetainedSpec): Promise<RunResult> {
  const r = new Retained(job, spec);
  try {
    return await r.run();
  } finally {
    for (const c of r.clients) c.close();
  }
}

class Retained implements ClientSink {
  readonly clients: RawClient[] = [];
  private readonly perSub: number;
  /** Topic index → delivered (subscribe phase). */
  private readonly seen: Uint8Array;
  private delivered = 0;
  private duplicates = 0;
  private wrongSubscriber = 0;
  private lostConnections: string[] = [];
  private acked = 0;
  private readonly nextTopic: Int32Array;
  private readonly ackOut: Int32Array;
  private pubs: RawClient[] = [];

  constructor(
    private readonly job: Job,
    private readonly spec: RetainedSpec,
  ) {
    this.perSub = spec.topics / spec.subscribers;
    this.seen = new Uint8Array(spec.topics);
    this.nextTopic = new Int32Array(spec.publishers);
    this.ackOut = new Int32Array(spec.publishers);
  }

  private topicOf(t: number): string {
    return `bench/ret/${Math.floor(t / this.perSub)}/${t % this.perSub}`;
  }

  async run(): Promise<RunResult> {
    const { job, spec } = this;
    const problems: string[] = [];
    const notes: string[] = [];
    const base = { host: job.host, port: job.port };
    const sampler = new ProcSampler(job.brokerPid);

    // Store.
    this.pubs = await openMany(
      spec.publishers,
      spec.publishers,
      (i) => ({ ...base, clientId: `bench-s5-p${i}` }),
      this,
    );
    this.clients.push(...this.pubs);
    const perPub = spec.topics / spec.publishers;
    for (let k = 0; k < spec.publishers; k++) this.nextTopic[k] = k * perPub;
    log(`storing ${spec.topics} retained messages`);
    const t0 = performance.now();
    sampler.start();
    const stored = await this.until(
      () => this.acked === spec.topics,
      STORE_TIMEOUT_MS,
      () => {
        for (let k = 0; k < spec.publishers; k++) this.pump(k);
      },
    );
    const storeSeconds = (performance.now() - t0) / 1000;
    if (!stored) problems.push(`only ${this.acked} of ${spec.topics} retained PUBLISHes acknowledged`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));

    // Subscribe all at once.
    const subs = await openMany(
      spec.subscribers,
      100,
      (i) => ({ ...base, clientId: `bench-s5-s${i}` }),
      this,
    );
    this.clients.push(...subs);
    log(`subscribing ${spec.subscribers} clients to bench/ret/<j>/+`);
    const cpuSampler = new ProcSampler(job.brokerPid);
    cpuSampler.start();
    const watch = new CoreWatch(job.cores.broker, () => cpuSeconds(job.brokerPid)).start();
    const t1 = performance.now();
    const us0 = monotonicUs();
    let subacks = 0;
    for (const c of subs) {
      c.subscribe([`bench/ret/${c.index}/+`], 1).then((codes) => {
        if (codes[0] !== 0x80) subacks++;
      });
    }
    const all = await this.until(() => this.delivered === spec.topics, DELIVERY_TIMEOUT_MS);
    const deliverySeconds = (performance.now() - t1) / 1000;
    const us1 = monotonicUs();
    const window = cpuSampler.stop();
    const other = watch.stop();
    const whole = sampler.stop();
    if (!all) {
      problems.push(
        `${spec.topics - this.delivered} of ${spec.topics} retained messages never delivered (${subacks} SUBACKs)`,
      );
    }
    if (this.duplicates > 0) problems.push(`${this.duplicates} retained messages delivered twice`);
    if (this.wrongSubscriber > 0) {
      problems.push(
        `${this.wrongSubscriber} retained messages delivered to a subscriber whose filter does not match`,
      );
    }
    problems.push(...this.lostConnections);
    notes.push(
      `stored ${spec.topics} retained in ${storeSeconds.toFixed(2)} s by ${spec.publishers} publishers (QoS 1, window ${CLIENT_WINDOW})`,
    );
    return {
      broker: job.broker,
      variant: job.variant.id,
      scenario: job.variant.scenario,
      status: problems.length > 0 ? 'failed' : 'ok',
      problems,
      notes,
      seconds: deliverySeconds,
      inRate: spec.topics / storeSeconds,
      outRate: this.delivered / deliverySeconds,
      storeRate: spec.topics / storeSeconds,
      deliverySeconds: all ? deliverySeconds : undefined,
      brokerCpu: window.cpuPercent,
      brokerCoreOther: other,
      rssAvg: window.rssAvg,
      rssMax: Math.max(window.rssMax, whole.rssMax),
      counts: { topics: spec.topics, delivered: this.delivered, duplicates: this.duplicates },
      windowUs: [us0, us1],
    };
  }

  /** Resolves true once `cond` holds (checked every 20 ms), false after `timeoutMs`. */
  private until(cond: () => boolean, timeoutMs: number, start?: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const check = () => {
        if (cond()) resolve(true);
        else if (performance.now() - t0 > timeoutMs || this.lostConnections.length > 0) resolve(false);
        else setTimeout(check, 20);
      };
      start?.();
      check();
    });
  }

  private pump(k: number): void {
    const perPub = this.spec.topics / this.spec.publishers;
    const end = (k + 1) * perPub;
    const parts: Buffer[] = [];
    while (this.ackOut[k] < CLIENT_WINDOW && this.nextTopic[k] < end) {
      const t = this.nextTopic[k]++;
      const tpl = publishTemplate(this.topicOf(t), 1, true);
      const f = tpl.frame;
      const pid = (t % 65535) + 1;
      f[tpl.pidOffset] = pid >>> 8;
      f[tpl.pidOffset + 1] = pid & 0xff;
      f.writeUInt32LE(t, tpl.payloadOffset + P_INDEX);
      parts.push(f);
      this.ackOut[k]++;
    }
    if (parts.length > 0) this.pubs[k].write(Buffer.concat(parts));
  }

  onPublish(c: RawClient, buf: Buffer, p: number, _end: number): void {
    const t = buf.readUInt32LE(p + P_INDEX);
    if (t >= this.spec.topics || Math.floor(t / this.perSub) !== c.index) {
      this.wrongSubscriber++;
      return;
    }
    if (this.seen[t] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[t] = 1;
    this.delivered++;
  }

  onAck(c: RawClient, type: number): void {
    if (type !== PUBACK) return;
    this.acked++;
    this.ackOut[c.index]--;
    // Refill once per event-loop turn, so the acks of one chunk lead to one write.
    if (!this.refillScheduled) {
      this.refillScheduled = true;
      setImmediate(() => {
        this.refillScheduled = false;
        for (let k = 0; k < this.spec.publishers; k++) this.pump(k);
      });
    }
  }

  private refillScheduled = false;

  onLost(c: RawClient, why: string): void {
    if (this.lostConnections.length < 5) this.lostConnections.push(`${c.id}: ${why}`);
  }
}
