/**
 * docs/config.md, generated from the config schema so that it cannot drift from what the loader accepts:
 * every key path with its type, default and description. Regenerate with `npm run docs:config`.
 */
import type { TSchema } from '@sinclair/typebox';
import { RootSchema } from './schema/index.js';

/** One row of docs/config.md. */
export interface KeyDoc {
  /** Dotted path; map entries appear as `<name>`. */
  path: string;
  type: string;
  /** JSON of the default, or undefined for sections. */
  default: string | undefined;
  description: string;
  /** A key EMQX does not have. */
  hermod: boolean;
}

const INTRO = `# Configuration reference

<!-- Generated from src/config/schema/ by \`npm run docs:config\`; do not edit by hand. -->

Hermod reads one HOCON file (\`hermod start --config etc/hermod.conf\`, or \`HERMOD_CONFIG\`) with EMQX 5 key
names. Layers, later ones winning:

1. the built-in defaults listed below;
2. the config file (with its \`include\`s);
3. \`<node.data_dir>/configs/cluster.hocon\`: changes made at runtime through the REST API or \`hermod ctl\`
   (each replaces a whole root key);
4. environment variables \`HERMOD_<PATH>\` (or EMQX's \`EMQX_<PATH>\`; \`HERMOD_\` wins when both name a key),
   where \`__\` separates keys: \`HERMOD_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:11883\`. The value is read as
   HOCON, so numbers, booleans, arrays (\`[1, 2]\`) and objects (\`{a = 1}\`) work; anything else is a string.
   An array element is addressed by its 1-based index, in files and variables alike: \`authentication.1.enable\`.

Unknown keys are errors, and so is any value of the wrong type: the node does not start and prints each
offending key with the file and line it came from. A file written for EMQX 5.8 still starts: keys of EMQX's
schema that Hermod does not implement (\`cluster\`, \`node.role\`, \`sysmon\`, \`listeners.quic\`, …, listed in
\`src/config/compat/emqx-5.8-keys.json\`) are accepted with one warning each, "accepted for EMQX compatibility,
not implemented" (EMQX Enterprise keys say so), and \`hermod ctl conf show --unsupported\` lists them. EMQX's
alternative forms work too: \`log.file\` as one handler, \`ciphers\` as a comma-separated string, rates such as
\`"1000/s"\`, a leading \`\${EMQX_ETC_DIR}\` in quoted certificate paths (by default the config file's directory).

Value formats: a **duration** is \`500ms\`, \`30s\`, \`5m\`, \`2h\`, \`1d\`, \`1w\` (combinable: \`1h30m\`) or a number of
milliseconds; a **byte size** is \`512B\`, \`64KB\`, \`1MB\`, \`1GB\` (powers of 1024) or a number of bytes; a **bind**
is \`"ip:port"\`, \`"[ipv6]:port"\` or a port number. Keys marked *(Hermod)* are Hermod additions that EMQX does
not have. \`<name>\` stands for the name of an entry in a map, e.g. \`listeners.tcp.default\`.
`;

/** Every documented key of the schema, in schema order. */
export function configKeys(schema: TSchema = RootSchema): KeyDoc[] {
  const out: KeyDoc[] = [];
  for (const [key, child] of Object.entries(schema.properties as Record<string, TSchema>))
    walk(child, [key], out);
  return out;
}

function walk(schema: TSchema, path: string[], out: KeyDoc[]): void {
  const map = mapEntry(schema);
  const isSection = schema.type === 'object' && schema.properties !== undefined;
  out.push({
    path: path.join('.'),
    type: typeName(schema),
    default: isSection || schema.default === undefined ? undefined : JSON.stringify(schema.default),
    description: String(schema.description ?? ''),
    hermod: schema['x-hermod'] === true,
  });
  if (isSection) {
    for (const [key, child] of Object.entries(schema.properties as Record<string, TSchema>)) {
      walk(child, [...path, key], out);
    }
  } else if (map !== undefined && map.type === 'object' && map.properties !== undefined) {
    for (const [key, child] of Object.entries(map.properties as Record<string, TSchema>)) {
      walk(child, [...path, '<name>', key], out);
    }
  }
}

function mapEntry(schema: TSchema): TSchema | undefined {
  if (schema.type !== 'object' || schema.patternProperties === undefined) return undefined;
  return Object.values(schema.patternProperties as Record<string, TSchema>)[0];
}

function range(s: TSchema): string {
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return '';
}

/** A short human name of a schema's type: "duration", "integer 1..65535", `"a" | "b"`, "array of string". */
export function typeName(s: TSchema): string {
  const kind = s['x-kind'];
  const consts = Array.isArray(s.anyOf) ? (s.anyOf as TSchema[]).filter((m) => 'const' in m) : [];
  const extra = consts.map((m) => JSON.stringify(m.const));
  if (kind === 'duration') return ['duration', ...extra].join(' | ');
  if (kind === 'bytesize') return 'byte size';
  if (kind === 'bind') return 'bind';
  if (Array.isArray(s.anyOf)) return (s.anyOf as TSchema[]).map(typeName).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  const map = mapEntry(s);
  if (map !== undefined)
    return `map of ${map.type === 'object' && map.properties !== undefined ? 'object' : typeName(map)}`;
  switch (s.type) {
    case 'integer':
    case 'number':
      return `${s.type}${range(s)}`;
    case 'array':
      return `array of ${typeName(s.items as TSchema)}`;
    case 'object':
      return 'object';
    default:
      return String(s.type ?? 'any');
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The whole of docs/config.md. */
export function renderConfigDocs(schema: TSchema = RootSchema): string {
  const keys = configKeys(schema);
  let md = INTRO;
  for (const [root, rootSchema] of Object.entries(schema.properties as Record<string, TSchema>)) {
    md += `\n## \`${root}\`\n\n${String(rootSchema.description ?? '')}\n\n`;
    md += '| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n';
    for (const k of keys) {
      if (k.path !== root && !k.path.startsWith(`${root}.`)) continue;
      if (k.path === root) continue;
      const mark = k.hermod && !/Hermod addition/.test(k.description) ? ' *(Hermod)*' : '';
      const def = k.default === undefined ? '' : `\`${cell(k.default)}\``;
      md += `| \`${cell(k.path)}\` | ${cell(k.type)} | ${def} | ${cell(k.description)}${mark} |\n`;
    }
  }
  return md;
}
