/**
 * Schema building blocks for config keys whose file form differs from their runtime form:
 * durations and byte sizes are written as "30s" / "1MB" and used as numbers (ms / bytes).
 * Every field carries its default and a description, which also generate docs/config.md.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import {
  formatBind,
  formatByteSize,
  formatDuration,
  parseBind,
  parseByteSize,
  parseDuration,
  parseRate,
} from '../units.js';

const DURATION_PATTERN = '^(infinity|[0-9]+|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+)$';
/** 0..65535, so that an out-of-range port is refused rather than decoded to 0. */
const PORT = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})';
const BYTESIZE_PATTERN = '^(infinity|[0-9]+ *([bB]|[kKmMgG][bB])?)$';

interface FieldOptions {
  description: string;
  /** Shown in docs only; Hermod-specific keys EMQX does not have. */
  hermod?: boolean;
}

/** A duration written as "30s" / "1h30m" / ms number; read as milliseconds. */
export function Duration(def: string, o: FieldOptions) {
  return Type.Transform(
    Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })], {
      default: def,
      description: o.description,
      'x-kind': 'duration',
      'x-hermod': o.hermod,
    }),
  )
    .Decode((v) => parseDuration(v) ?? 0)
    .Encode((ms) => formatDuration(ms));
}

/** A duration that may also be "disabled" (read as 0). */
export function OptionalDuration(def: string, o: FieldOptions) {
  return Type.Transform(
    Type.Union(
      [Type.Literal('disabled'), Type.String({ pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })],
      { default: def, description: o.description, 'x-kind': 'duration', 'x-hermod': o.hermod },
    ),
  )
    .Decode((v) => (v === 'disabled' ? 0 : (parseDuration(v) ?? 0)))
    .Encode((ms) => (ms === 0 ? 'disabled' : formatDuration(ms)));
}

/** A byte size written as "1MB" / "64KB" / number; read as bytes. */
export function ByteSize(def: string, o: FieldOptions) {
  return Type.Transform(
    Type.Union([Type.String({ pattern: BYTESIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
      default: def,
      description: o.description,
      'x-kind': 'bytesize',
      'x-hermod': o.hermod,
    }),
  )
    .Decode((v) => parseByteSize(v) ?? 0)
    .Encode((n) => formatByteSize(n));
}

/** A positive integer or "infinity" (read as Infinity). */
export function IntOrInfinity(def: number | 'infinity', o: FieldOptions & { minimum?: number }) {
  return Type.Transform(
    Type.Union([Type.Literal('infinity'), Type.Integer({ minimum: o.minimum ?? 0 })], {
      default: def,
      description: o.description,
      'x-hermod': o.hermod,
    }),
  )
    .Decode((v) => (v === 'infinity' ? Number.POSITIVE_INFINITY : v))
    .Encode((n) => (n === Number.POSITIVE_INFINITY ? 'infinity' : n));
}

/** A positive integer or "disabled" (read as 0). */
export function IntOrDisabled(def: number | 'disabled', o: FieldOptions) {
  return Type.Transform(
    Type.Union([Type.Literal('disabled'), Type.Integer({ minimum: 1 })], {
      default: def,
      description: o.description,
      'x-hermod': o.hermod,
    }),
  )
    .Decode((v) => (v === 'disabled' ? 0 : v))
    .Encode((n) => (n === 0 ? 'disabled' : n));
}

/** A listen address "ip:port" or a port; read as {host, port}. */
export function Bind(def: string, o: FieldOptions) {
  return Type.Transform(
    Type.Union(
      [
        Type.String({ pattern: `^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]*):${PORT}$|^${PORT}$` }),
        Type.Integer({ minimum: 0, maximum: 65535 }),
      ],
      {
        default: def,
        description: o.description,
        'x-kind': 'bind',
      },
    ),
  )
    .Decode((v) => parseBind(v) ?? { host: '0.0.0.0', port: 0 })
    .Encode((b) => formatBind(b));
}

/** An object section: unknown keys are refused, missing ones take their defaults. */
export function Section<P extends Record<string, TSchema>>(properties: P, description: string) {
  return Type.Object(properties, { additionalProperties: false, default: {}, description });
}

/** A map of named entries (e.g. listeners.tcp.<name>). */
export function NamedMap<S extends TSchema>(
  entry: S,
  description: string,
  def: Record<string, unknown> = {},
) {
  return Type.Record(Type.String({ pattern: '^[a-zA-Z][0-9a-zA-Z_-]*$' }), entry, {
    default: def,
    description,
    // Without this a name that does not match the pattern would be accepted unchecked.
    additionalProperties: false,
  });
}

export function Bool(def: boolean, description: string) {
  return Type.Boolean({ default: def, description });
}

export function Int(def: number, description: string, range: { minimum?: number; maximum?: number } = {}) {
  return Type.Integer({ default: def, description, ...range });
}

export function Str(def: string, description: string) {
  return Type.String({ default: def, description });
}

export function Enum<const V extends string[]>(
  values: V,
  def: V[number],
  description: string,
  o: { hermod?: boolean } = {},
) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: def, description, ...(o.hermod ? { 'x-hermod': true } : {}) },
  ) as unknown as ReturnType<typeof Type.Union<{ [K in keyof V]: ReturnType<typeof Type.Literal<V[K]>> }>>;
}

const RATE_PATTERN = '^\\s*(infinity|[0-9]+(\\.[0-9]+)?\\s*/\\s*([0-9]+)?\\s*(ms|s|m|h|d))\\s*$';

/**
 * A rate per second: a number, "infinity", or EMQX's rate form "1000/s", "500/10s", "60/1m" (read as events
 * per second; Infinity for "infinity").
 */
export function Rate(def: number | 'infinity', o: FieldOptions) {
  return Type.Transform(
    Type.Union([Type.String({ pattern: RATE_PATTERN }), Type.Number({ minimum: 0 })], {
      default: def,
      description: o.description,
      'x-kind': 'rate',
      'x-hermod': o.hermod,
    }),
  )
    .Decode((v) => parseRate(v) ?? 0)
    .Encode((n) => (n === Number.POSITIVE_INFINITY ? 'infinity' : n));
}

/** A list of strings written as an array or as one comma-separated string (EMQX splits those). */
export function CommaList(def: string[], o: FieldOptions) {
  return Type.Transform(
    Type.Union([Type.Array(Type.String()), Type.String()], {
      default: def,
      description: o.description,
      'x-hermod': o.hermod,
    }),
  )
    .Decode((v) => (typeof v === 'string' ? splitCommas(v) : v))
    .Encode((v) => v);
}

/** "a, b,c" → ["a", "b", "c"] (empty items dropped). */
export function splitCommas(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
