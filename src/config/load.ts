/**
 * Boot-time config: the main HOCON file (or built-in defaults), then the runtime overrides persisted under
 * node.data_dir (configs/cluster.hocon, written by ConfigService), then HERMOD_* (and EMQX_*) environment
 * variables. Environment variables come last so that, as in EMQX, what the operator sets for this process
 * always wins. Every problem is reported with the key path, the bad value, the reason and where the key was
 * written; keys of EMQX's schema that Hermod does not implement are accepted with one warning each.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { emqxDirDefaults, expandCertPaths } from './compat/cert-paths.js';
import { canonicalForms } from './compat/emqx-forms.js';
import { describeUnsupported, splitEmqxKeys, type UnsupportedKey } from './compat/emqx-keys.js';
import { exhookAliasNotes } from './compat/emqx4-exhook.js';
import { envOverrides } from './env.js';
import { displayPath, type Json, mergeJson, type Origin, parseHoconFile } from './hocon/index.js';
import { resolveConfig } from './resolve.js';
import type { HermodConfig } from './schema/index.js';
import { NodeSchema } from './schema/node.js';
import { OVERRIDE_FILE, type RootKey } from './service.js';

/** Where a key's value came from: a file position, or a source such as "env HERMOD_MQTT__MAX_INFLIGHT". */
export type KeyOrigin = Origin | { source: string };

/** What loadConfig reads. */
export interface LoadOptions {
  /** Main config file; without one the built-in defaults are the base. */
  file?: string;
  /** Environment for HERMOD_* overrides and ${VAR} substitutions (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides node.data_dir (and so where the override file is looked for). */
  dataDir?: string;
}

/** One reason the config was refused. */
export interface ConfigLoadError {
  message: string;
  /** Dotted key path, when the problem is a key's value. */
  path?: string;
  value?: unknown;
  origin?: KeyOrigin;
}

/** The loaded config, or every error found. */
export type LoadResult =
  | {
      ok: true;
      /** The merged raw (file-form) config: what HermodNode's `raw` option takes. */
      raw: Record<string, unknown>;
      config: HermodConfig;
      /** Root keys read from the override file (HermodNode's `overrides` option). */
      overrides: Partial<Record<RootKey, unknown>>;
      overridePath: string;
      origins: Map<string, KeyOrigin>;
      warnings: string[];
      /** EMQX keys accepted but not implemented (each also has a warning). */
      unsupported: UnsupportedKey[];
    }
  | { ok: false; errors: ConfigLoadError[]; warnings: string[] };

type JsonObject = { [key: string]: Json };

/** Loads, merges and validates the config. */
export function loadConfig(options: LoadOptions = {}): LoadResult {
  const env = options.env ?? process.env;
  const warnings: string[] = [];
  const origins = new Map<string, KeyOrigin>();
  let raw: JsonObject = {};

  if (options.file !== undefined) {
    const parsed = parseHoconFile(options.file, { env });
    warnings.push(...parsed.warnings);
    if (!parsed.ok)
      return { ok: false, errors: parsed.errors.map((e) => ({ message: e.message, origin: e })), warnings };
    raw = parsed.value;
    for (const [k, o] of parsed.origins) origins.set(k, o);
  }

  const fromEnv = envOverrides(env);
  const dataDirSource = options.dataDir !== undefined ? { source: 'option dataDir' } : undefined;
  // The override file lives under node.data_dir, which the main file and the environment decide.
  const located = options.dataDir ?? dataDirOf(applyEnv(structuredClone(raw), fromEnv, new Map()));
  const overridePath = join(located, OVERRIDE_FILE);

  let overrides: JsonObject = {};
  if (existsSync(overridePath)) {
    const parsed = parseHoconFile(overridePath, { env });
    warnings.push(...parsed.warnings);
    if (!parsed.ok)
      return { ok: false, errors: parsed.errors.map((e) => ({ message: e.message, origin: e })), warnings };
    overrides = parsed.value;
    // A runtime change replaces a whole root key (as ConfigService.update does), so earlier origins go too.
    for (const [key, value] of Object.entries(overrides)) {
      raw[key] = value;
      for (const k of [...origins.keys()]) if (k === key || k.startsWith(`${key}.`)) origins.delete(k);
    }
    for (const [k, o] of parsed.origins) origins.set(k, o);
  }

  raw = applyEnv(raw, fromEnv, origins);
  const node = isObject(raw.node) ? raw.node : {};
  if (dataDirSource !== undefined || dataDirOf(raw) !== located) {
    // The data dir cannot move through the override file: it is where that file was found.
    if (dataDirSource === undefined) {
      warnings.push(
        `${displayPath(overridePath)}: node.data_dir is ignored there (the data dir stays ${located})`,
      );
    }
    raw.node = { ...node, data_dir: located };
    origins.set('node.data_dir', dataDirSource ?? { source: 'the main config and environment' });
  }

  expandCertPaths(raw, env, emqxDirDefaults(options.file, located));
  for (const note of exhookAliasNotes(raw.exhook)) {
    const o = originOf(origins, note.path);
    warnings.push(`${o === undefined ? '' : `${formatOrigin(o)}: `}${note.message}`);
  }
  const { unsupported } = splitEmqxKeys(canonicalForms(raw));
  for (const k of unsupported) {
    const o = originOf(origins, k.path);
    warnings.push(`${o === undefined ? '' : `${formatOrigin(o)}: `}${describeUnsupported(k)}`);
  }

  const resolved = resolveConfig(raw);
  if (!resolved.ok) {
    const errors = resolved.errors.map((e) => ({
      message: e.message,
      path: e.path,
      value: e.value,
      origin: originOf(origins, e.path),
    }));
    return { ok: false, errors: errors.sort(byOrigin), warnings };
  }
  return {
    ok: true,
    raw,
    config: resolved.value,
    overrides: overrides as Partial<Record<RootKey, unknown>>,
    overridePath,
    origins,
    warnings,
    unsupported,
  };
}

/** One line per error: "config error: <file>:<line>: <path>: <message> (got <value>)". */
export function formatConfigError(e: ConfigLoadError): string {
  const where = e.origin === undefined ? '' : `${formatOrigin(e.origin, e.path === undefined)}: `;
  const key = e.path === undefined ? '' : `${e.path === '' ? '(root)' : e.path}: `;
  const got = e.path === undefined ? '' : ` (got ${formatValue(e.value)})`;
  return `config error: ${where}${key}${e.message}${got}`;
}

/** "file:line" (with the column for syntax errors) or the named source. */
export function formatOrigin(o: KeyOrigin, withColumn = false): string {
  if ('source' in o) return o.source;
  if (o.line === 0) return o.file;
  return withColumn ? `${o.file}:${o.line}:${o.col}` : `${o.file}:${o.line}`;
}

function formatValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** The origin of `path`, or of its nearest parent that has one. */
function originOf(origins: Map<string, KeyOrigin>, path: string): KeyOrigin | undefined {
  const parts = path.split('.');
  for (let n = parts.length; n > 0; n--) {
    const o = origins.get(parts.slice(0, n).join('.'));
    if (o !== undefined) return o;
  }
  return undefined;
}

/** File order (file, line, column), then environment variables by name, then keys with no known origin. */
function byOrigin(a: ConfigLoadError, b: ConfigLoadError): number {
  const rank = (o: KeyOrigin | undefined) => (o === undefined ? 2 : 'source' in o ? 1 : 0);
  const ra = rank(a.origin);
  const rb = rank(b.origin);
  if (ra !== rb || ra === 2) return ra - rb;
  if (ra === 1)
    return (a.origin as { source: string }).source.localeCompare((b.origin as { source: string }).source);
  const oa = a.origin as Origin;
  const ob = b.origin as Origin;
  return oa.file.localeCompare(ob.file) || oa.line - ob.line || oa.col - ob.col;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function dataDirOf(raw: JsonObject): string {
  const node = raw.node;
  const dir = isObject(node) ? node.data_dir : undefined;
  return typeof dir === 'string' ? dir : (NodeSchema.properties.data_dir.default as string);
}

function applyEnv(
  raw: JsonObject,
  overrides: ReturnType<typeof envOverrides>,
  origins: Map<string, KeyOrigin>,
): JsonObject {
  for (const o of overrides) {
    // Arrays are entered by 1-based element index (EMQX_AUTHENTICATION__1__ENABLE), as in the files.
    let obj: JsonObject | Json[] = raw;
    for (let n = 0; n < o.path.length - 1; n++) {
      const seg = o.path[n]!;
      if (Array.isArray(obj)) {
        const i = elementIndex(obj, seg)!;
        if (!isObject(obj[i]) && !Array.isArray(obj[i])) obj[i] = {};
        obj = obj[i] as JsonObject | Json[];
        continue;
      }
      const next: Json | undefined = obj[seg];
      if (Array.isArray(next) && elementIndex(next, o.path[n + 1]) !== undefined) {
        obj = next;
        continue;
      }
      if (!isObject(next)) obj[seg] = {};
      obj = obj[seg] as JsonObject;
    }
    const leaf = o.path[o.path.length - 1]!;
    if (Array.isArray(obj)) {
      const i = elementIndex(obj, leaf)!;
      obj[i] = mergeJson(obj[i]!, o.value);
    } else {
      obj[leaf] = leaf in obj ? mergeJson(obj[leaf]!, o.value) : o.value;
    }
    const source = { source: `env ${o.name}` };
    for (let n = 1; n < o.path.length; n++) {
      const k = o.path.slice(0, n).join('.');
      if (!origins.has(k)) origins.set(k, source);
    }
    noteTree(origins, o.path.join('.'), o.value, source);
  }
  return raw;
}

/** The 0-based element a 1-based path segment names, or undefined when it is not an index within `arr`. */
function elementIndex(arr: Json[], seg: string | undefined): number | undefined {
  if (seg === undefined || !/^[1-9][0-9]*$/.test(seg)) return undefined;
  const n = Number(seg);
  return n <= arr.length ? n - 1 : undefined;
}

function noteTree(origins: Map<string, KeyOrigin>, key: string, value: Json, source: KeyOrigin): void {
  origins.set(key, source);
  if (isObject(value))
    for (const [k, v] of Object.entries(value)) noteTree(origins, `${key}.${k}`, v, source);
}
