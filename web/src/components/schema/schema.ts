/**
 * Reading the JSON Schemas the API serves (TypeBox output: defaults, descriptions, `x-kind` hints) into
 * form fields, so forms follow the server's schema instead of a copy of it in the dashboard.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  required?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  'x-kind'?: string;
  'x-hermod'?: boolean;
}

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type Model = Record<string, unknown>;

/** How one field is edited. */
export type FieldKind =
  | { kind: 'boolean' }
  | { kind: 'number'; integer: boolean; min: number | undefined; max: number | undefined }
  | { kind: 'select'; options: Json[] }
  | { kind: 'text'; numeric: boolean; secret: boolean }
  | { kind: 'object' }
  | { kind: 'list' }
  | { kind: 'json' };

const SECRET = /password|secret|passphrase|private_key/i;

const types = (s: JsonSchema): string[] =>
  s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
const isNumberType = (s: JsonSchema) => types(s).some((t) => t === 'integer' || t === 'number');
/** A string branch that takes free text (not a single constant). */
const isFreeString = (s: JsonSchema) =>
  types(s).includes('string') && s.const === undefined && s.enum === undefined;

export function fieldKind(name: string, s: JsonSchema): FieldKind {
  if (s.enum !== undefined) return { kind: 'select', options: s.enum as Json[] };
  if (s.anyOf !== undefined) {
    if (s.anyOf.every((b) => b.const !== undefined))
      return { kind: 'select', options: s.anyOf.map((b) => b.const as Json) };
    // e.g. "infinity" | integer, duration string | number, bind string | port
    const numeric = s.anyOf.some(isNumberType) && !s.anyOf.some(isFreeString);
    return { kind: 'text', numeric, secret: false };
  }
  const t = types(s);
  if (t.includes('boolean')) return { kind: 'boolean' };
  if (t.includes('integer') || t.includes('number'))
    return { kind: 'number', integer: t.includes('integer'), min: s.minimum, max: s.maximum };
  if (t.includes('string')) return { kind: 'text', numeric: false, secret: SECRET.test(name) };
  if (t.includes('array')) {
    const item = s.items ?? {};
    return types(item).includes('string') && item.anyOf === undefined ? { kind: 'list' } : { kind: 'json' };
  }
  if (t.includes('object') && s.properties !== undefined && Object.keys(s.properties).length > 0)
    return { kind: 'object' };
  return { kind: 'json' };
}

/** A constant field (mechanism, backend of an authenticator) is fixed by the choice made, not edited. */
export function isConstant(s: JsonSchema): boolean {
  return s.const !== undefined;
}

/** A deep copy of plain JSON (schemas may arrive as reactive proxies, which structuredClone refuses). */
function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** The value a new object gets: each field's default, nested objects filled, constants set. */
export function defaultsOf(s: JsonSchema): Model {
  const out: Model = {};
  for (const [k, f] of Object.entries(s.properties ?? {})) {
    if (f.const !== undefined) out[k] = f.const;
    else if (fieldKind(k, f).kind === 'object')
      out[k] = { ...defaultsOf(f), ...((f.default as Model | undefined) ?? {}) };
    else if (f.default !== undefined) out[k] = copy(f.default);
  }
  return out;
}

/** Fills a stored config's gaps with the schema's defaults (a form edits every field it shows). */
export function withDefaults(s: JsonSchema, value: Model): Model {
  const out: Model = { ...defaultsOf(s), ...value };
  for (const [k, f] of Object.entries(s.properties ?? {})) {
    const v = out[k];
    if (fieldKind(k, f).kind === 'object' && v !== null && typeof v === 'object')
      out[k] = withDefaults(f, v as Model);
  }
  return out;
}

/** Text typed into a field → the value sent: digits become a number where the schema wants one. */
export function parseText(text: string, numeric: boolean): string | number {
  const trimmed = text.trim();
  return numeric && /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : text;
}

/** The schema of one listener type inside a gateway schema (`listeners.<type>.<name>`). */
export function listenerSchema(gateway: JsonSchema, type: string): JsonSchema | undefined {
  const byType = gateway.properties?.listeners?.properties?.[type];
  if (byType === undefined) return undefined;
  const named = Object.values(byType.patternProperties ?? {})[0];
  if (named !== undefined) return named;
  return typeof byType.additionalProperties === 'object' ? byType.additionalProperties : undefined;
}

/** A schema without some properties (the parts a form edits elsewhere). */
export function without(s: JsonSchema, keys: readonly string[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(s.properties ?? {})) if (!keys.includes(k)) properties[k] = v;
  return { ...s, properties };
}

/** Only the listed top-level keys of a value. */
export function pick(value: Model, keys: readonly string[]): Model {
  const out: Model = {};
  for (const k of keys) if (k in value) out[k] = value[k];
  return out;
}

/** A key shown as a label: `max_conn_rate` → `Max conn rate`. */
export function labelOf(key: string): string {
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
