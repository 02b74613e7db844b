/**
 * The state of one EMQX 4.x → Hermod migration: the 4.x settings still to map, the Hermod config being
 * built, the report (one line per 4.x key) and any extra files to write next to the config.
 */
import { isAbsolute, join, normalize } from 'node:path';
import type { ConfEntry } from './conf-file.js';

export type ReportStatus = 'mapped' | 'renamed' | 'unsupported' | 'skipped';

/** What became of one 4.x key. */
export interface ReportLine {
  status: ReportStatus;
  key: string;
  value: string;
  /** file:line of the 4.x setting. */
  at: string;
  /** The Hermod key it went to (mapped, renamed). */
  target?: string;
  /** Why it was not carried (unsupported, skipped), or a note on how it was carried. */
  reason?: string;
}

export type JsonObject = { [key: string]: unknown };

/** A file the migration writes besides the config (a users bootstrap file, a plugin config). */
export interface ExtraFile {
  /** Name relative to the output config's directory. */
  name: string;
  content: string;
  /** What the file is, for the report. */
  what: string;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export class Migration {
  readonly config: JsonObject = {};
  readonly report: ReportLine[] = [];
  readonly files: ExtraFile[] = [];
  private readonly entries = new Map<string, ConfEntry>();

  constructor(
    entries: readonly ConfEntry[],
    /** The 4.x etc/ directory, for paths written relative to it. */
    readonly etcDir: string,
  ) {
    for (const e of entries) this.entries.set(e.key, e);
  }

  /** The value of a 4.x key (undefined when not set). Reading does not consume it. */
  get(key: string): string | undefined {
    return this.entries.get(key)?.value;
  }

  /**
   * The value of a 4.x key, converted; undefined when it is not set, or when it cannot be converted (then it
   * is reported unsupported with the reason, and consumed).
   */
  read<T>(key: string, convert: (v: string) => T): T | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    try {
      return convert(v);
    } catch (err) {
      this.unsupported(key, `value not understood: ${(err as Error).message}`);
      return undefined;
    }
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The keys starting with `prefix` that are still to be mapped, in file order. */
  keysUnder(prefix: string): string[] {
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix));
  }

  /** Carries a 4.x key to a Hermod path (dotted; `[n]` for an array index) with a converted value. */
  map(key: string, target: string, convert: (v: string) => unknown = (v) => v, reason?: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    let value: unknown;
    try {
      value = convert(e.value);
    } catch (err) {
      this.unsupported(key, `value not understood: ${(err as Error).message}`);
      return;
    }
    this.set(target, value);
    this.line(e, key === target ? 'mapped' : 'renamed', { target, ...(reason ? { reason } : {}) });
  }

  /** Records a key as carried by code that set the target itself. */
  carried(key: string, target: string, reason?: string): void {
    const e = this.entries.get(key);
    if (e !== undefined)
      this.line(e, key === target ? 'mapped' : 'renamed', { target, ...(reason ? { reason } : {}) });
  }

  unsupported(key: string, reason: string): void {
    const e = this.entries.get(key);
    if (e !== undefined) this.line(e, 'unsupported', { reason });
  }

  /**
   * A line about a loaded 4.x plugin itself (key: its name, value `loaded`), for a plugin whose file sets no
   * key: without it, the plugin would not appear in the report at all.
   */
  plugin(name: string, at: string, status: ReportStatus, extra: { target?: string; reason?: string }): void {
    this.report.push({ status, key: name, value: 'loaded', at, ...extra });
  }

  /** Every remaining key under `prefix` is skipped for `reason` (a plugin that is not loaded). */
  skipAll(prefix: string, reason: string): void {
    for (const k of this.keysUnder(prefix)) this.line(this.entries.get(k)!, 'skipped', { reason });
  }

  /** Every remaining key under `prefix` is unsupported for `reason`. */
  unsupportedAll(prefix: string, reason: string): void {
    for (const k of this.keysUnder(prefix)) this.unsupported(k, reason);
  }

  /** The keys nobody mapped: unsupported, as having no Hermod counterpart. */
  finish(): void {
    for (const e of [...this.entries.values()])
      this.line(e, 'unsupported', { reason: 'no Hermod equivalent' });
    // emqx.conf first, then the plugin files by name; each in line order.
    const rank = (l: ReportLine) => {
      const [file = '', line = '0'] = l.at.split(':');
      return [file === 'emqx.conf' ? '' : file, Number(line)] as const;
    };
    this.report.sort((a, b) => {
      const [fa, la] = rank(a);
      const [fb, lb] = rank(b);
      return fa === fb ? la - lb : fa < fb ? -1 : 1;
    });
  }

  /** Sets a Hermod path in the output config. */
  set(target: string, value: unknown): void {
    const parts = target.split('.').flatMap((p) => {
      const m = /^([^[]+)\[(\d+)\]$/.exec(p);
      return m === null ? [p] : [m[1]!, Number(m[2])];
    });
    let cur: JsonObject | unknown[] = this.config;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i]!;
      const nextIsIndex = typeof parts[i + 1] === 'number';
      const holder = cur as Record<string | number, unknown>;
      let next = holder[p];
      if (!isObject(next) && !Array.isArray(next)) {
        next = nextIsIndex ? [] : {};
        holder[p] = next;
      }
      cur = next as JsonObject | unknown[];
    }
    (cur as Record<string | number, unknown>)[parts[parts.length - 1]!] = value;
  }

  /** A 4.x path: `etc/…` and `{{ platform_etc_dir }}/…` are under the etc directory being migrated. */
  path(v: string): string {
    const t = v.replace(/\{\{\s*platform_etc_dir\s*\}\}/g, this.etcDir);
    if (isAbsolute(t)) return normalize(t);
    if (t.startsWith('etc/')) return join(this.etcDir, t.slice(4));
    return join(this.etcDir, '..', t);
  }

  private line(e: ConfEntry, status: ReportStatus, extra: { target?: string; reason?: string }): void {
    this.entries.delete(e.key);
    this.report.push({ status, key: e.key, value: e.value, at: `${e.file}:${e.line}`, ...extra });
  }
}

// ---- value conversions (4.x cuttlefish forms → Hermod's) ----

/** on/off/true/false/enable/disable → boolean. */
export function bool(v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['on', 'true', 'enable', 'enabled', 'yes'].includes(s)) return true;
  if (['off', 'false', 'disable', 'disabled', 'no'].includes(s)) return false;
  throw new Error(`expected on/off or true/false, got ${JSON.stringify(v)}`);
}

export function int(v: string): number {
  const s = v.trim();
  if (!/^-?\d+$/.test(s)) throw new Error(`expected an integer, got ${JSON.stringify(v)}`);
  return Number(s);
}

/** A 4.x duration ("15s", "2h", "0"); a bare number is milliseconds, as cuttlefish reads it. */
export function duration(v: string): string {
  const s = v.trim();
  if (/^\d+$/.test(s)) return s === '0' ? '0s' : `${s}ms`;
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(s))
    throw new Error(`expected a duration, got ${JSON.stringify(v)}`);
  return s;
}

/** A 4.x byte size ("1MB", "64KB", "1024"). */
export function bytes(v: string): string {
  const s = v.trim();
  if (!/^\d+\s*([kKmMgG]?[bB])?$/.test(s)) throw new Error(`expected a size, got ${JSON.stringify(v)}`);
  return s.toUpperCase();
}

/** A 4.x listen address: "1883", "0.0.0.0:1883", "[::]:1883". */
export function bind(v: string): string {
  const s = v.trim();
  if (/^\d+$/.test(s)) return `0.0.0.0:${s}`;
  if (!/:\d+$/.test(s)) throw new Error(`expected a port or ip:port, got ${JSON.stringify(v)}`);
  return s;
}

/** "a,b, c" → ["a", "b", "c"]. */
export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
