/**
 * HOCON tokenizer. Whitespace is kept as tokens because value concatenation preserves the whitespace between
 * simple values; newlines are tokens because they separate fields like commas do. Comments are dropped.
 */
import { HoconSyntaxError, type Position } from './errors.js';

/** One token with its position. */
export type Token =
  | { t: 'ws'; text: string; pos: Position }
  | { t: 'nl'; pos: Position }
  | { t: '{' | '}' | '[' | ']' | ',' | ':' | '=' | '+='; pos: Position }
  | { t: 'string'; value: string; pos: Position }
  | { t: 'unquoted'; text: string; pos: Position }
  | { t: 'number'; value: number; text: string; pos: Position }
  | { t: 'boolean'; value: boolean; text: string; pos: Position }
  | { t: 'null'; text: string; pos: Position }
  | { t: 'subst'; path: string[]; text: string; optional: boolean; pos: Position }
  | { t: 'eof'; pos: Position };

/**
 * Characters that end an unquoted string. The spec also forbids '@'; EMQX allows it (node names such as
 * emqx@127.0.0.1 are written unquoted), and so do we.
 */
const FORBIDDEN = new Set([
  '$',
  '"',
  '{',
  '}',
  '[',
  ']',
  ':',
  '=',
  ',',
  '+',
  '#',
  '`',
  '^',
  '?',
  '!',
  '*',
  '&',
  '\\',
]);
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const NUMBER_BEFORE_EXPONENT_SIGN = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?[eE]$/;
const PUNCT = new Set(['{', '}', '[', ']', ',', ':', '=']);

/** HOCON whitespace other than the newline: Unicode space separators, tabs, form feeds, CR, BOM. */
export function isWhitespace(ch: string): boolean {
  return ch !== '\n' && (/\s/u.test(ch) || ch === '\uFEFF' || (ch >= '\u001C' && ch <= '\u001F'));
}

/** Splits `text` into tokens; `file` is only used in error messages. */
export function tokenize(text: string, file: string): Token[] {
  return new Lexer(text, file).run();
}

class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  private readonly out: Token[] = [];

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  run(): Token[] {
    const s = this.src;
    while (this.i < s.length) {
      const ch = s[this.i]!;
      const pos = this.pos();
      if (ch === '\n') {
        this.advance(1);
        this.out.push({ t: 'nl', pos });
      } else if (isWhitespace(ch)) {
        const start = this.i;
        while (this.i < s.length && isWhitespace(s[this.i]!)) this.advance(1);
        this.out.push({ t: 'ws', text: s.slice(start, this.i), pos });
      } else if (ch === '#' || (ch === '/' && s[this.i + 1] === '/')) {
        while (this.i < s.length && s[this.i] !== '\n') this.advance(1);
      } else if (PUNCT.has(ch)) {
        this.advance(1);
        this.out.push({ t: ch as '{', pos });
      } else if (ch === '+') {
        if (s[this.i + 1] !== '=') this.fail(pos, "unexpected '+' (did you mean '+='?)");
        this.advance(2);
        this.out.push({ t: '+=', pos });
      } else if (ch === '"') {
        this.out.push(s.startsWith('"""', this.i) ? this.tripleQuoted(pos) : this.quoted(pos));
      } else if (ch === '$') {
        this.out.push(this.substitution(pos));
      } else if (FORBIDDEN.has(ch)) {
        this.fail(pos, `unexpected '${ch}' (quote strings that contain it)`);
      } else {
        this.out.push(this.unquoted(pos));
      }
    }
    this.out.push({ t: 'eof', pos: this.pos() });
    return this.out;
  }

  private pos(): Position {
    return { line: this.line, col: this.col };
  }

  private advance(n: number): void {
    for (let k = 0; k < n; k++) {
      if (this.src[this.i] === '\n') {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
      this.i++;
    }
  }

  private fail(pos: Position, message: string): never {
    throw new HoconSyntaxError(this.file, pos, message);
  }

  /** A run of characters up to a forbidden one, whitespace or "//"; then typed as number/boolean/null/string. */
  private unquoted(pos: Position): Token {
    const s = this.src;
    const start = this.i;
    while (this.i < s.length) {
      const ch = s[this.i]!;
      // JSON writes large numbers as 1e+21: that '+' belongs to the number, not to a '+='.
      const exponentSign = ch === '+' && NUMBER_BEFORE_EXPONENT_SIGN.test(s.slice(start, this.i));
      if (
        (FORBIDDEN.has(ch) && !exponentSign) ||
        ch === '\n' ||
        isWhitespace(ch) ||
        (ch === '/' && s[this.i + 1] === '/')
      )
        break;
      this.advance(1);
    }
    const text = s.slice(start, this.i);
    if (NUMBER.test(text)) return { t: 'number', value: Number(text), text, pos };
    if (text === 'true' || text === 'false') return { t: 'boolean', value: text === 'true', text, pos };
    if (text === 'null') return { t: 'null', text, pos };
    return { t: 'unquoted', text, pos };
  }

  /** A JSON string: escapes as JSON, no raw newline. */
  private quoted(pos: Position): Token {
    const s = this.src;
    this.advance(1);
    let value = '';
    for (;;) {
      if (this.i >= s.length || s[this.i] === '\n') this.fail(pos, 'unterminated quoted string');
      const ch = s[this.i]!;
      if (ch === '"') {
        this.advance(1);
        return { t: 'string', value, pos };
      }
      if (ch === '\\') {
        const escPos = this.pos();
        const e = s[this.i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && e in simple) {
          value += simple[e];
          this.advance(2);
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(this.i + 2, this.i + 6))) {
          value += String.fromCharCode(Number.parseInt(s.slice(this.i + 2, this.i + 6), 16));
          this.advance(6);
        } else {
          this.fail(escPos, `invalid escape '\\${e ?? ''}' in quoted string`);
        }
        continue;
      }
      value += ch;
      this.advance(1);
    }
  }

  /** """raw text""": no escapes, may span lines; extra quotes before the closing three belong to the string. */
  private tripleQuoted(pos: Position): Token {
    const s = this.src;
    this.advance(3);
    const start = this.i;
    const end = s.indexOf('"""', this.i);
    if (end < 0) this.fail(pos, 'unterminated """ string');
    let close = end;
    while (s[close + 3] === '"') close++;
    this.advance(close - start);
    const value = s.slice(start, close);
    this.advance(3);
    return { t: 'string', value, pos };
  }

  /** ${path} or ${?path}; the path is a path expression (quoted segments allowed). */
  private substitution(pos: Position): Token {
    const s = this.src;
    if (s[this.i + 1] !== '{') this.fail(pos, "unexpected '$' (substitutions are written ${path})");
    const start = this.i;
    this.advance(2);
    const optional = s[this.i] === '?';
    if (optional) this.advance(1);
    const inner: Token[] = [];
    for (;;) {
      if (this.i >= s.length || s[this.i] === '\n') this.fail(pos, "unterminated substitution (missing '}')");
      const ch = s[this.i]!;
      const p = this.pos();
      if (ch === '}') {
        this.advance(1);
        break;
      }
      if (ch === '"') inner.push(this.quoted(p));
      else if (isWhitespace(ch)) {
        const wsStart = this.i;
        while (this.i < s.length && isWhitespace(s[this.i]!)) this.advance(1);
        inner.push({ t: 'ws', text: s.slice(wsStart, this.i), pos: p });
      } else if (FORBIDDEN.has(ch) || PUNCT.has(ch)) this.fail(p, `unexpected '${ch}' in substitution`);
      // Unquoted text stops before "//" without consuming anything: refuse it here or the loop never ends.
      else if (ch === '/' && s[this.i + 1] === '/') this.fail(p, "unexpected '//' in substitution");
      else inner.push(this.unquoted(p));
    }
    const text = s.slice(start, this.i);
    const path = pathOf(trimWs(inner), this.file, pos);
    return { t: 'subst', path, text, optional, pos };
  }
}

function trimWs(tokens: Token[]): Token[] {
  let a = 0;
  let b = tokens.length;
  while (a < b && tokens[a]!.t === 'ws') a++;
  while (b > a && tokens[b - 1]!.t === 'ws') b--;
  return tokens.slice(a, b);
}

/**
 * The path of a key or substitution: '.' outside quotes separates segments, quoted text is taken verbatim,
 * numbers and booleans keep their written text, whitespace between parts is kept.
 */
export function pathOf(tokens: Token[], file: string, pos: Position): string[] {
  if (tokens.length === 0) throw new HoconSyntaxError(file, pos, 'empty path');
  const segments: string[] = [];
  let current = '';
  let quotedInCurrent = false;
  for (const tok of tokens) {
    if (tok.t === 'string') {
      current += tok.value;
      quotedInCurrent = true;
    } else if (tok.t === 'ws') current += tok.text;
    else if (tok.t === 'unquoted' || tok.t === 'number' || tok.t === 'boolean' || tok.t === 'null') {
      const parts = tok.text.split('.');
      current += parts[0];
      for (const part of parts.slice(1)) {
        if (current === '' && !quotedInCurrent)
          throw new HoconSyntaxError(file, tok.pos, 'empty path segment');
        segments.push(current);
        current = part;
        quotedInCurrent = false;
      }
    } else {
      throw new HoconSyntaxError(file, tok.pos, 'invalid path');
    }
  }
  if (current === '' && !quotedInCurrent) throw new HoconSyntaxError(file, pos, 'empty path segment');
  segments.push(current);
  return segments;
}
