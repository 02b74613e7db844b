/**
 * HOCON syntax: tokens to a tree of objects, arrays, value concatenations, substitutions and include
 * statements, each with its position. Meaning (merging, includes, substitutions) comes later, in build.ts.
 */
import { HoconSyntaxError, type Position } from './errors.js';
import { pathOf, type Token, tokenize } from './lexer.js';

/** `{ … }` or a root without braces: fields and includes in file order. */
export interface ObjectNode {
  type: 'object';
  items: Array<FieldNode | IncludeNode>;
  pos: Position;
}
/** `key = value`, `key : value`, `key { … }` or `key += value`. */
export interface FieldNode {
  type: 'field';
  path: string[];
  /** '+=' appends to an array (`a += x` is `a = ${?a} [x]`). */
  op: '=' | '+=';
  value: ValueNode;
  pos: Position;
}
/** `include "f"`, `include file("f")`, `include required(…)`. */
export interface IncludeNode {
  type: 'include';
  target: string;
  required: boolean;
  scheme: 'file' | 'url' | 'classpath';
  pos: Position;
}
/** `[ … ]`. */
export interface ArrayNode {
  type: 'array';
  items: ValueNode[];
  pos: Position;
}
/** A quoted or unquoted string, number, boolean or null. */
export interface ScalarNode {
  type: 'scalar';
  value: string | number | boolean | null;
  /** As written, which value concatenation uses ("1.0" stays "1.0"). */
  text: string;
  pos: Position;
}
/** `${path}` or `${?path}`. */
export interface SubstNode {
  type: 'subst';
  path: string[];
  optional: boolean;
  text: string;
  pos: Position;
}
/** Whitespace between the parts of a value concatenation. */
export interface WsNode {
  type: 'ws';
  text: string;
  pos: Position;
}
/** Several values on one line, concatenated. */
export interface ConcatNode {
  type: 'concat';
  parts: Array<ValueNode | WsNode>;
  pos: Position;
}
/** Anything that can stand right of a separator. */
export type ValueNode = ObjectNode | ArrayNode | ScalarNode | SubstNode | ConcatNode;

/** Parses a whole file (root braces optional; the root must be an object). */
export function parseDocument(text: string, file: string): ObjectNode {
  return new Parser(tokenize(text, file), file).document();
}

/** Parses a lone value, e.g. an environment variable's text; the whole text must be one value. */
export function parseValueText(text: string, file: string): ValueNode {
  return new Parser(tokenize(text, file), file).lone();
}

function describe(tok: Token): string {
  switch (tok.t) {
    case 'eof':
      return 'end of file';
    case 'nl':
      return 'end of line';
    case 'ws':
      return 'whitespace';
    case 'string':
      return `"${tok.value}"`;
    case 'unquoted':
    case 'number':
    case 'boolean':
    case 'null':
    case 'subst':
      return `'${tok.text}'`;
    default:
      return `'${tok.t}'`;
  }
}

/** Objects, arrays and key path segments one inside another; real configs nest a few levels. */
export const MAX_NESTING = 500;

class Parser {
  private i = 0;
  /** Current nesting: open braces and brackets plus the extra segments of enclosing dotted keys. */
  private depth = 0;

  constructor(
    private readonly toks: Token[],
    private readonly file: string,
  ) {}

  document(): ObjectNode {
    this.skip(true);
    const first = this.peek();
    if (first.t === '[') this.fail(first.pos, 'the root of a config file must be an object, not an array');
    if (first.t === '{') {
      this.i++;
      const root = this.objectBody(true, first.pos);
      this.skip(true);
      const after = this.peek();
      if (after.t !== 'eof') this.fail(after.pos, `unexpected ${describe(after)} after the root object`);
      return root;
    }
    return this.objectBody(false, first.pos);
  }

  lone(): ValueNode {
    this.skip(true);
    const v = this.value();
    this.skip(true);
    const after = this.peek();
    if (after.t !== 'eof') this.fail(after.pos, `unexpected ${describe(after)} after the value`);
    return v;
  }

  private peek(): Token {
    return this.toks[this.i]!;
  }

  private fail(pos: Position, message: string): never {
    throw new HoconSyntaxError(this.file, pos, message);
  }

  /** Skips whitespace, and newlines too when `newlines`. */
  private skip(newlines: boolean): void {
    for (;;) {
      const t = this.peek().t;
      if (t === 'ws' || (newlines && t === 'nl')) this.i++;
      else return;
    }
  }

  /** Goes `levels` deeper; refuses to pass MAX_NESTING (deeper input would overflow the stack). */
  private enter(levels: number, pos: Position): void {
    this.depth += levels;
    if (this.depth > MAX_NESTING) this.fail(pos, `nesting deeper than ${MAX_NESTING} levels`);
  }

  private objectBody(braced: boolean, open: Position): ObjectNode {
    if (braced) this.enter(1, open);
    const items: Array<FieldNode | IncludeNode> = [];
    for (;;) {
      this.skip(true);
      const tok = this.peek();
      if (tok.t === '}') {
        if (!braced) this.fail(tok.pos, "unbalanced '}'");
        this.i++;
        break;
      }
      if (tok.t === 'eof') {
        if (braced) this.fail(tok.pos, `missing '}' for the object opened at line ${open.line}`);
        break;
      }
      if (tok.t === ',') this.fail(tok.pos, "unexpected ','");
      if (tok.t === ']') this.fail(tok.pos, "unexpected ']'");
      items.push(this.item());
      this.skip(false);
      const sep = this.peek();
      if (sep.t === ',') this.i++;
      else if (sep.t !== 'nl' && sep.t !== '}' && sep.t !== 'eof') {
        this.fail(sep.pos, `expected ',' or a new line between fields, found ${describe(sep)}`);
      }
    }
    if (braced) this.depth--;
    return { type: 'object', items, pos: open };
  }

  private item(): FieldNode | IncludeNode {
    const first = this.peek();
    if (first.t === 'unquoted' && first.text === 'include' && this.looksLikeInclude()) return this.include();
    const keyToks: Token[] = [];
    for (;;) {
      const tok = this.peek();
      if (tok.t === '=' || tok.t === ':' || tok.t === '+=' || tok.t === '{') break;
      if (tok.t === 'subst') this.fail(tok.pos, 'substitutions are not allowed in keys');
      if (
        tok.t !== 'ws' &&
        tok.t !== 'string' &&
        tok.t !== 'unquoted' &&
        tok.t !== 'number' &&
        tok.t !== 'boolean' &&
        tok.t !== 'null'
      ) {
        const key = keyToks.length > 0 ? ` after key '${this.keyText(keyToks)}'` : '';
        this.fail(tok.pos, `expected '=', ':' or '{'${key}, found ${describe(tok)}`);
      }
      keyToks.push(tok);
      this.i++;
    }
    while (keyToks.length > 0 && keyToks[keyToks.length - 1]!.t === 'ws') keyToks.pop();
    const path = pathOf(keyToks, this.file, first.pos);
    this.enter(path.length - 1, first.pos);
    const sep = this.peek();
    let op: '=' | '+=' = '=';
    if (sep.t === '=' || sep.t === ':' || sep.t === '+=') {
      this.i++;
      if (sep.t === '+=') op = '+=';
      this.skip(false);
      if (this.peek().t === 'nl') {
        this.skip(true);
        // A value may start on the next line, but "a =" followed by "b = 1" is a forgotten value.
        if (this.startsField()) this.fail(sep.pos, `expected a value after '${sep.t}'`);
      }
    }
    const value = this.value();
    this.depth -= path.length - 1;
    return { type: 'field', path, op, value, pos: first.pos };
  }

  /** Whether the tokens from here to the end of the line read as `key = …` / `key {`. */
  private startsField(): boolean {
    const first = this.toks[this.i]!.t;
    if (first !== 'unquoted' && first !== 'string' && first !== 'number' && first !== 'boolean') return false;
    for (let j = this.i + 1; ; j++) {
      const t = this.toks[j]!.t;
      if (t === '=' || t === ':' || t === '+=' || t === '{') return true;
      if (t === 'nl' || t === 'eof' || t === ',' || t === '}' || t === '[' || t === ']' || t === 'subst')
        return false;
    }
  }

  private keyText(toks: Token[]): string {
    return toks.map((t) => (t.t === 'string' ? `"${t.value}"` : 'text' in t ? t.text : '')).join('');
  }

  /** `include` starts an include statement only when a quoted string or file(/url(/required( follows. */
  private looksLikeInclude(): boolean {
    let j = this.i + 1;
    while (this.toks[j]!.t === 'ws' || this.toks[j]!.t === 'nl') j++;
    const next = this.toks[j]!;
    return (
      next.t === 'string' || (next.t === 'unquoted' && /^(required|file|url|classpath)\(/.test(next.text))
    );
  }

  private include(): IncludeNode {
    const pos = this.peek().pos;
    this.i++;
    this.skip(true);
    let shape = '';
    let target: string | undefined;
    for (;;) {
      const tok = this.peek();
      if (tok.t === 'nl' || tok.t === ',' || tok.t === '}' || tok.t === 'eof') break;
      if (tok.t === 'string') {
        if (target !== undefined) this.fail(tok.pos, 'an include takes one quoted file name');
        target = tok.value;
        // A quote cannot occur in unquoted text, so it marks where the file name stands.
        shape += '"';
      } else if (tok.t === 'unquoted') shape += tok.text;
      else if (tok.t !== 'ws') this.fail(tok.pos, `unexpected ${describe(tok)} in include`);
      this.i++;
    }
    const m = /^(required\()?(?:(file|url|classpath)\()?"(\)*)$/.exec(shape);
    const opened = m ? (m[1] ? 1 : 0) + (m[2] ? 1 : 0) : -1;
    if (!m || target === undefined || m[3]!.length !== opened) {
      this.fail(pos, 'expected include "file", include file("…") or include required("…")');
    }
    return {
      type: 'include',
      target,
      required: m[1] !== undefined,
      scheme: (m[2] as 'file' | 'url' | 'classpath' | undefined) ?? 'file',
      pos,
    };
  }

  /** A value: one or more simple values, objects, arrays or substitutions on one line (a concatenation). */
  private value(): ValueNode {
    const start = this.peek();
    const parts: Array<ValueNode | WsNode> = [];
    for (;;) {
      const tok = this.peek();
      if (tok.t === 'nl' || tok.t === ',' || tok.t === '}' || tok.t === ']' || tok.t === 'eof') break;
      this.i++;
      switch (tok.t) {
        case 'ws':
          parts.push({ type: 'ws', text: tok.text, pos: tok.pos });
          break;
        case '{':
          parts.push(this.objectBody(true, tok.pos));
          break;
        case '[':
          parts.push(this.array(tok.pos));
          break;
        case 'string':
          parts.push({ type: 'scalar', value: tok.value, text: tok.value, pos: tok.pos });
          break;
        case 'unquoted':
          parts.push({ type: 'scalar', value: tok.text, text: tok.text, pos: tok.pos });
          break;
        case 'number':
        case 'boolean':
          parts.push({ type: 'scalar', value: tok.value, text: tok.text, pos: tok.pos });
          break;
        case 'null':
          parts.push({ type: 'scalar', value: null, text: tok.text, pos: tok.pos });
          break;
        case 'subst':
          parts.push({ type: 'subst', path: tok.path, optional: tok.optional, text: tok.text, pos: tok.pos });
          break;
        default:
          this.fail(tok.pos, `unexpected '${tok.t}' in a value (quote strings that contain it)`);
      }
    }
    while (parts.length > 0 && parts[parts.length - 1]!.type === 'ws') parts.pop();
    while (parts.length > 0 && parts[0]!.type === 'ws') parts.shift();
    if (parts.length === 0) this.fail(start.pos, `expected a value, found ${describe(start)}`);
    if (parts.length === 1) return parts[0] as ValueNode;
    return { type: 'concat', parts, pos: parts[0]!.pos };
  }

  private array(open: Position): ArrayNode {
    this.enter(1, open);
    const items: ValueNode[] = [];
    for (;;) {
      this.skip(true);
      const tok = this.peek();
      if (tok.t === ']') {
        this.i++;
        break;
      }
      if (tok.t === 'eof' || tok.t === '}') {
        this.fail(tok.pos, `missing ']' for the array opened at line ${open.line}, found ${describe(tok)}`);
      }
      if (tok.t === ',') this.fail(tok.pos, "unexpected ','");
      items.push(this.value());
      this.skip(false);
      const sep = this.peek();
      if (sep.t === ',') this.i++;
      else if (sep.t !== 'nl' && sep.t !== ']') {
        this.fail(
          sep.pos,
          `expected ',' or ']' in the array opened at line ${open.line}, found ${describe(sep)}`,
        );
      }
    }
    this.depth--;
    return { type: 'array', items, pos: open };
  }
}
