/**
 * The dashboard's time series (EMQX `/monitor`, `/monitor_current`): every `dashboard.sample_interval`
 * (aligned to the wall clock, so samples land on :00, :10, …) it reads the broker's existing gauges and
 * counters, and keeps gauges as they were and counters as the increase since the previous sample. Nothing
 * on the message path changes: a sample is a handful of property reads on a timer.
 *
 * Samples live in memory for seven days at falling resolution (EMQX's tiers: 10 s for the last hour, 1 min
 * for the last day, 5 min up to three days, 10 min up to seven), so the buffer stays a few thousand entries.
 * With a MonitorHistory they also survive a restart.
 */

import { logger } from '../log.js';
import type { MonitorHistory, MonitorPoint } from './monitor-store.js';

/** Gauges: the value at the moment of sampling. */
export const GAUGE_NAMES = [
  'connections',
  'live_connections',
  'subscriptions',
  'topics',
  'disconnected_durable_sessions',
  'subscriptions_durable',
] as const;
/** Counters: a sample holds how much each grew since the previous sample. */
export const DELTA_NAMES = ['received', 'sent', 'dropped', 'persisted'] as const;

export type GaugeName = (typeof GAUGE_NAMES)[number];
export type DeltaName = (typeof DELTA_NAMES)[number];

/** Per-second rate reported by /monitor_current for each counter. */
export const RATE_NAME: Record<DeltaName, string> = {
  received: 'received_msg_rate',
  sent: 'sent_msg_rate',
  dropped: 'dropped_msg_rate',
  persisted: 'persisted_rate',
};

/** What one reading of the node gives: gauges now, counters since boot. */
export interface MonitorReading {
  gauges: Record<GaugeName, number>;
  counters: Record<DeltaName, number>;
}

/** One point of the series as the API returns it; a gap (no data for that slot) has `time_stamp` only. */
export type MonitorSample = { time_stamp: number } & Partial<Record<GaugeName | DeltaName, number>>;

/** Stored form: values in GAUGE_NAMES then DELTA_NAMES order. */
type Stored = MonitorPoint;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
export const RETENTION_MS = 7 * DAY;
/** How often old samples are merged into coarser buckets and expired ones dropped. */
const COMPACT_EVERY_MS = 10 * MINUTE;
const N_GAUGES = GAUGE_NAMES.length;

/** Bucket width for data of a given age (or a query spanning that long). */
export function bucketFor(ageMs: number): number {
  if (ageMs <= MINUTE) return SECOND;
  if (ageMs <= HOUR) return 10 * SECOND;
  if (ageMs <= DAY) return MINUTE;
  if (ageMs <= 3 * DAY) return 5 * MINUTE;
  return 10 * MINUTE;
}

const roundDown = (t: number, step: number) => t - (t % step);

/** `newer` folded into `older`: gauges keep the newer value, counter increases add up. */
function mergeInto(older: number[], newer: readonly number[]): void {
  for (let i = 0; i < older.length; i++) older[i] = i < N_GAUGES ? newer[i]! : older[i]! + newer[i]!;
}

/** Groups time-sorted samples into buckets of `widthOf(sample)`, keyed by the bucket start. */
function bucketize(samples: readonly Stored[], widthOf: (s: Stored) => number): Stored[] {
  const out: Stored[] = [];
  for (const s of samples) {
    const start = roundDown(s.time, widthOf(s));
    const last = out[out.length - 1];
    if (last !== undefined && last.time === start) mergeInto(last.values, s.values);
    else out.push({ time: start, values: [...s.values] });
  }
  return out;
}

function toSample(s: Stored): MonitorSample {
  const out: MonitorSample = { time_stamp: s.time };
  GAUGE_NAMES.forEach((n, i) => {
    out[n] = s.values[i]!;
  });
  DELTA_NAMES.forEach((n, i) => {
    out[n] = s.values[N_GAUGES + i]!;
  });
  return out;
}

export class Monitor {
  /** Sorted by time. */
  private samples: Stored[] = [];
  /** The previous reading (raw counters), for deltas and the current rate. */
  private last: { time: number; reading: MonitorReading } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastCompaction = 0;

  constructor(
    private readonly read: () => MonitorReading,
    /** Milliseconds between samples (read each time, so a config change applies at the next one). */
    private readonly interval: () => number,
    private readonly clock: () => number = Date.now,
    /** Where the series survives a restart; none keeps it in memory only. */
    private readonly history?: MonitorHistory,
  ) {}

  /** Takes the baseline reading and schedules sampling on the interval's wall-clock boundaries. */
  start(): void {
    const now = this.clock();
    if (this.history !== undefined) {
      this.samples = this.history.load().filter((p) => p.time <= now);
      this.compact(now);
    }
    this.last = { time: now, reading: this.read() };
    this.lastCompaction = now;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.persist();
  }

  private persist(): void {
    try {
      this.history?.save(this.samples);
    } catch (err) {
      logger.warn({ err }, 'dashboard monitor history not saved');
    }
  }

  /** The sample interval, kept within EMQX's 1 s … 60 s. */
  private step(): number {
    return Math.min(60 * SECOND, Math.max(SECOND, this.interval()));
  }

  private schedule(): void {
    const step = this.step();
    const now = this.clock();
    const next = roundDown(now, step) + step;
    this.timer = setTimeout(() => {
      this.sampleAt(next);
      this.schedule();
    }, next - now);
    this.timer.unref();
  }

  /** Records one sample stamped `time` (the timer calls it on each boundary). */
  sampleAt(time: number): void {
    const reading = this.read();
    const prev = this.last?.reading;
    const values: number[] = GAUGE_NAMES.map((n) => reading.gauges[n]);
    for (const n of DELTA_NAMES) values.push(Math.max(0, reading.counters[n] - (prev?.counters[n] ?? 0)));
    const tail = this.samples[this.samples.length - 1];
    if (tail !== undefined && tail.time >= time) mergeInto(tail.values, values);
    else this.samples.push({ time, values });
    this.last = { time, reading };
    if (time - this.lastCompaction >= COMPACT_EVERY_MS) {
      this.compact(time);
      this.persist();
    }
  }

  /** Drops samples past the retention and merges older ones into their age's bucket width. */
  compact(now: number): void {
    this.lastCompaction = now;
    const kept = this.samples.filter((s) => now - s.time <= RETENTION_MS);
    this.samples = bucketize(kept, (s) => bucketFor(now - s.time));
  }

  /**
   * The series since `now - latestSeconds` (all of it when undefined), at one resolution chosen by the span
   * (as EMQX: ≤ 1 min by the second, ≤ 1 h by 10 s, …, never finer than the sample interval), with empty
   * points (`time_stamp` only) where the node took no sample.
   */
  series(latestSeconds?: number): MonitorSample[] {
    const since = latestSeconds === undefined ? 0 : this.clock() - latestSeconds * SECOND;
    const picked = this.samples.filter((s) => s.time >= since);
    if (picked.length < 2) return picked.map(toSample);
    const latest = picked[picked.length - 1]!.time;
    const width = Math.max(bucketFor(latest - Math.max(since, picked[0]!.time)), this.step());
    const buckets = new Map(bucketize(picked, () => width).map((b) => [b.time, b]));
    const first = roundDown(picked[0]!.time, width);
    const fromSince = roundDown(since, width);
    const out: MonitorSample[] = [];
    for (let t = since === 0 ? first : Math.min(first, fromSince); t <= latest; t += width) {
      const b = buckets.get(t);
      out.push(b === undefined ? { time_stamp: t } : toSample(b));
    }
    return out;
  }

  /**
   * Gauges now and each counter's per-second rate since the last sample (whole numbers, as EMQX); 0 rates
   * before the monitor started.
   */
  current(): Record<string, number> {
    const now = this.clock();
    const reading = this.read();
    const out: Record<string, number> = {};
    for (const n of GAUGE_NAMES) out[n] = reading.gauges[n];
    const last = this.last;
    const span = last === undefined ? 0 : now - last.time;
    for (const n of DELTA_NAMES) {
      const grown = last === undefined ? 0 : Math.max(0, reading.counters[n] - last.reading.counters[n]);
      out[RATE_NAME[n]] = span > 0 ? Math.floor((grown * SECOND) / span) : 0;
    }
    return out;
  }

  /** How many points are stored (for tests and the memory bound). */
  get size(): number {
    return this.samples.length;
  }
}
