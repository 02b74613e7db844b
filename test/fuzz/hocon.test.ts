/**
 * Fuzzing the HOCON reader: random and mutated documents never throw (every refusal is a HoconError with a
 * line and column inside the text), and valid documents, written as JSON or in HOCON's own styles, give
 * back the values they were written from.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { type HoconResult, type Json, parseHocon, parseHoconValue } from '../../src/config/hocon/index.js';
import { mutate, mutationsArb, noThrow, params } from './fuzz.js';

/** Includes in random text resolve against an empty directory of their own. */
const dir = mkdtempSync(join(tmpdir(), 'hermod-fuzz-hocon-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Parses; checks no exception escapes and every error points inside the text. */
function parse(text: string): HoconResult {
  const r = noThrow('parseHocon', () => parseHocon(text, { dir, env: {} }));
  if (!r.ok) {
    assert.ok(r.errors.length > 0);
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const e of r.errors) {
      assert.equal(typeof e.message, 'string');
      assert.ok(e.line >= 1 && e.line <= lines + 1, `line ${e.line} of ${lines}: ${e.message}`);
      assert.ok(e.col >= 1, `col ${e.col}: ${e.message}`);
    }
  }
  return r;
}

/** Tokens HOCON gives meaning to, so random text exercises the grammar and not only the lexer. */
const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  '=',
  ':',
  '+=',
  ',',
  '.',
  '"',
  '"""',
  '${',
  '${?',
  '}',
  '#',
  '//',
  '\n',
  '\r\n',
  ' ',
  '\t',
  'a',
  'b.c',
  'include',
  'include "x.conf"',
  'include required(file("y"))',
  'true',
  'null',
  '42',
  '-1.5e3',
  '1s',
  '"q\\u00e9"',
  '"\\',
  '\\',
  '${a}',
  '${?b.c}',
  'a = ${a} x',
  '\uFEFF',
  'ü',
  '💡',
  '\u0000',
];

const tokenText = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(''));

/** JSON with keys that HOCON treats specially among the random ones. */
const key = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom(
    'include',
    'true',
    'null',
    'a.b',
    '1',
    '-',
    '__proto__',
    'constructor',
    'toString',
    '$x',
    '',
  ),
);
const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('${a}', 'true', '10s', '', ' padded ', 'line\nbreak', '"quoted"', '\\'),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('tree'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('tree'), { maxKeys: 4, noNullPrototype: true }),
}));
const documentArb = fc
  .dictionary(key, tree, { maxKeys: 6, noNullPrototype: true })
  .map((d) => JSON.parse(JSON.stringify(d)) as { [k: string]: Json });

/** A key HOCON reads as one plain path segment without quotes. */
const BARE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const KEYWORDS = new Set(['include', 'true', 'false', 'null', 'yes', 'no', 'on', 'off']);

interface Style {
  sep: '=' | ':';
  /** Omit the separator before an object value. */
  bareObject: boolean;
  /** Newlines instead of commas between fields and items. */
  newlines: boolean;
  comments: boolean;
  bareKeys: boolean;
  bareStrings: boolean;
  tripleQuotes: boolean;
  /** Write single-field objects as dotted paths (`a.b = 1`). */
  paths: boolean;
}

const styleArb: fc.Arbitrary<Style> = fc.record({
  sep: fc.constantFrom<'=' | ':'>('=', ':'),
  bareObject: fc.boolean(),
  newlines: fc.boolean(),
  comments: fc.boolean(),
  bareKeys: fc.boolean(),
  bareStrings: fc.boolean(),
  tripleQuotes: fc.boolean(),
  paths: fc.boolean(),
});

const isBare = (s: string) => BARE.test(s) && !KEYWORDS.has(s);

function renderKey(k: string, s: Style): string {
  return s.bareKeys && isBare(k) ? k : JSON.stringify(k);
}

/** Whether `v` holds a quote, a backslash or a control character (none of which triple quotes can carry). */
function hasQuoteOrControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
  }
  return false;
}

function renderValue(v: Json, s: Style, indent: string): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'string') {
    if (s.bareStrings && isBare(v)) return v;
    // Triple quotes take text raw: no escapes, so no quote or control characters in it.
    if (s.tripleQuotes && v.length > 0 && !hasQuoteOrControl(v)) return `"""${v}"""`;
    return JSON.stringify(v);
  }
  const inner = `${indent}  `;
  const join = (parts: string[], open: string, close: string) =>
    parts.length === 0
      ? `${open}${close}`
      : s.newlines
        ? `${open}\n${parts.map((p) => `${inner}${p}`).join('\n')}\n${indent}${close}`
        : `${open}${parts.join(', ')}${close}`;
  if (Array.isArray(v))
    return join(
      v.map((x) => renderValue(x, s, inner)),
      '[',
      ']',
    );
  return join(renderFields(v, s, inner), '{', '}');
}

function renderFields(o: { [k: string]: Json }, s: Style, indent: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    let path = renderKey(k, s);
    let value = v;
    // A dotted path stands for nested single-field objects.
    while (
      s.paths &&
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length === 1
    ) {
      const [[k2, v2]] = Object.entries(value) as [[string, Json]];
      path += `.${renderKey(k2, s)}`;
      value = v2;
    }
    const isObj = value !== null && typeof value === 'object' && !Array.isArray(value);
    const sep = isObj && s.bareObject ? ' ' : ` ${s.sep} `;
    const comment = s.comments ? (out.length % 2 === 0 ? ' # note' : ' // note') : '';
    out.push(`${path}${sep}${renderValue(value, s, indent)}${s.newlines ? comment : ''}`);
  }
  return out;
}

function renderDocument(d: { [k: string]: Json }, s: Style, braces: boolean): string {
  const fields = renderFields(d, s, braces ? '  ' : '');
  const body = fields.join(s.newlines ? '\n' : ', ');
  const head = s.comments ? '# generated\n' : '';
  return braces ? `${head}{\n${fields.map((f) => `  ${f}`).join('\n')}\n}\n` : `${head}${body}\n`;
}

describe('fuzz: HOCON reader', () => {
  it('regressions found by these properties', () => {
    const refused = (text: string, message: RegExp) => {
      const r = parse(text);
      assert.ok(!r.ok, text.slice(0, 40));
      assert.match(r.errors[0]!.message, message);
    };
    // "//" inside a substitution made the lexer loop for ever, allocating until the heap ran out.
    refused('a = ${?//x}', /unexpected '\/\/' in substitution/);
    refused('a = ${b//', /unexpected '\/\/' in substitution/);
    // JSON's exponent sign was taken for the start of '+='.
    assert.deepStrictEqual((parse('a = 1e+21, b = [2.5E+3]') as { value: unknown }).value, {
      a: 1e21,
      b: [2500],
    });
    assert.deepStrictEqual((parse('a = -1e+2') as { value: unknown }).value, { a: -100 });
    // A "__proto__" key replaced the object's prototype instead of being kept; inherited names resolved.
    const proto = parse('"__proto__" { polluted = 1 }\nb = ${?constructor}\nc { "__proto__" = x }');
    assert.ok(proto.ok);
    assert.deepStrictEqual(
      proto.value,
      JSON.parse('{"__proto__": {"polluted": 1}, "c": {"__proto__": "x"}}'),
    );
    assert.equal((proto.value as { polluted?: unknown }).polluted, undefined);
    // Deep nesting and long chains overflowed the stack (a RangeError escaped) or exhausted the heap.
    refused(`a = ${'['.repeat(100000)}`, /nesting deeper than/);
    refused(`a = ${'{b:'.repeat(50000)}`, /nesting deeper than/);
    refused(`${'a.'.repeat(60000)}b = 1`, /nesting deeper than/);
    const chain = Array.from({ length: 5000 }, (_, i) => `a${i} = \${a${i + 1}}`).join('\n');
    refused(`${chain}\na5000 = 1`, /levels deep/);
    refused(`a = []\n${'a += 1\n'.repeat(5000)}`, /levels deep/);
    refused(`a = x\n${'a = ${a}y\n'.repeat(5000)}`, /levels deep/);
    const value = parseHoconValue('['.repeat(100000));
    assert.ok(!value.ok && /nesting deeper than/.test(value.error.message));
  });

  it('random text: no exception, a value or errors with a position inside the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), tokenText),
        (text) => {
          parse(text);
          const v = noThrow('parseHoconValue', () => parseHoconValue(text, { env: {} }));
          if (!v.ok) assert.ok(v.error.line >= 1);
        },
      ),
      params(3000),
    );
  });

  it('valid documents written as JSON give back their values', () => {
    fc.assert(
      fc.property(documentArb, fc.constantFrom(undefined, 0, 2), (d, indent) => {
        const r = parse(JSON.stringify(d, null, indent));
        assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
        assert.deepStrictEqual(r.value, d);
      }),
      params(800),
    );
  });

  it('valid documents written in HOCON styles give back their values', () => {
    fc.assert(
      fc.property(documentArb, styleArb, fc.boolean(), (d, style, braces) => {
        const text = renderDocument(d, style, braces);
        const r = parse(text);
        assert.ok(r.ok, r.ok ? '' : `${JSON.stringify(r.errors)}\n${text}`);
        assert.deepStrictEqual(r.value, d, text);
      }),
      params(800),
    );
  });

  it('mutated valid documents: no exception, a value or errors with a position inside the text', () => {
    fc.assert(
      fc.property(documentArb, styleArb, fc.boolean(), mutationsArb, (d, style, braces, edits) => {
        const bytes = mutate(Buffer.from(renderDocument(d, style, braces)), edits);
        parse(bytes.toString('utf8'));
      }),
      params(1500),
    );
  });
});
