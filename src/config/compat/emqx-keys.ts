/**
 * EMQX compatibility of config files: a key Hermod's schema does not know is still accepted when EMQX 5.8's
 * schema has it (the list in emqx-5.8-keys.json), so a file written for EMQX starts Hermod. Such keys are
 * taken out before validation and reported, one per leaf, as "accepted, not implemented". A key Hermod's
 * schema knows is implemented by definition, so keys move over as features land without editing the list;
 * anything in neither place stays an "unknown key" error, which keeps typos fatal.
 */
import type { TSchema } from '@sinclair/typebox';
import { schemaAt } from '../env.js';
import type { Json } from '../hocon/index.js';
import { mergeJson } from '../hocon/index.js';
import { RootSchema } from '../schema/index.js';
import defaults from './emqx-5.8-defaults.json' with { type: 'json' };
import keys from './emqx-5.8-keys.json' with { type: 'json' };

/** Which EMQX edition defines a key. */
export type Edition = 'oss' | 'enterprise';

/** One key of the raw config that Hermod accepts for EMQX compatibility but does not implement. */
export interface UnsupportedKey {
  /** Dotted path, e.g. "cluster.discovery_strategy". */
  path: string;
  edition: Edition;
  value: unknown;
}

type JsonObject = Record<string, unknown>;

/** The list, by first segment so that a lookup only tries the entries of one root. */
const ENTRIES = new Map<string, Entry[]>();
for (const [edition, list] of [
  ['oss', keys.oss],
  ['enterprise', keys.enterprise],
] as const) {
  for (const p of list) {
    const segs = p.split('.');
    const bucket = ENTRIES.get(segs[0]!) ?? [];
    bucket.push({ segs, edition });
    ENTRIES.set(segs[0]!, bucket);
  }
}

interface Entry {
  segs: string[];
  edition: Edition;
}

/** The list entry naming the key at `path`, if any. */
function entryOf(path: string[]): Entry | undefined {
  return (ENTRIES.get(path[0]!) ?? []).find(
    (e) => e.segs.length === path.length && e.segs.every((s, n) => s === '*' || s === path[n]),
  );
}

/** The edition of EMQX that defines the key at `path`, or undefined when EMQX 5.8 has no such key. */
export function emqxEdition(path: string[]): Edition | undefined {
  return entryOf(path)?.edition;
}

/**
 * Whether the list names the keys directly below `path`, through entries that extend `anchor` (the entry
 * that accepted `path` or its parent): then only those keys are accepted there. Entries reached only through
 * a wildcard (listeners.*.*.x) do not constrain a section accepted whole (listeners.quic).
 */
function listsChildrenOf(path: string[], anchor: string[]): boolean {
  return (ENTRIES.get(path[0]!) ?? []).some(
    (e) =>
      e.segs.length === path.length + 1 &&
      anchor.every((seg, n) => e.segs[n] === seg) &&
      path.every((seg, n) => e.segs[n] === '*' || e.segs[n] === seg),
  );
}

/** An EMQX-only root key as EMQX shows it: its documented defaults with what was written merged over them. */
export function emqxRootWithDefaults(key: string, written: unknown): Json {
  const base = (defaults as Record<string, Json>)[key];
  const value = (written ?? {}) as Json;
  return key === 'about' || base === undefined ? value : mergeJson(base, value);
}

/** The warning logged for an accepted key. */
export function describeUnsupported(k: UnsupportedKey): string {
  return k.edition === 'enterprise'
    ? `${k.path}: an EMQX Enterprise key, accepted for EMQX compatibility, not implemented`
    : `${k.path}: accepted for EMQX compatibility, not implemented`;
}

/**
 * Splits `raw` into what Hermod's schema validates and the EMQX keys it does not implement. `raw` is not
 * changed; the kept part shares no objects that were edited.
 */
export function splitEmqxKeys(raw: unknown): {
  kept: unknown;
  unsupported: UnsupportedKey[];
  /** Keys below an accepted EMQX section that EMQX does not have either: typos, refused by the caller. */
  unknown: Array<{ path: string; value: unknown }>;
} {
  const found: Found = { unsupported: [], unknown: [] };
  const kept = walk(raw, RootSchema, [], found);
  return { kept, ...found };
}

interface Found {
  unsupported: UnsupportedKey[];
  unknown: Array<{ path: string; value: unknown }>;
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function walk(value: unknown, schema: TSchema, path: string[], out: Found): unknown {
  if (Array.isArray(value)) {
    const item = arrayItem(schema);
    if (item === undefined) return value;
    let changed = false;
    const next = value.map((v, n) => {
      const w = walk(v, item, [...path, String(n + 1)], out);
      if (w !== v) changed = true;
      return w;
    });
    return changed ? next : value;
  }
  if (!isObject(value)) return value;
  // Objects whose schema admits any key (plugins, free-form maps) have nothing to take out.
  if (schema.additionalProperties === true || (schema.type === undefined && schema.anyOf === undefined))
    return value;
  let copy: JsonObject | undefined;
  for (const [key, v] of Object.entries(value)) {
    const childPath = [...path, key];
    const child = schemaAt(schema, [key]);
    if (child !== undefined) {
      const w = walk(v, child, childPath, out);
      if (w !== v) {
        copy ??= { ...value };
        copy[key] = w;
      }
      continue;
    }
    const entry = entryOf(childPath);
    if (entry === undefined) continue; // left in place: validation reports it as an unknown key
    copy ??= { ...value };
    delete copy[key];
    leaves(v, childPath, entry, out);
  }
  return copy ?? value;
}

/**
 * One report per leaf below an accepted key (arrays and empty objects count as leaves). Where the list names
 * the keys of a level, a key it does not name is a typo.
 */
function leaves(value: unknown, path: string[], anchor: Entry, out: Found): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    const checked = listsChildrenOf(path, anchor.segs);
    for (const [k, v] of Object.entries(value)) {
      const child = [...path, k];
      const own = checked ? entryOf(child) : undefined;
      if (checked && own === undefined) out.unknown.push({ path: child.join('.'), value: v });
      else leaves(v, child, own ?? anchor, out);
    }
    return;
  }
  out.unsupported.push({ path: path.join('.'), edition: anchor.edition, value });
}

function arrayItem(schema: TSchema): TSchema | undefined {
  if (schema.items !== undefined && !Array.isArray(schema.items)) return schema.items as TSchema;
  if (Array.isArray(schema.anyOf)) {
    for (const m of schema.anyOf as TSchema[]) {
      const i = arrayItem(m);
      if (i !== undefined) return i;
    }
  }
  return undefined;
}
