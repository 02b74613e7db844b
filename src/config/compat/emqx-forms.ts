/**
 * EMQX writes some keys in forms Hermod's schema has one canonical shape for; these rewrites bring the raw
 * config to that shape before validation, so both forms are accepted everywhere (files, environment, API).
 */

type JsonObject = Record<string, unknown>;

/** Keys of one log file handler: an object with any of these directly under `log.file` is a single handler. */
const FILE_HANDLER_KEYS = new Set([
  'enable',
  'level',
  'path',
  'rotation_count',
  'rotation_size',
  'formatter',
  'time_offset',
  'timestamp_format',
  'max_depth',
  'single_line',
  'payload_encode',
]);

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `raw` in Hermod's canonical form; objects on the way to a rewrite are copied, `raw` is left as is. */
export function canonicalForms(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  let out = raw;
  const log = raw.log;
  if (isObject(log) && isObject(log.file) && Object.keys(log.file).some((k) => FILE_HANDLER_KEYS.has(k))) {
    // EMQX's `log.file { path = …, level = … }` is its handler named "default".
    out = { ...out, log: { ...log, file: { default: log.file } } };
  }
  const https = dig(raw, ['dashboard', 'listeners', 'https']);
  if (isObject(https) && https.bind !== undefined && https.enable === undefined && !isZeroPort(https.bind)) {
    // EMQX 5.8 starts the HTTPS listener whenever a bind is given (its `enable` is deprecated and ignored).
    const dashboard = out.dashboard as JsonObject;
    const listeners = dashboard.listeners as JsonObject;
    out = {
      ...out,
      dashboard: { ...dashboard, listeners: { ...listeners, https: { ...https, enable: true } } },
    };
  }
  return out;
}

function isZeroPort(bind: unknown): boolean {
  return bind === 0 || bind === '0' || (typeof bind === 'string' && /:0$/.test(bind.trim()));
}

function dig(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const seg of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}
