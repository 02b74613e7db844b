/**
 * Environment overrides in EMQX's convention: HERMOD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:11883 sets
 * listeners.tcp.default.bind. A double underscore is a dot, names are lower-cased, and the value is read as
 * a HOCON value (numbers, booleans, arrays and objects work) unless it only makes sense as the plain string.
 * EMQX's own prefix (EMQX_NODE__NAME) works too, since container deployments already set those; when both
 * name the same key, the HERMOD_ one wins.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Json, parseHoconValue } from './hocon/index.js';
import { RootSchema } from './schema/index.js';

/** Prefix of the environment variables that override config keys. */
export const ENV_PREFIX = 'HERMOD_';
/** EMQX's prefix, also read (with lower precedence than HERMOD_). */
export const EMQX_ENV_PREFIX = 'EMQX_';
const PREFIXES = [EMQX_ENV_PREFIX, ENV_PREFIX];

/** One HERMOD_* (or EMQX_*) variable read as a key path and a value. */
export interface EnvOverride {
  /** The variable's name, e.g. HERMOD_MQTT__MAX_INFLIGHT. */
  name: string;
  path: string[];
  value: Json;
}

/**
 * Variables that are config: HERMOD_ or EMQX_ plus a path with "__", or exactly a root key (HERMOD_MQTT).
 * EMQX_ETC_DIR, EMQX_LOG_DIR and the like have neither and stay plain variables.
 */
export function isConfigVariable(name: string): boolean {
  const rest = pathPart(name);
  if (rest === undefined) return false;
  return rest.includes('__') || Object.hasOwn(RootSchema.properties, rest.toLowerCase());
}

/** The part of the name after its prefix, or undefined without one. */
function pathPart(name: string): string | undefined {
  const prefix = PREFIXES.find((p) => name.startsWith(p));
  return prefix === undefined ? undefined : name.slice(prefix.length);
}

/**
 * The config overrides found in `env`, least specific first (HERMOD_MQTT before HERMOD_MQTT__MAX_INFLIGHT)
 * so that the more specific one wins.
 */
export function envOverrides(env: Record<string, string | undefined>): EnvOverride[] {
  const out: EnvOverride[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (text === undefined || !isConfigVariable(name)) continue;
    const path = pathPart(name)!.toLowerCase().split('__');
    out.push({ name, path, value: envValue(text, schemaAt(RootSchema, path), env, name) });
  }
  // Applied in this order, later wins: less specific first, and HERMOD_ after EMQX_ for the same depth.
  const rank = (o: EnvOverride) => (o.name.startsWith(ENV_PREFIX) ? 1 : 0);
  return out.sort(
    (a, b) => a.path.length - b.path.length || rank(a) - rank(b) || a.name.localeCompare(b.name),
  );
}

/**
 * The HOCON reading of `text`, or `text` itself when it does not parse (an unquoted "127.0.0.1:1883") or when
 * the key takes a string and the HOCON reading is not one (node.cookie = 12345).
 */
function envValue(
  text: string,
  schema: TSchema | undefined,
  env: Record<string, string | undefined>,
  name: string,
): Json {
  const parsed = parseHoconValue(text, { env, file: name });
  if (!parsed.ok) return text;
  const v = parsed.value;
  if (schema !== undefined && v !== null && typeof v !== 'object' && typeof v !== 'string') {
    if (!Value.Check(schema, v) && Value.Check(schema, text)) return text;
  }
  return v;
}

/** The schema of the key at `path`, following objects, maps and unions; undefined when there is none. */
export function schemaAt(schema: TSchema, path: string[]): TSchema | undefined {
  let cur: TSchema | undefined = schema;
  for (const seg of path) {
    cur = cur === undefined ? undefined : child(cur, seg);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function child(schema: TSchema, key: string): TSchema | undefined {
  if (schema.properties !== undefined && Object.hasOwn(schema.properties, key)) {
    return schema.properties[key] as TSchema;
  }
  if (schema.patternProperties !== undefined) {
    for (const [pattern, entry] of Object.entries(schema.patternProperties as Record<string, TSchema>)) {
      if (new RegExp(pattern).test(key)) return entry;
    }
  }
  if (Array.isArray(schema.anyOf)) {
    for (const member of schema.anyOf as TSchema[]) {
      const c = child(member, key);
      if (c !== undefined) return c;
    }
  }
  return undefined;
}
