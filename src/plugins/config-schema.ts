/**
 * Checks a plugin's config against the JSON Schema its package ships (`priv/config_schema.json`, the role
 * of EMQX's avsc). The keywords plugin configs need are supported: type, properties, required,
 * additionalProperties, items, enum, minimum/maximum, minLength/maxLength, pattern.
 */

/** A JSON Schema, as far as this checker reads it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  [k: string]: unknown;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The first violation of `schema` by `value` ("path: why"), or undefined when it conforms. */
export function schemaError(schema: JsonSchema, value: unknown, path = '$'): string | undefined {
  if (schema.type !== undefined) {
    const want = Array.isArray(schema.type) ? schema.type : [schema.type];
    const got = typeOf(value);
    if (!want.includes(got) && !(got === 'integer' && want.includes('number')))
      return `${path}: expected ${want.join(' or ')}, got ${got}`;
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    return `${path}: must be one of ${JSON.stringify(schema.enum)}`;
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `${path}: below ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${path}: above ${schema.maximum}`;
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) return `${path}: too short`;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${path}: too long`;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value))
      return `${path}: does not match ${schema.pattern}`;
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    for (let i = 0; i < value.length; i++) {
      const e = schemaError(schema.items, value[i], `${path}[${i}]`);
      if (e !== undefined) return e;
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) return `${path}.${r}: is required`;
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub !== undefined) {
        const e = schemaError(sub, v, `${path}.${k}`);
        if (e !== undefined) return e;
      } else if (schema.additionalProperties === false) {
        return `${path}.${k}: is not allowed`;
      } else if (typeof schema.additionalProperties === 'object') {
        const e = schemaError(schema.additionalProperties, v, `${path}.${k}`);
        if (e !== undefined) return e;
      }
    }
  }
  return undefined;
}
