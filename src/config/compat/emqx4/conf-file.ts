/**
 * EMQX 3.x/4.x config files (cuttlefish syntax): one `key = value` per line, `#` comments, values bare to
 * the end of the line or in double quotes, and `include "file"` lines (read when the file exists, relative
 * to the including file). And `loaded_plugins`: Erlang terms, 4.x `{emqx_retainer, true}.` or 3.x
 * `[emqx_retainer, emqx_dashboard].`
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

/** One setting and where it was written. */
export interface ConfEntry {
  key: string;
  value: string;
  file: string;
  line: number;
}

/** A line that is neither a comment, a setting nor an include. */
export class ConfSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'ConfSyntaxError';
  }
}

const KEY = /^[A-Za-z0-9_$][A-Za-z0-9_.$-]*$/;

/** A double-quoted value's text (backslash escapes as in cuttlefish: \" \\ \n \t). */
function unquote(raw: string, file: string, line: number): string {
  let out = '';
  for (let i = 1; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '"') {
      if (
        raw.slice(i + 1).trim() !== '' &&
        !raw
          .slice(i + 1)
          .trim()
          .startsWith('#')
      )
        throw new ConfSyntaxError(file, line, 'text after the closing quote');
      return out;
    }
    if (ch === '\\' && i + 1 < raw.length) {
      const next = raw[++i]!;
      out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
    } else out += ch;
  }
  throw new ConfSyntaxError(file, line, 'unterminated quoted value');
}

/** Parses one file's text; later settings of the same key replace earlier ones (as cuttlefish does). */
export function parseConfText(
  text: string,
  file: string,
  include: (path: string) => ConfEntry[] = () => [],
): ConfEntry[] {
  const out: ConfEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const inc = /^include\s+"?([^"]+)"?\s*$/.exec(trimmed);
    if (inc !== null) {
      out.push(...include(inc[1]!));
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (eq <= 0)
      throw new ConfSyntaxError(file, i + 1, `expected "key = value", got ${JSON.stringify(trimmed)}`);
    const key = trimmed.slice(0, eq).trim();
    if (!KEY.test(key)) throw new ConfSyntaxError(file, i + 1, `bad key ${JSON.stringify(key)}`);
    const raw = trimmed.slice(eq + 1).trim();
    const value = raw.startsWith('"') ? unquote(raw, file, i + 1) : raw;
    out.push({ key, value, file, line: i + 1 });
  }
  return out;
}

/** Reads a config file and the files it includes (a missing include is skipped, as 4.x does for overrides). */
export function readConfFile(path: string, depth = 0): ConfEntry[] {
  const text = readFileSync(path, 'utf8');
  return parseConfText(text, basename(path), (inc) => {
    const target = isAbsolute(inc) ? inc : join(dirname(path), inc);
    if (depth >= 8 || !existsSync(target)) return [];
    return readConfFile(target, depth + 1);
  });
}

/**
 * The plugins `loaded_plugins` starts: 4.x `{Name, true|false}.` terms (only the true ones) or 3.x's
 * `[Name, …].` list. Comments start with `%`.
 */
export function parseLoadedPlugins(text: string): string[] {
  const body = text
    .split(/\r?\n/)
    .map((l) => l.replace(/%.*$/, ''))
    .join('\n');
  const out: string[] = [];
  for (const m of body.matchAll(/\{\s*'?([a-z][a-z0-9_]*)'?\s*,\s*(true|false)\s*\}/g))
    if (m[2] === 'true') out.push(m[1]!);
  if (out.length > 0 || /\{/.test(body)) return out;
  const list = /\[([^\]]*)\]/.exec(body);
  if (list === null) return [];
  return list[1]!
    .split(',')
    .map((s) => s.trim().replace(/^'|'$/g, ''))
    .filter((s) => /^[a-z][a-z0-9_]*$/.test(s));
}
