/** Turns raw config (from files, environment, API) into the typed config, or a list of precise errors. */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { canonicalForms } from './compat/emqx-forms.js';
import { splitEmqxKeys } from './compat/emqx-keys.js';
import { type HermodConfig, RootSchema } from './schema/index.js';

export interface ConfigError {
  /** Dotted key path, e.g. "listeners.tcp.default.bind". */
  path: string;
  /** The offending value, as given. */
  value: unknown;
  message: string;
}

export type ResolveResult<T> = { ok: true; value: T } | { ok: false; errors: ConfigError[] };

/** Fills defaults, validates and decodes `raw` against `schema`. */
export function resolveWith<T>(schema: TSchema, raw: unknown): ResolveResult<T> {
  const withDefaults = Value.Default(schema, structuredClone(raw ?? {}));
  const errors = collectErrors(schema, withDefaults);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: Value.Decode(schema, withDefaults) as T };
}

/**
 * Resolves a whole Hermod config. EMQX's alternative forms are accepted, and keys EMQX 5.8 defines that
 * Hermod does not implement are set aside (see compat/emqx-keys.ts) rather than refused.
 */
export function resolveConfig(raw: unknown): ResolveResult<HermodConfig> {
  const { kept, unknown } = splitEmqxKeys(canonicalForms(raw));
  const r = resolveWith<HermodConfig>(RootSchema, kept);
  if (unknown.length === 0) return r;
  const typos = unknown.map((u) => ({ path: u.path, value: u.value, message: 'unknown key' }));
  return { ok: false, errors: [...typos, ...(r.ok ? [] : r.errors)] };
}

/** The defaults of every key, decoded: what a node runs with when given no config. */
export function defaultConfig(): HermodConfig {
  const r = resolveConfig({});
  if (!r.ok) throw new Error(`built-in defaults are invalid: ${JSON.stringify(r.errors)}`);
  return r.value;
}

function collectErrors(schema: TSchema, value: unknown): ConfigError[] {
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const path = pointerToPath(e.path);
    // A union reports one error per branch plus its own; keep the first per path, it names the expectation.
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ path, value: e.value, message: describe(e.message, e.schema) });
  }
  return dropParentsOfReported(out);
}

function describe(message: string, schema: TSchema): string {
  if (message.startsWith('Unexpected property')) return 'unknown key';
  const kind = schema['x-kind'] as string | undefined;
  if (kind === 'duration') return 'expected a duration such as "30s", "5m", "1h" or a number of milliseconds';
  if (kind === 'bytesize') return 'expected a size such as "1MB", "64KB" or a number of bytes';
  if (kind === 'bind') return 'expected "ip:port" or a port number';
  if (kind === 'rate') return 'expected a rate such as "1000/s", "60/1m", a number per second or "infinity"';
  if (schema.anyOf?.every((s: TSchema) => 'const' in s)) {
    return `expected one of ${schema.anyOf.map((s: TSchema) => JSON.stringify(s.const)).join(', ')}`;
  }
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** An error inside an object also shows up on nothing else, but a union error repeats on parents; drop those. */
function dropParentsOfReported(errors: ConfigError[]): ConfigError[] {
  return errors.filter((e) => !errors.some((o) => o !== e && o.path.startsWith(`${e.path}.`)));
}

function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}
