/**
 * A HOCON reader for EMQX-style config files (https://github.com/lightbend/config/blob/main/HOCON.md):
 * objects with or without separators, dotted keys, merging of repeated keys, arrays, comments, quoted,
 * unquoted and """multi-line""" strings, value concatenation, `+=`, `${path}` / `${?path}` substitutions
 * (config paths, then environment variables) and `include "file"` / `include file("…")` /
 * `include required(…)` relative to the including file. Differences from the spec: '@' is allowed in
 * unquoted strings (as in EMQX), and url()/classpath() includes are refused.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { applyDocument, type BuildContext, build as buildValue, type ObjV } from './build.js';
import { formatHoconError, type HoconError, HoconSyntaxError, type Origin } from './errors.js';
import { parseDocument, parseValueText } from './parser.js';
import { type Json, mergeJson, Resolver } from './resolve.js';

export type { HoconError, Json, Origin };
export { formatHoconError, mergeJson };

/** Options of parseHocon / parseHoconFile. */
export interface HoconOptions {
  /** Environment for `${VAR}` substitutions not found in the config (default: none). */
  env?: Record<string, string | undefined>;
  /** Base directory of relative includes when parsing text (default: the working directory). */
  dir?: string;
  /** Name shown in messages when parsing text (default: "<string>"). */
  file?: string;
}

/** The JSON value with the origin of every key, or every error found. */
export type HoconResult =
  | {
      ok: true;
      value: { [key: string]: Json };
      /** Where each key path ("a.b.c") was last set. */
      origins: Map<string, Origin>;
      /** Non-fatal findings, e.g. a missing optional include. */
      warnings: string[];
    }
  | { ok: false; errors: HoconError[]; warnings: string[] };

/** A file name as shown in messages: relative to the working directory when inside it. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/** Parses and resolves HOCON text. */
export function parseHocon(text: string, options: HoconOptions = {}): HoconResult {
  const dir = options.dir ?? process.cwd();
  return run(options.file ?? '<string>', dir, [], () => text, options.env ?? {});
}

/** Reads, parses and resolves a HOCON file (includes relative to its directory). */
export function parseHoconFile(path: string, options: Omit<HoconOptions, 'dir' | 'file'> = {}): HoconResult {
  const abs = resolvePath(path);
  const file = displayPath(abs);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    return {
      ok: false,
      errors: [{ file, line: 0, col: 0, message: `cannot read config file: ${reason}` }],
      warnings: [],
    };
  }
  return run(file, dirname(abs), [realpathSync(abs)], () => text, options.env ?? {});
}

function run(
  file: string,
  dir: string,
  stack: string[],
  read: () => string,
  env: Record<string, string | undefined>,
): HoconResult {
  const root: ObjV = { k: 'obj', fields: new Map(), origin: { file, line: 1, col: 1 } };
  const ctx: BuildContext = {
    file,
    dir,
    prefix: [],
    includePrefix: [],
    stack,
    root,
    origins: new Map(),
    warnings: [],
    display: displayPath,
  };
  try {
    applyDocument(root, parseDocument(stripBom(read()), file), ctx);
  } catch (err) {
    if (err instanceof HoconSyntaxError) return { ok: false, errors: [err.error], warnings: ctx.warnings };
    throw err;
  }
  const resolver = new Resolver(root, env);
  const value = resolver.resolveRoot();
  if (resolver.errors.length > 0) return { ok: false, errors: resolver.errors, warnings: ctx.warnings };
  return { ok: true, value, origins: ctx.origins, warnings: ctx.warnings };
}

/**
 * Parses one HOCON value (e.g. an environment variable's text): `42` is a number, `[1, 2]` an array,
 * `{a = 1}` an object, `hello` a string. Substitutions may name environment variables only.
 */
export function parseHoconValue(
  text: string,
  options: { env?: Record<string, string | undefined>; file?: string } = {},
): { ok: true; value: Json } | { ok: false; error: HoconError } {
  const file = options.file ?? '<value>';
  const root: ObjV = { k: 'obj', fields: new Map(), origin: { file, line: 1, col: 1 } };
  let whole = false;
  try {
    const node = parseValueText(text, file);
    const ctx: BuildContext = {
      file,
      dir: process.cwd(),
      prefix: [],
      includePrefix: [],
      stack: [],
      root,
      origins: new Map(),
      warnings: [],
      display: displayPath,
    };
    if (node.type === 'object') {
      whole = true;
      applyDocument(root, node, ctx);
    } else {
      root.fields.set('v', buildValue(node, ctx));
    }
  } catch (err) {
    if (err instanceof HoconSyntaxError) return { ok: false, error: err.error };
    throw err;
  }
  const resolver = new Resolver(root, options.env ?? {});
  const out = resolver.resolveRoot();
  if (resolver.errors.length > 0) return { ok: false, error: resolver.errors[0]! };
  if (whole) return { ok: true, value: out };
  if (!('v' in out)) return { ok: false, error: { file, line: 1, col: 1, message: 'the value is not set' } };
  return { ok: true, value: out.v! };
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export { printHocon } from './print.js';
