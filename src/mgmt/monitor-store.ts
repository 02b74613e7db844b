/**
 * Keeps the dashboard monitor's series across restarts (EMQX keeps its monitor history on disk too), in the
 * node store's kv table. Written every compaction and at stop, so a crash loses at most ten minutes.
 */
import { logger } from '../log.js';
import type { Db } from '../store/db.js';

/** One stored point: its time and its values in `names` order. */
export interface MonitorPoint {
  time: number;
  values: number[];
}

export interface MonitorHistory {
  load(): MonitorPoint[];
  save(points: readonly MonitorPoint[]): void;
}

const SCOPE = 'dashboard';
const KEY = 'monitor';

/**
 * The history under kv(dashboard, monitor). The value names its columns: a build whose columns differ starts a
 * new series rather than mislabel the old one.
 */
export function monitorHistory(db: Db, names: readonly string[]): MonitorHistory {
  const read = db.prepare('SELECT value FROM kv WHERE scope = ? AND key = ?');
  const write = db.prepare(
    'INSERT INTO kv (scope, key, value) VALUES (?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value',
  );
  return {
    load() {
      const row = read.get(SCOPE, KEY) as { value: string } | undefined;
      if (row === undefined) return [];
      try {
        const doc = JSON.parse(row.value) as { names?: unknown; points?: unknown };
        if (JSON.stringify(doc.names) !== JSON.stringify(names) || !Array.isArray(doc.points)) return [];
        const points: MonitorPoint[] = [];
        for (const p of doc.points as unknown[]) {
          if (!Array.isArray(p) || p.length !== names.length + 1) continue;
          if (!p.every((v) => typeof v === 'number' && Number.isFinite(v))) continue;
          points.push({ time: p[0] as number, values: (p as number[]).slice(1) });
        }
        return points.sort((a, b) => a.time - b.time);
      } catch (err) {
        logger.warn({ err }, 'dashboard monitor history unreadable: starting a new series');
        return [];
      }
    },
    save(points) {
      const doc = { names, points: points.map((p) => [p.time, ...p.values]) };
      write.run(SCOPE, KEY, JSON.stringify(doc));
    },
  };
}
