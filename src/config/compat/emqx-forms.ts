/**
 * EMQX writes some keys in forms Hermod's schema has one canonical shape for; these rewrites bring the raw
 * config to that shape before validation, so both forms are accepted everywhere (files, environment, API).
 */

import { exhookServerAlias } from './emqx4-exhook.js';

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

/** TLS keys EMQX's dashboard example writes directly on the https listener instead of under ssl_options. */
const FLAT_TLS_KEYS = new Set([
  'cacertfile',
  'certfile',
  'keyfile',
  'password',
  'verify',
  'fail_if_no_peer_cert',
  'reuse_sessions',
  'depth',
  'versions',
  'ciphers',
  'secure_renegotiate',
  'log_level',
  'hibernate_after',
  'honor_cipher_order',
  'client_renegotiation',
  'handshake_timeout',
  'dhfile',
  'cacerts',
]);

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `raw` in Hermod's canonical form; objects on the way to a rewrite are copied, `raw` is left as is. */
export function canonicalForms(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  let out = raw;
  const exhook = exhookServerAlias(raw.exhook);
  if (exhook !== raw.exhook) out = { ...out, exhook };
  const log = raw.log;
  if (isObject(log) && isObject(log.file) && Object.keys(log.file).some((k) => FILE_HANDLER_KEYS.has(k))) {
    // EMQX's `log.file { path = …, level = … }` is its handler named "default".
    out = { ...out, log: { ...log, file: { default: log.file } } };
  }
  const https = dig(raw, ['dashboard', 'listeners', 'https']);
  if (isObject(https)) {
    let next = https;
    if (https.bind !== undefined && https.enable === undefined && !isZeroPort(https.bind)) {
      // EMQX 5.8 starts the HTTPS listener whenever a bind is given (its `enable` is deprecated, ignored).
      next = { ...next, enable: true };
    }
    const flat = Object.keys(https).filter((k) => FLAT_TLS_KEYS.has(k));
    if (flat.length > 0) {
      const ssl: JsonObject = isObject(https.ssl_options) ? { ...https.ssl_options } : {};
      next = { ...next };
      for (const k of flat) {
        ssl[k] ??= https[k];
        delete next[k];
      }
      next.ssl_options = ssl;
    }
    if (next !== https) {
      const dashboard = out.dashboard as JsonObject;
      const listeners = dashboard.listeners as JsonObject;
      out = { ...out, dashboard: { ...dashboard, listeners: { ...listeners, https: next } } };
    }
  }
  const listeners = out.listeners;
  if (isObject(listeners)) {
    // `enabled` is EMQX's older spelling of a listener's `enable`, still accepted as an alias.
    let changed = false;
    const types: JsonObject = {};
    for (const [type, byName] of Object.entries(listeners)) {
      types[type] = byName;
      if (!isObject(byName)) continue;
      const named: JsonObject = {};
      for (const [name, l] of Object.entries(byName)) {
        if (isObject(l) && 'enabled' in l) {
          const { enabled, ...rest } = l;
          named[name] = { enable: enabled, ...rest };
          changed = true;
        } else {
          named[name] = l;
        }
      }
      types[type] = named;
    }
    if (changed) out = { ...out, listeners: types };
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
