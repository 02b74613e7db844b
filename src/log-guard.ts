/**
 * What every log call passes through before it is written: client-supplied text is made inert (control
 * characters escaped) and repeated warnings are throttled per message kind, as EMQX's
 * `log.throttling.time_window` does. Installed as pino hooks on the root logger, so call sites need nothing.
 */
import type { pino } from 'pino';

/**
 * C0 controls, DEL, C1 controls, and the Unicode line separators and bidirectional overrides that can make a
 * terminal or viewer show something other than what was logged.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `s` with every control character written as \xHH (or \uHHHH): `only\b\b\b\bfake` stays visible. */
export function escapeControl(s: string): string {
  return CONTROL.test(s) ? s.replace(CONTROL_ALL, escapeChar) : s;
}

/**
 * A log field with its strings (and plain-object keys) escaped; the same value when nothing needed it, so the
 * common case allocates nothing. Errors and buffers are left to their serializers.
 */
export function escapeFields(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return escapeControl(v);
  if (v === null || typeof v !== 'object' || depth > 4) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const e = escapeFields(v[i], depth + 1);
      if (e !== v[i]) (out ??= v.slice())[i] = e;
    }
    return out ?? v;
  }
  if (v instanceof Error || Buffer.isBuffer(v) || Object.getPrototypeOf(v) !== Object.prototype) return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, val] of Object.entries(v)) {
    const ek = escapeControl(k);
    const ev = escapeFields(val, depth + 1);
    if (ek !== k || ev !== val) {
      out ??= { ...(v as Record<string, unknown>) };
      if (ek !== k) delete out[k];
      out[ek] = ev;
    }
  }
  return out ?? v;
}

interface Window {
  /** When the window of this message kind ends (ms). */
  until: number;
  suppressed: number;
}

/** Per-kind windows; kinds whose window ended are swept once there are many. */
const windows = new Map<string, Window>();
/** Pending summary lines; dropped when logging is reconfigured (their logger's files may be closed). */
const summaries = new Set<NodeJS.Timeout>();
let windowMs = 60_000;
const SWEEP_AT = 1000;
/** pino's warn and error; info and debug are never throttled, fatal always written. */
const THROTTLED_MIN = 40;
const THROTTLED_MAX = 50;

/** Sets `log.throttling.time_window` (ms); 0 turns throttling off. */
export function setThrottleWindow(ms: number): void {
  windowMs = ms;
  windows.clear();
  for (const t of summaries) clearTimeout(t);
  summaries.clear();
}

/** The message text of a pino call: the kind repeated warnings are counted by. */
function kindOf(args: unknown[]): string | undefined {
  const first = args[0];
  if (typeof first === 'string') return first;
  return typeof args[1] === 'string' ? args[1] : undefined;
}

/**
 * Whether a line of `kind` is written now. The first line of a kind opens a window; later lines in it are
 * counted, and when it ends one line says how many were suppressed.
 */
function admit(kind: string, logger: pino.Logger, method: pino.LogFn): boolean {
  const now = Date.now();
  const w = windows.get(kind);
  if (w !== undefined && now < w.until) {
    if (w.suppressed++ === 0) {
      const t = setTimeout(() => {
        summaries.delete(t);
        windows.delete(kind);
        method.call(
          logger,
          { suppressed: w.suppressed, time_window: `${Math.round(windowMs / 1000)}s` },
          `${kind} (similar lines suppressed by log throttling)`,
        );
      }, w.until - now);
      t.unref();
      summaries.add(t);
    }
    return false;
  }
  if (windows.size >= SWEEP_AT)
    for (const [k, x] of windows) if (x.until <= now && x.suppressed === 0) windows.delete(k);
  windows.set(kind, { until: now + windowMs, suppressed: 0 });
  return true;
}

/** pino hooks and formatters that escape and throttle (shared by every root logger Hermod builds). */
export const logGuard = {
  hooks: {
    logMethod(this: pino.Logger, args: Parameters<pino.LogFn>, method: pino.LogFn, level: number): void {
      const a = args as unknown[];
      for (let i = 0; i < a.length; i++) a[i] = escapeFields(a[i]);
      if (windowMs > 0 && level >= THROTTLED_MIN && level <= THROTTLED_MAX) {
        const kind = kindOf(a);
        if (kind !== undefined && !admit(kind, this, method)) return;
      }
      method.apply(this, args);
    },
  },
  /** Child-logger bindings (client ids, peers) are client-supplied text too. */
  bindings(bindings: pino.Bindings): pino.Bindings {
    return escapeFields(bindings) as pino.Bindings;
  },
};
