/** Turns EMQX `/monitor` samples into chart series: gauges as they are, counters as per-second rates. */
import type { ChartSeries } from '../../components/core/chart';

export interface MonitorSample {
  time_stamp: number;
  [key: string]: number | undefined;
}

/** A gauge over time (null where the node took no sample). */
export function gaugeSeries(rows: readonly MonitorSample[], key: string, name: string): ChartSeries {
  return { name, points: rows.map((r) => [r.time_stamp, r[key] ?? null]) };
}

/**
 * A counter's per-second rate: each sample holds the increase over its slot, and the slot is the time to the
 * previous point (the first point borrows the next one's width).
 */
export function rateSeries(rows: readonly MonitorSample[], key: string, name: string): ChartSeries {
  const points: Array<[number, number | null]> = rows.map((r, i) => {
    const v = r[key];
    const prev = rows[i - 1] ?? rows[i + 1];
    const width = prev === undefined ? 10_000 : Math.abs(r.time_stamp - prev.time_stamp) || 10_000;
    return [r.time_stamp, v === undefined ? null : Math.round((v * 10_000) / width) / 10];
  });
  return { name, points };
}
