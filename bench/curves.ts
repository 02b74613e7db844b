/**
 * `npm run bench -- --curves [subscriptions,retained,connections,topics] [--full]`: how each broker's cost
 * grows with the work. Every point of a curve runs against a fresh broker process (pinned to CPU 0), with the
 * load made here (this process, pinned to CPU 1), for Hermod, Aedes and Mosquitto in the same run. A broker's
 * curve stops at its first point that fails a correctness check or exceeds the time budget (said so on the
 * results page). Results: bench/results/<date>-curves.{json,md} and one PNG per curve.
 *
 * Correctness while measuring: every probe subscriber gets every message once, in order (QoS 1); a retained
 * lookup delivers exactly the matching set, once.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuthKind, credentialsFor } from './auth.js';
import {
  BROKER_CPU,
  type BrokerDef,
  type Feature,
  LOADGEN_CPU,
  ROOT,
  type RunningBroker,
} from './brokers.js';
import { barChartPng } from './chart.js';
import { freePort } from './children.js';
import { firstConnack } from './connack.js';
import { type ClientSink, openMany, type RawClient } from './loadgen/client.js';
import { P_INDEX, P_SEQ, P_TIME, publishTemplate, subscribeFrame } from './loadgen/frames.js';
import { Histogram } from './loadgen/histogram.js';
import { cpuSeconds, rssBytes, threadsCpuSeconds } from './proc.js';
import type { HeapSample } from './servers/heap-probe.js';

const RESULTS = join(ROOT, 'bench', 'results');
const LOGS = join(ROOT, '.tmp', 'bench-logs');
const WINDOW = 32;
const SOURCES = 16;

export interface PointResult {
  curve: string;
  size: number;
  broker: string;
  status: 'ok' | 'failed' | 'over budget' | 'not run';
  metrics: Record<string, number>;
  problems: string[];
  notes: string[];
  seconds: number;
  /** 1-minute load average when the point started (the machine is shared). */
  load: number;
}

interface Ctx {
  port: number;
  /** How clients log in at this point. */
  auth: AuthKind;
  /** Stops the broker gracefully and starts it again on its state (curves with `needs: 'persistence'`). */
  restart(): Promise<{ stopSeconds: number; startSeconds: number }>;
  pid: number;
  broker: string;
  /** The broker's heap after a forced GC; undefined for a broker seen only through RSS (Mosquitto). */
  heap(): Promise<HeapSample | undefined>;
  problems: string[];
  notes: string[];
}

interface MetricDef {
  key: string;
  label: string;
  lowerIsBetter: boolean;
}

interface Curve {
  id: string;
  title: string;
  sizes: number[];
  fullSizes: number[];
  /** The metric the chart shows. */
  chart: string;
  metrics: MetricDef[];
  /** The login every client of this curve makes (default none). */
  auth?: AuthKind;
  /** What a broker needs for this curve; one that lacks it is "not run". */
  needs?: Feature;
  /** Node brokers start with the heap probe (--expose-gc and an IPC channel) for `ctx.heap()`. */
  heapProbe?: boolean;
  /** A metric left undefined could not be measured at this point (shown as "–"; the curve notes why). */
  run(ctx: Ctx, size: number): Promise<Record<string, number | undefined>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS bytes per item added since `rss0`, or undefined with a note when RSS fell meanwhile: a garbage
 * collection then gave back more than the items took, and the difference says nothing about them (the bcrypt
 * connections curve printed -38 261 bytes per connection at N = 1 000, 2026-12-04).
 */
function rssPerItem(ctx: Ctx, rss0: number, items: number, what: string): number | undefined {
  const grew = rssBytes(ctx.pid) - rss0;
  if (grew > 0) return grew / items;
  ctx.notes.push(
    `RSS fell by ${(-grew / 2 ** 20).toFixed(1)} MB while ${items.toLocaleString('en-US')} ${what}s were added ` +
      `(a garbage collection gave back more than they took): bytes per ${what} not measurable`,
  );
  return undefined;
}

/**
 * V8 heap and external bytes per item between two samples taken after forced GCs (Node brokers). Unlike RSS
 * this counts what the items keep alive, not the free heap V8 happened to hold before the step.
 */
function heapPerItem(
  h0: HeapSample | undefined,
  h1: HeapSample | undefined,
  items: number,
): { heap: number | undefined; external: number | undefined } {
  if (h0 === undefined || h1 === undefined) return { heap: undefined, external: undefined };
  return { heap: (h1.heapUsed - h0.heapUsed) / items, external: (h1.external - h0.external) / items };
}

const none: ClientSink = { onPublish() {}, onAck() {}, onLost() {} };

function open(
  ctx: Ctx,
  n: number,
  prefix: string,
  sink: ClientSink = none,
  keepalive = 300,
): Promise<RawClient[]> {
  return openMany(
    n,
    Math.min(256, n),
    (i) => ({
      host: '127.0.0.1',
      port: ctx.port,
      clientId: `${prefix}-${i}`,
      credentials: credentialsFor(ctx.auth, `${prefix}-${i}`),
      keepalive,
      localAddress: `127.0.0.${2 + (i % SOURCES)}`,
    }),
    sink,
  );
}

/**
 * Publishes `total` QoS 1 messages from one client with at most WINDOW unacknowledged, optionally paced at
 * `rate` messages/s. Paced messages leave one at a time when due (a setImmediate loop, as the load
 * generator's Pacer): an earlier 5 ms timer sent up to WINDOW at once and only on its tick, so the "10 000
 * msgs/s" of the topics curve was at most 32 per 5 ms (6 400/s) in bursts of 32, and its p99 was mostly the
 * wait of a burst's last message behind the 31 before it.
 */
class Flow implements ClientSink {
  sent = 0;
  acked = 0;
  private done: (() => void) | undefined;
  private fail: ((err: Error) => void) | undefined;
  private t0 = 0;
  private finished = false;

  constructor(
    private readonly client: RawClient,
    private readonly total: number,
    /** The frame of message `i` with packet id `pid`, stamped `sentAt` (performance.now() ms). */
    private readonly frameFor: (i: number, pid: number, sentAt: number) => Buffer,
    private readonly rate?: number,
  ) {
    client.sink = this;
  }

  run(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.done = resolve;
      this.fail = reject;
      this.t0 = performance.now();
      if (this.total === 0) {
        this.finished = true;
        resolve();
        return;
      }
      if (this.rate !== undefined) {
        const tick = () => {
          if (this.finished) return;
          this.pump();
          if (this.sent < this.total) setImmediate(tick);
        };
        setImmediate(tick);
      } else this.pump();
    });
  }

  private pump(): void {
    const due =
      this.rate === undefined
        ? this.total
        : Math.min(this.total, ((performance.now() - this.t0) / 1000) * this.rate);
    while (this.sent < due && this.sent - this.acked < WINDOW) {
      const i = this.sent++;
      // Paced messages carry the time they were due, not the time they left: a broker that holds the
      // publisher back (slow PUBACKs keep the window full) delays messages before they are sent, and
      // stamping the send time would leave that wait out of its latency (coordinated omission).
      const sentAt = this.rate === undefined ? performance.now() : this.t0 + (i * 1000) / this.rate;
      this.client.write(this.frameFor(i, (i % 65535) + 1, sentAt));
    }
  }

  onAck(): void {
    this.acked++;
    if (this.acked === this.total) {
      this.finished = true;
      this.done?.();
    } else this.pump();
  }

  onPublish(): void {}
  onLost(_c: RawClient, why: string): void {
    this.finished = true;
    this.fail?.(new Error(`publisher: ${why}`));
  }
}

/** A frame maker for a QoS 1 PUBLISH to `topicOf(i)` carrying (index, seq = firstSeq + i, send time). */
function publishFrames(
  topicOf: (i: number) => string,
  retain = false,
  indexOf = (i: number) => i,
  firstSeq = 0,
) {
  const cache = new Map<string, ReturnType<typeof publishTemplate>>();
  return (i: number, pid: number, sentAt: number): Buffer => {
    const topic = topicOf(i);
    let t = cache.get(topic);
    if (t === undefined) {
      t = publishTemplate(topic, 1, retain);
      if (cache.size < 10_000) cache.set(topic, t);
    }
    const f = Buffer.from(t.frame);
    f.writeUInt16BE(pid, t.pidOffset);
    f.writeUInt32LE(indexOf(i), t.payloadOffset + P_INDEX);
    f.writeUInt32LE(firstSeq + i, t.payloadOffset + P_SEQ);
    f.writeDoubleLE(sentAt, t.payloadOffset + P_TIME);
    return f;
  };
}

/** Checks that each subscriber gets seq 0, 1, 2, … exactly once in order, and records latency. */
class InOrder implements ClientSink {
  readonly next: number[];
  errors = 0;
  received = 0;
  /** Latency of what arrived since the last `measureFromHere()`. */
  latency = new Histogram();
  private waiters: Array<[number, () => void]> = [];

  constructor(subscribers: number) {
    this.next = new Array(subscribers).fill(0);
  }

  onPublish(
    c: RawClient,
    buf: Buffer,
    payload: number,
    _end: number,
    _q: number,
    _d: boolean,
    now: number,
  ): void {
    const seq = buf.readUInt32LE(payload + P_SEQ);
    if (seq !== this.next[c.index]) this.errors++;
    this.next[c.index] = seq + 1;
    this.received++;
    this.latency.record((now - buf.readDoubleLE(payload + P_TIME)) * 1000);
    for (let k = this.waiters.length - 1; k >= 0; k--) {
      if (this.received >= this.waiters[k][0]) {
        this.waiters[k][1]();
        this.waiters.splice(k, 1);
      }
    }
  }

  /** Forgets the latency recorded so far (a warm-up's), keeping the order check going. */
  measureFromHere(): void {
    this.latency = new Histogram();
  }

  /** Resolves once `n` messages arrived in all, or after `ms`. */
  until(n: number, ms: number): Promise<void> {
    if (this.received >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push([
        n,
        () => {
          clearTimeout(t);
          resolve();
        },
      ]);
    });
  }

  onAck(): void {}
  onLost(): void {
    this.errors++;
  }
}

/** Client `ci`'s `per` filters of the subscriptions curve: a quarter each exact, `+` inside, `+` first, `#`. */
export function mixedFilters(ci: number, per: number): string[] {
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

/** Subscribes `filters` in SUBSCRIBE packets of `perPacket` filters, one packet at a time per client. */
export async function subscribeAll(c: RawClient, filters: string[], perPacket = 100): Promise<void> {
  for (let k = 0, pid = 1; k < filters.length; k += perPacket, pid++) {
    const codes = await c.subscribe(filters.slice(k, k + perPacket), 1, (pid % 65535) + 1);
    if (codes.some((x) => x >= 0x80)) throw new Error(`SUBSCRIBE refused (${codes.find((x) => x >= 0x80)})`);
  }
}

// ------------------------------------------------------------------------------------ the curves

/** The subscriptions curve's latency phase: publishes/s (10 deliveries each) and how long. */
const PROBE_RATE = 1_000;
const PROBE_SECONDS = 3;

/**
 * Subscriptions spread over max(10, N/1000) clients, a quarter each of `bg/c/k`, `bg/c/+/k`, `+/c/k` and
 * `bg/c/k/#`; then 10 probe subscribers (5 × `probe/x`, 5 × `probe/+`) and one publisher sending 10 000
 * QoS 1 messages to `probe/x` as fast as the window allows (the CPU cost per publish), then PROBE_RATE/s for
 * PROBE_SECONDS (the latency): the topic matches 10 subscriptions at every size. Last, N more filters from as
 * many new clients: the CPU per filter of a broker whose SUBSCRIBE path is already compiled.
 */
const subscriptions: Curve = {
  id: 'subscriptions',
  title: 'Subscriptions: N filters, then publishes to a topic matching 10 of them',
  sizes: [1_000, 10_000, 100_000],
  fullSizes: [1_000, 10_000, 100_000, 1_000_000],
  chart: 'cpuPerPublish',
  heapProbe: true,
  metrics: [
    { key: 'subscribeRate', label: 'SUBSCRIBE filters/s', lowerIsBetter: false },
    // The phase lasts a few ms at 1 000 filters: wall clock there says more about the machine's load than
    // the broker, so its CPU (thread run time in ns, not 10 ms ticks) is reported too.
    { key: 'cpuPerFilter', label: 'broker CPU µs per SUBSCRIBE filter', lowerIsBetter: true },
    // A long-running broker has long since compiled its SUBSCRIBE path; a fresh Node process compiles it
    // during the first round (TurboFan on V8's worker threads was ~60 % of the CPU per filter at 1 000 filters,
    // callgrind 2026-12-05). The first column stays what a fresh broker costs; this one what a warm one does.
    {
      key: 'cpuPerFilterWarm',
      label: 'broker CPU µs per SUBSCRIBE filter, second round of N on the same broker',
      lowerIsBetter: true,
    },
    { key: 'bytesPerSub', label: 'RSS bytes per subscription', lowerIsBetter: true },
    { key: 'heapPerSub', label: 'V8 heap bytes per subscription (after GC)', lowerIsBetter: true },
    { key: 'externalPerSub', label: 'external bytes per subscription (after GC)', lowerIsBetter: true },
    { key: 'cpuPerPublish', label: 'broker CPU µs per publish (match + 10 deliveries)', lowerIsBetter: true },
    {
      key: 'p99',
      label: `publish → delivery p99 ms at ${PROBE_RATE.toLocaleString('en-US')} publishes/s`,
      lowerIsBetter: true,
    },
  ],
  async run(ctx, n) {
    const clients = Math.max(10, Math.round(n / 1000));
    const per = Math.round(n / clients);
    const subs = await open(ctx, clients, 'sub');
    // The heap first: its forced GC must not shrink RSS between rss0 and the step.
    const heap0 = await ctx.heap();
    const rss0 = rssBytes(ctx.pid);
    const subCpu0 = threadsCpuSeconds(ctx.pid);
    const t0 = performance.now();
    await Promise.all(subs.map((c, ci) => subscribeAll(c, mixedFilters(ci, per))));
    const subscribeRate = (clients * per) / ((performance.now() - t0) / 1000);
    const cpuPerFilter = ((threadsCpuSeconds(ctx.pid) - subCpu0) * 1e6) / (clients * per);
    await sleep(1000);
    const bytesPerSub = rssPerItem(ctx, rss0, clients * per, 'subscription');
    const perSub = heapPerItem(heap0, await ctx.heap(), clients * per);
    const check = new InOrder(10);
    const probes = await open(ctx, 10, 'probe', check);
    for (const [i, p] of probes.entries()) {
      p.index = i;
      await subscribeAll(p, [i < 5 ? 'probe/x' : 'probe/+']);
    }
    const [pub] = await open(ctx, 1, 'pub');
    const total = 10_000;
    const cpu0 = cpuSeconds(ctx.pid);
    await new Flow(
      pub,
      total,
      publishFrames(() => 'probe/x'),
    ).run();
    await check.until(total * 10, 30_000);
    const cpuPerPublish = ((cpuSeconds(ctx.pid) - cpu0) * 1e6) / total;
    // Latency comes from a second phase at a fixed rate, after the burst above warmed the broker up. The
    // burst itself keeps only PUBACKs within the window, not deliveries: a broker that acknowledges faster
    // than the loader (this process) reads 100 000 deliveries piles them up in the sockets, so its p99 was
    // the loader's backlog (34–55 ms for Hermod at 28 µs per publish against 2–15 ms for Mosquitto at
    // 78 µs, 2026-12-04), not the broker's delay.
    check.measureFromHere();
    const paced = PROBE_RATE * PROBE_SECONDS;
    await new Flow(
      pub,
      paced,
      publishFrames(
        () => 'probe/x',
        false,
        (i) => i,
        total,
      ),
      PROBE_RATE,
    ).run();
    await check.until((total + paced) * 10, 30_000);
    if (check.received !== (total + paced) * 10 || check.errors > 0) {
      ctx.problems.push(
        `probe subscribers got ${check.received} of ${(total + paced) * 10} deliveries, ${check.errors} out of order or repeated`,
      );
    }
    // The warm round: N more filters from as many new clients, after everything above was measured.
    const again = await open(ctx, clients, 'sub2');
    const warmCpu0 = threadsCpuSeconds(ctx.pid);
    await Promise.all(again.map((c, ci) => subscribeAll(c, mixedFilters(clients + ci, per))));
    const cpuPerFilterWarm = ((threadsCpuSeconds(ctx.pid) - warmCpu0) * 1e6) / (clients * per);
    for (const c of [...subs, ...probes, pub, ...again]) c.reset();
    return {
      subscribeRate,
      cpuPerFilter,
      cpuPerFilterWarm,
      bytesPerSub,
      heapPerSub: perSub.heap,
      externalPerSub: perSub.external,
      cpuPerPublish,
      p99: check.latency.summary().p99,
    };
  },
};

/** Checks a retained lookup: each index of `expected` arrives once, nothing else. */
class RetainedSet implements ClientSink {
  seen: Uint8Array;
  got = 0;
  wrong = 0;
  private want = 0;
  private done: (() => void) | undefined;

  constructor(
    size: number,
    private readonly expected: (i: number) => boolean,
  ) {
    this.seen = new Uint8Array(size);
  }

  wait(want: number, ms: number): Promise<boolean> {
    this.want = want;
    if (this.got >= want) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.done = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
  }

  onPublish(_c: RawClient, buf: Buffer, payload: number): void {
    const i = buf.readUInt32LE(payload + P_INDEX);
    if (i >= this.seen.length || !this.expected(i) || this.seen[i] !== 0) this.wrong++;
    else this.seen[i] = 1;
    this.got++;
    if (this.got >= this.want) this.done?.();
  }
  onAck(): void {}
  onLost(): void {
    this.wrong++;
  }
}

/** Stores N retained topics `ret/<g>/<k>` (g = i / 100, k = i % 100) from 10 QoS 1 publishers. */
async function storeRetained(ctx: Ctx, n: number): Promise<{ storeRate: number; pubs: RawClient[] }> {
  const pubs = await open(ctx, 10, 'rpub');
  const t0 = performance.now();
  const share = Math.ceil(n / 10);
  await Promise.all(
    pubs.map((p, j) => {
      const count = Math.max(0, Math.min(share, n - j * share));
      const idx = (i: number) => j * share + i;
      const frames = publishFrames((i) => `ret/${Math.floor(idx(i) / 100)}/${idx(i) % 100}`, true, idx);
      return new Flow(p, count, frames).run();
    }),
  );
  return { storeRate: n / ((performance.now() - t0) / 1000), pubs };
}

/** Subscribes `filter` from a new client; ms until the `count` expected retained messages arrived (checked). */
async function retainedLookup(
  ctx: Ctx,
  n: number,
  filter: string,
  expect: (i: number) => boolean,
  count: number,
): Promise<number> {
  const check = new RetainedSet(n, expect);
  const [c] = await open(ctx, 1, `look-${filter.replaceAll('/', '_')}`, check);
  const t = performance.now();
  c.write(subscribeFrame(1, [filter], 1));
  const ok = await check.wait(count, 120_000);
  const ms = performance.now() - t;
  await sleep(50);
  if (!ok || check.got !== count || check.wrong > 0)
    ctx.problems.push(
      `${filter}: ${check.got} of ${count} retained messages, ${check.wrong} wrong or repeated`,
    );
  c.reset();
  return ms;
}

/**
 * N retained topics `ret/<g>/<k>` (g = i / 100, k = i % 100) stored by 10 QoS 1 publishers; then lookups:
 * `ret/<g>/+` (100 matches at every size, 20 different g), `ret/+/7` (N/100 matches) and `ret/#` (all N).
 */
const retained: Curve = {
  id: 'retained',
  title: 'Retained: N retained topics, then wildcard subscribers',
  sizes: [10_000, 100_000],
  fullSizes: [10_000, 100_000, 1_000_000],
  chart: 'msPer100',
  heapProbe: true,
  metrics: [
    { key: 'storeRate', label: 'retained PUBLISH/s stored', lowerIsBetter: false },
    { key: 'bytesPerRetained', label: 'RSS bytes per retained message (64 B payload)', lowerIsBetter: true },
    { key: 'heapPerRetained', label: 'V8 heap bytes per retained message (after GC)', lowerIsBetter: true },
    {
      key: 'externalPerRetained',
      label: 'external bytes per retained message (after GC)',
      lowerIsBetter: true,
    },
    { key: 'msPer100', label: 'ms until ret/g/+ (100 matches) delivered', lowerIsBetter: true },
    { key: 'msColumn', label: 'ms until ret/+/7 (N/100 matches) delivered', lowerIsBetter: true },
    { key: 'secondsAll', label: 's until ret/# (all N) delivered', lowerIsBetter: true },
    { key: 'cpuPerDelivery', label: 'broker CPU µs per ret/# delivery', lowerIsBetter: true },
  ],
  async run(ctx, n) {
    const heap0 = await ctx.heap();
    const rss0 = rssBytes(ctx.pid);
    const { storeRate, pubs } = await storeRetained(ctx, n);
    await sleep(1000);
    const bytesPerRetained = rssPerItem(ctx, rss0, n, 'retained message');
    // The 10 publishers' connections are counted in too: 10 against N ≥ 10 000 messages.
    const perRetained = heapPerItem(heap0, await ctx.heap(), n);
    const lookup = (filter: string, expect: (i: number) => boolean, count: number) =>
      retainedLookup(ctx, n, filter, expect, count);
    let sum = 0;
    const groups = n / 100;
    for (let k = 0; k < 20; k++) {
      const g = Math.floor((k * groups) / 20);
      sum += await lookup(`ret/${g}/+`, (i) => Math.floor(i / 100) === g, 100);
    }
    const msColumn = await lookup('ret/+/7', (i) => i % 100 === 7, n / 100);
    const allCpu0 = threadsCpuSeconds(ctx.pid);
    const secondsAll = (await lookup('ret/#', () => true, n)) / 1000;
    // Wall time above also counts the loader reading N deliveries on a shared machine; the broker's own CPU
    // per delivery does not.
    const cpuPerDelivery = ((threadsCpuSeconds(ctx.pid) - allCpu0) * 1e6) / n;
    for (const p of pubs) p.reset();
    return {
      storeRate,
      bytesPerRetained,
      heapPerRetained: perRetained.heap,
      externalPerRetained: perRetained.external,
      msPer100: sum / 20,
      msColumn,
      secondsAll,
      cpuPerDelivery,
    };
  },
};

/**
 * N retained topics stored with the broker's state on disk, then a graceful stop and a start on that state:
 * seconds until the broker accepts a client again (its first CONNACK), and until a `ret/#` subscriber has
 * all N back.
 */
const retainedRestart: Curve = {
  id: 'retained-restart',
  title: 'Retained restart: N retained topics on disk, stop, start',
  sizes: [10_000, 100_000],
  fullSizes: [10_000, 100_000, 1_000_000],
  chart: 'startSeconds',
  needs: 'persistence',
  metrics: [
    { key: 'storeRate', label: 'retained PUBLISH/s stored (persisting)', lowerIsBetter: false },
    { key: 'stopSeconds', label: 's to stop (state saved)', lowerIsBetter: true },
    { key: 'startSeconds', label: 's from start until the first CONNACK', lowerIsBetter: true },
    { key: 'secondsAll', label: 's until ret/# (all N) delivered after the start', lowerIsBetter: true },
  ],
  async run(ctx, n) {
    const { storeRate, pubs } = await storeRetained(ctx, n);
    for (const p of pubs) p.reset();
    // Periodic durability commits within its checkpoint interval; the stop itself must save the rest.
    await sleep(1500);
    const { stopSeconds, startSeconds } = await ctx.restart();
    const secondsAll = (await retainedLookup(ctx, n, 'ret/#', () => true, n)) / 1000;
    return { storeRate, stopSeconds, startSeconds, secondsAll };
  },
};

/**
 * N idle connections opened 256 at a time, each logging in as `auth` says (anonymous by default); then every
 * client sends one PINGREQ, spread over 5 s: the cost of a keepalive-only fleet.
 */
function connectionsCurve(auth: AuthKind, sizes: number[], fullSizes: number[]): Curve {
  const login =
    auth === 'none'
      ? ''
      : auth === 'jwt'
        ? ', JWT (HS256) login'
        : `, ${auth} login against the built-in user store`;
  return {
    id: auth === 'none' ? 'connections' : `connections-${auth}`,
    title: `Connections: N idle clients${login}, then one PINGREQ each over 5 s`,
    sizes,
    fullSizes,
    chart: 'connRate',
    auth,
    ...(auth === 'none' ? {} : { needs: auth }),
    metrics: [
      { key: 'connRate', label: 'CONNECT/s (256 handshakes in flight)', lowerIsBetter: false },
      // CPU time moves less than the rate when other jobs share the machine (the rate also waits on them).
      { key: 'cpuPerConnect', label: 'broker CPU µs per CONNECT', lowerIsBetter: true },
      { key: 'bytesPerConn', label: 'RSS bytes per idle connection', lowerIsBetter: true },
      { key: 'cpuPerPing', label: 'broker CPU µs per PINGREQ', lowerIsBetter: true },
    ],
    async run(ctx, n) {
      const rss0 = rssBytes(ctx.pid);
      const connectCpu0 = cpuSeconds(ctx.pid);
      const t0 = performance.now();
      let lost = 0;
      const clients = await open(
        ctx,
        n,
        'idle',
        { onPublish() {}, onAck() {}, onLost: () => void lost++ },
        60,
      );
      const connRate = n / ((performance.now() - t0) / 1000);
      const cpuPerConnect = ((cpuSeconds(ctx.pid) - connectCpu0) * 1e6) / n;
      await sleep(2000);
      const bytesPerConn = rssPerItem(ctx, rss0, n, 'connection');
      const ping = Buffer.from([0xc0, 0]);
      const cpu0 = cpuSeconds(ctx.pid);
      const steps = 50;
      for (let s = 0; s < steps; s++) {
        for (let i = s; i < n; i += steps) clients[i].write(ping);
        await sleep(100);
      }
      await sleep(500);
      const cpuPerPing = ((cpuSeconds(ctx.pid) - cpu0) * 1e6) / n;
      if (lost > 0) ctx.problems.push(`${lost} idle connections closed by the broker`);
      for (const c of clients) c.reset();
      return { connRate, cpuPerConnect, bytesPerConn, cpuPerPing };
    },
  };
}

const FLEET = [1_000, 5_000, 10_000, 19_000];
const connections = connectionsCurve('none', FLEET, FLEET);
const connectionsPbkdf2 = connectionsCurve('pbkdf2', FLEET, FLEET);
const connectionsJwt = connectionsCurve('jwt', FLEET, FLEET);
// bcrypt is slow by design (cost 10: tens of ms per check): its points are smaller to fit the time budget.
const connectionsBcrypt = connectionsCurve('bcrypt', [200, 1_000], [200, 1_000, 5_000]);

/**
 * N distinct topics `t/<i mod N>` published round-robin at 10 000 msgs/s (QoS 1) to one `t/#` subscriber,
 * for max(5 s, N / 10 000 s) so every topic is used.
 */
const topics: Curve = {
  id: 'topics',
  title: 'Topics: N distinct topics round-robin at 10 000 msgs/s into t/#',
  sizes: [1_000, 10_000, 100_000],
  fullSizes: [1_000, 10_000, 100_000, 1_000_000],
  chart: 'p99',
  metrics: [
    { key: 'p99', label: 'publish → delivery p99 ms', lowerIsBetter: true },
    { key: 'cpuPerMessage', label: 'broker CPU µs per message', lowerIsBetter: true },
    { key: 'rssGrowthMB', label: 'broker RSS growth MB', lowerIsBetter: true },
  ],
  async run(ctx, n) {
    const rate = 10_000;
    const total = Math.max(5 * rate, n);
    const check = new InOrder(1);
    const [sub] = await open(ctx, 1, 'tsub', check);
    await subscribeAll(sub, ['t/#']);
    const [pub] = await open(ctx, 1, 'tpub');
    // One second of the same traffic on other topics first (t/w/<k>, not counted among the N): a fresh Node
    // broker runs its first second of messages in unoptimised code (Hermod's main thread: 36–62 µs per
    // message in the first 500 ms, 12–15 once optimised, 2026-12-04), which made up much of a 5 s run's p99.
    const warmup = rate;
    await new Flow(
      pub,
      warmup,
      publishFrames((i) => `t/w/${i % 1000}`),
      rate,
    ).run();
    await check.until(warmup, 30_000);
    check.measureFromHere();
    const rss0 = rssBytes(ctx.pid);
    const cpu0 = cpuSeconds(ctx.pid);
    const t0 = performance.now();
    await new Flow(
      pub,
      total,
      publishFrames(
        (i) => `t/${i % n}`,
        false,
        (i) => i,
        warmup,
      ),
      rate,
    ).run();
    await check.until(warmup + total, 30_000);
    const seconds = (performance.now() - t0) / 1000;
    if (seconds > (total / rate) * 1.2)
      ctx.notes.push(`paced ${total} messages took ${seconds.toFixed(1)} s (behind the rate)`);
    const cpuPerMessage = ((cpuSeconds(ctx.pid) - cpu0) * 1e6) / total;
    const rssGrowthMB = (rssBytes(ctx.pid) - rss0) / 2 ** 20;
    if (check.received !== warmup + total || check.errors > 0)
      ctx.problems.push(
        `subscriber got ${check.received} of ${warmup + total}, ${check.errors} out of order or repeated`,
      );
    sub.reset();
    pub.reset();
    return { p99: check.latency.summary().p99, cpuPerMessage, rssGrowthMB };
  },
};

export const CURVES: Curve[] = [
  subscriptions,
  retained,
  retainedRestart,
  connections,
  connectionsPbkdf2,
  connectionsBcrypt,
  connectionsJwt,
  topics,
];

// ------------------------------------------------------------------------------------ running and reporting

function loadAverage(): number {
  return Number(spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ')[0]);
}

/**
 * Waits until the broker is idle after its start (under 5 ms of CPU, all threads, in 200 ms; at most 10 s).
 * A fresh Hermod finishes the major GC of its start-up heap (~53 MB, 31 MB live) after it accepts
 * connections: incremental marking steps of up to 32-112 ms on a busy machine (--trace-gc, 2026-12-04)
 * landed in the first phase a point measures (the SUBSCRIBE rate, the CONNECT rate, the topics warm-up).
 * Start-up work is no part of what the curves measure; Mosquitto is idle at once.
 */
async function settled(pid: number): Promise<boolean> {
  const deadline = performance.now() + 10_000;
  let last = threadsCpuSeconds(pid);
  while (performance.now() < deadline) {
    await sleep(200);
    const now = threadsCpuSeconds(pid);
    if (now - last < 0.005) return true;
    last = now;
  }
  return false;
}

async function runPoint(b: BrokerDef, curve: Curve, size: number, budgetS: number): Promise<PointResult> {
  const port = await freePort();
  const logFile = join(LOGS, `${b.name}-curve-${curve.id}-${size}.log`);
  const load = loadAverage();
  // BENCH_CURVE_PROFILE=1: Hermod runs under --cpu-prof (bench/results/hermod-curve-<id>-<N>.cpuprofile,
  // summarised by `node dist/bench/profile.js <file>`); the figures of such a run are not results.
  const cpuProf =
    process.env.BENCH_CURVE_PROFILE === '1' && b.name === 'hermod'
      ? { dir: RESULTS, name: `hermod-curve-${curve.id}-${size}.cpuprofile` }
      : undefined;
  const auth = curve.auth ?? 'none';
  const dataDir =
    curve.needs === 'persistence' ? mkdtempSync(join(tmpdir(), 'hermod-curve-state-')) : undefined;
  const heapProbe = curve.heapProbe === true;
  let broker = await b.start({ port, logFile, cpuProf, auth, dataDir, heapProbe });
  let exited: number | null | undefined;
  const stoppedOnPurpose = new Set<RunningBroker>();
  const watch = (running: RunningBroker) =>
    void running.exited.then((c) => {
      if (!stoppedOnPurpose.has(running)) exited = c;
    });
  watch(broker);
  const quiet = await settled(broker.pid);
  const ctx: Ctx = {
    port,
    auth,
    pid: broker.pid,
    broker: b.name,
    heap: () => broker.heap?.() ?? Promise.resolve(undefined),
    problems: [],
    notes: quiet ? [] : ['the broker was still busy 10 s after it started listening'],
    async restart() {
      const t = performance.now();
      stoppedOnPurpose.add(broker);
      await broker.stop();
      const stopSeconds = (performance.now() - t) / 1000;
      const t1 = performance.now();
      // A log of its own: the first start's "listening" line must not count for the second.
      const starting = b.start({ port, logFile: `${logFile}.restart`, auth, dataDir, heapProbe });
      // Until the first client is accepted (its CONNACK), for every broker alike: a restarting fleet
      // reconnects then. The curve still waits for the broker's own start to end before it goes on.
      const accepted = firstConnack(port, t1, 60_000);
      accepted.catch(() => undefined); // a start that fails throws from `starting` below
      broker = await starting;
      const startSeconds = (await accepted).connack / 1000;
      watch(broker);
      ctx.pid = broker.pid;
      return { stopSeconds, startSeconds };
    },
  };
  const t0 = performance.now();
  const metrics: Record<string, number> = {};
  let over = false;
  try {
    const budget = new Promise<'budget'>((r) => setTimeout(() => r('budget'), budgetS * 1000).unref());
    const r = await Promise.race([curve.run(ctx, size), budget]);
    if (r === 'budget') over = true;
    else for (const [k, v] of Object.entries(r)) if (v !== undefined) metrics[k] = v;
  } catch (err) {
    ctx.problems.push((err as Error).message);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (exited !== undefined) ctx.problems.push(`broker exited (code ${exited}); see ${logFile}`);
  await broker.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  return {
    curve: curve.id,
    size,
    broker: b.name,
    status: over ? 'over budget' : ctx.problems.length > 0 ? 'failed' : 'ok',
    metrics,
    problems: over ? [`did not finish within the ${budgetS} s budget`, ...ctx.problems] : ctx.problems,
    notes: ctx.notes,
    seconds,
    load,
  };
}

const fmt = (v: number | undefined): string =>
  v === undefined
    ? '–'
    : v >= 100
      ? Math.round(v).toLocaleString('en-US')
      : v >= 1
        ? v.toFixed(2)
        : v.toFixed(3);

function renderMd(results: PointResult[], brokers: BrokerDef[], command: string, seconds: number): string {
  const out: string[] = [
    `# Hermod benchmark curves — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `\`${command}\` (${(seconds / 60).toFixed(1)} min). Every point against a fresh broker process pinned to CPU ${BROKER_CPU}; ` +
      `the load from one process pinned to CPU ${LOADGEN_CPU}. Broker settings as on the main results page (bench/brokers.ts). ` +
      `Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}; shared with other jobs, so each ` +
      'point carries the 1-minute load average when it started. Compare brokers within one point, not across runs.',
    '',
    'A broker’s curve stops at its first point that fails (a correctness check or an error) or exceeds the time ' +
      'budget; the larger points are then “not run” for it.',
  ];
  for (const curve of CURVES) {
    const rows = results.filter((r) => r.curve === curve.id);
    if (rows.length === 0) continue;
    out.push('', `## ${curve.title}`, '', `![${curve.id}](${chartName(curve)})`, '');
    out.push(
      `| N | broker | status | ${curve.metrics.map((m) => m.label).join(' | ')} | load | s |`,
      `|---:|---|---|${curve.metrics.map(() => '---:').join('|')}|---:|---:|`,
    );
    const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
    for (const size of sizes) {
      for (const b of brokers) {
        const r = rows.find((x) => x.size === size && x.broker === b.name);
        if (r === undefined) continue;
        out.push(
          `| ${size.toLocaleString('en-US')} | ${b.label} | ${r.status} | ${curve.metrics.map((m) => fmt(r.metrics[m.key])).join(' | ')} | ${r.load.toFixed(2)} | ${r.seconds.toFixed(1)} |`,
        );
      }
    }
    const ratios: string[] = [];
    for (const size of sizes) {
      const h = rows.find((r) => r.size === size && r.broker === 'hermod');
      const m = rows.find((r) => r.size === size && r.broker === 'mosquitto');
      if (h?.status !== 'ok' || m?.status !== 'ok') continue;
      const parts = curve.metrics
        .filter((d) => h.metrics[d.key] !== undefined && m.metrics[d.key] !== undefined)
        .map((d) => {
          const x = d.lowerIsBetter
            ? m.metrics[d.key] / h.metrics[d.key]
            : h.metrics[d.key] / m.metrics[d.key];
          return `${d.key} ${x.toFixed(2)}×`;
        });
      ratios.push(
        `- N = ${size.toLocaleString('en-US')}: Hermod vs Mosquitto (> 1 = Hermod better): ${parts.join(', ')}`,
      );
    }
    if (ratios.length > 0) out.push('', ...ratios);
    const issues = rows.filter((r) => r.problems.length > 0 || r.notes.length > 0);
    if (issues.length > 0) out.push('');
    for (const r of issues)
      out.push(
        `- ${r.broker} N = ${r.size.toLocaleString('en-US')}: ${[...r.problems, ...r.notes].join('; ')}`,
      );
  }
  return `${out.join('\n')}\n`;
}

function chartName(curve: Curve): string {
  return `${new Date().toISOString().slice(0, 10)}-curve-${curve.id}.png`;
}

export function writeCurveChart(curve: Curve, results: PointResult[], brokers: BrokerDef[]): void {
  const rows = results.filter((r) => r.curve === curve.id);
  if (rows.length === 0) return;
  const def = curve.metrics.find((m) => m.key === curve.chart)!;
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const compactN = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}K` : String(n));
  const png = barChartPng({
    title: `Curve: ${curve.id}`,
    unit: `${def.label} (${def.lowerIsBetter ? 'lower' : 'higher'} is better)`,
    brokers: brokers.map((b) => ({ name: b.name, label: b.label })),
    groups: sizes.map((size) => ({
      label: `N=${compactN(size)}`,
      bars: Object.fromEntries(
        brokers.map((b) => {
          const r = rows.find((x) => x.size === size && x.broker === b.name);
          if (r === undefined) return [b.name, undefined];
          const v = r.metrics[curve.chart];
          return [
            b.name,
            r.status === 'ok' && v !== undefined ? { value: v } : { tag: r.status.toUpperCase() },
          ];
        }),
      ),
    })),
  });
  writeFileSync(join(RESULTS, chartName(curve)), png);
}

export interface CurveOptions {
  curves: string[];
  brokers: BrokerDef[];
  full: boolean;
  /** Seconds one point may take. */
  budget: number;
  save: boolean;
}

export async function runCurves(o: CurveOptions): Promise<void> {
  mkdirSync(LOGS, { recursive: true });
  const selected = o.curves.length === 0 ? CURVES : CURVES.filter((c) => o.curves.includes(c.id));
  const unknown = o.curves.filter((id) => !CURVES.some((c) => c.id === id));
  if (unknown.length > 0)
    throw new Error(`unknown curve ${unknown.join(', ')}; known: ${CURVES.map((c) => c.id).join(', ')}`);
  const started = performance.now();
  const results: PointResult[] = [];
  for (const curve of selected) {
    const stopped = new Set<string>();
    for (const size of o.full ? curve.fullSizes : curve.sizes) {
      for (const b of o.brokers) {
        const lacking = curve.needs !== undefined && b.lacks.has(curve.needs);
        if (stopped.has(b.name) || lacking) {
          results.push({
            curve: curve.id,
            size,
            broker: b.name,
            status: 'not run',
            metrics: {},
            problems: [],
            notes: [lacking ? `lacks ${curve.needs}` : 'stopped at a smaller point'],
            seconds: 0,
            load: loadAverage(),
          });
          continue;
        }
        console.log(`curve ${curve.id} N=${size} — ${b.label}`);
        const r = await runPoint(b, curve, size, o.budget);
        results.push(r);
        if (r.status !== 'ok') stopped.add(b.name);
        const ms = curve.metrics.map((m) => `${m.key} ${fmt(r.metrics[m.key])}`).join(', ');
        console.log(
          `  ${r.status} | ${ms} | ${r.seconds.toFixed(1)} s, load ${r.load.toFixed(2)}${r.problems.length > 0 ? ` — ${r.problems.join('; ')}` : ''}`,
        );
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ncurves took ${(seconds / 60).toFixed(1)} min`);
  if (!o.save) return;
  mkdirSync(RESULTS, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`;
  writeFileSync(
    join(RESULTS, `${day}-curves.json`),
    `${JSON.stringify({ generated: new Date().toISOString(), command, seconds, results }, null, 2)}\n`,
  );
  writeFileSync(join(RESULTS, `${day}-curves.md`), renderMd(results, o.brokers, command, seconds));
  for (const curve of selected) writeCurveChart(curve, results, o.brokers);
  console.log(`wrote bench/results/${day}-curves.md, .json and ${selected.length} charts`);
}
