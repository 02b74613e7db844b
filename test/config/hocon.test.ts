/** The HOCON parser against a corpus of snippets: what each good one means and the exact error of each bad one. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatHoconError, parseHocon, parseHoconValue } from '../../src/config/hocon/index.js';

function parse(text: string, env: Record<string, string> = {}): unknown {
  const r = parseHocon(text, { env, file: 't.conf' });
  if (!r.ok) assert.fail(r.errors.map(formatHoconError).join('\n'));
  return r.value;
}

function errorOf(text: string, env: Record<string, string> = {}): string {
  const r = parseHocon(text, { env, file: 't.conf' });
  assert.equal(r.ok, false, 'expected an error');
  return r.ok ? '' : r.errors.map(formatHoconError).join('\n');
}

const GOOD: Array<[string, string, unknown, Record<string, string>?]> = [
  ['empty file', '', {}],
  ['only comments', '# a\n// b\n', {}],
  [
    'JSON',
    '{"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}}',
    { a: 1, b: [true, null, 'x'], c: { d: 1.5 } },
  ],
  ['root braces omitted, = and :', 'a = 1\nb: 2', { a: 1, b: 2 }],
  ['object without separator', 'node {\n  name = "n"\n}', { node: { name: 'n' } }],
  ['object with = and :', 'a = { x = 1 }\nb : { y : 2 }', { a: { x: 1 }, b: { y: 2 } }],
  ['dotted keys', 'a.b.c = 1\na.b.d = 2', { a: { b: { c: 1, d: 2 } } }],
  ['quoted key keeps its dot', '"a.b" = 1\na."c.d".e = 2', { 'a.b': 1, a: { 'c.d': { e: 2 } } }],
  ['repeated object merges', 'a { x = 1 }\na { y = 2 }\na.z = 3', { a: { x: 1, y: 2, z: 3 } }],
  ['later scalar wins', 'a = 1\na = 2', { a: 2 }],
  ['non-object hides earlier object', 'a { x = 1 }\na = null\na { y = 2 }', { a: { y: 2 } }],
  ['object over scalar', 'a = 1\na { y = 2 }', { a: { y: 2 } }],
  ['scalar over object', 'a { y = 2 }\na = 5', { a: 5 }],
  ['commas and newlines', 'a = 1, b = 2\nc = 3,\n', { a: 1, b: 2, c: 3 }],
  ['arrays', 'a = [1, 2, 3,]\nb = [\n  1\n  2\n]\nc = []', { a: [1, 2, 3], b: [1, 2], c: [] }],
  ['array of objects', 'a = [{x = 1}, {y = "s"}]', { a: [{ x: 1 }, { y: 's' }] }],
  ['comments after values', 'a = 1 # one\nb = "x" // two\nc = foo//bar', { a: 1, b: 'x', c: 'foo' }],
  ['# inside quotes', 'a = "x # y // z"', { a: 'x # y // z' }],
  [
    'unquoted strings',
    'a = hello\nb = emqx@127.0.0.1\nc = a-b_c.d/e',
    { a: 'hello', b: 'emqx@127.0.0.1', c: 'a-b_c.d/e' },
  ],
  [
    'durations and sizes stay strings',
    'a = 30s\nb = 1MB\nc = 1h30m\nd = 100ms',
    { a: '30s', b: '1MB', c: '1h30m', d: '100ms' },
  ],
  ['numbers', 'a = 0\nb = -5\nc = 1.5\nd = 1e3\ne = 010', { a: 0, b: -5, c: 1.5, d: 1000, e: '010' }],
  [
    'booleans and null',
    'a = true\nb = false\nc = null\nd = truefoo',
    { a: true, b: false, c: null, d: 'truefoo' },
  ],
  [
    'value concatenation keeps inner whitespace',
    'a = foo  bar baz  \nb = 1 2\nc = "x" y',
    { a: 'foo  bar baz', b: '1 2', c: 'x y' },
  ],
  ['key with spaces', 'a b c = 1', { 'a b c': 1 }],
  ['escapes', 'a = "tab\\tnl\\nq\\"u\\u0041\\\\"', { a: 'tab\tnl\nq"uA\\' }],
  ['triple-quoted', 'a = """line1\n  "quoted" \\n line2"""', { a: 'line1\n  "quoted" \\n line2' }],
  ['triple-quoted with extra quotes', 'a = """x""""', { a: 'x"' }],
  ['braced root', '{\n  a = 1\n}\n', { a: 1 }],
  ['substitution of a path', 'a = 1\nb = ${a}', { a: 1, b: 1 }],
  ['substitution looks forward', 'b = ${a.x}\na.x = [1]', { a: { x: [1] }, b: [1] }],
  ['substitution keeps the type', 'a { x = 1 }\nb = ${a}', { a: { x: 1 }, b: { x: 1 } }],
  ['substitution sees the last value', 'a = 1\nb = ${a}\na = 2', { a: 2, b: 2 }],
  ['substitution inside its own object', 'bar { foo = 42, baz = ${bar.foo} }', { bar: { foo: 42, baz: 42 } }],
  ['substitution from the environment', 'a = ${HOME_DIR}', { a: '/home/x' }, { HOME_DIR: '/home/x' }],
  [
    'config wins over environment',
    'HOME_DIR = cfg\na = ${HOME_DIR}',
    { HOME_DIR: 'cfg', a: 'cfg' },
    { HOME_DIR: '/env' },
  ],
  ['optional substitution missing', 'a = ${?NOPE}\nb = 1\nb = ${?NOPE}', { b: 1 }],
  ['optional substitution set', 'a = ${?X}', { a: 'v' }, { X: 'v' }],
  ['optional substitution in an array', 'a = [1, ${?NOPE}, 2]', { a: [1, 2] }],
  [
    'concatenation with substitution',
    'host = h\nurl = "mqtt://"${host}":1883"',
    { host: 'h', url: 'mqtt://h:1883' },
  ],
  ['number in concatenation keeps its text', 'v = 1.0\ns = ${v} x', { v: 1, s: '1 x' }],
  ['missing optional in concatenation is empty', 'a = x${?NOPE}y', { a: 'xy' }],
  ['self-referential string', 'path = a\npath = ${path}":b"', { path: 'a:b' }],
  [
    'self-reference falls back to the environment',
    'path = ${PATH}":/x"',
    { path: '/bin:/x' },
    { PATH: '/bin' },
  ],
  ['self-referential array', 'a = [1]\na = ${a} [2]', { a: [1, 2] }],
  ['self-referential object', 'a { x = 1 }\na = ${a} { y = 2 }', { a: { x: 1, y: 2 } }],
  ['+= appends', 'a = [1]\na += 2\nb += x', { a: [1, 2], b: ['x'] }],
  ['array concatenation', 'a = [1, 2] [3]', { a: [1, 2, 3] }],
  ['object concatenation', 'a = { x = 1 } { y = 2 }', { a: { x: 1, y: 2 } }],
  [
    'substitution merged with an object',
    'base { x = 1, y = 1 }\nc = ${base} { y = 2 }',
    {
      base: { x: 1, y: 1 },
      c: { x: 1, y: 2 },
    },
  ],
  ['CRLF line ends', 'a = 1\r\nb = 2\r\n', { a: 1, b: 2 }],
  ['value on the next line after =', 'a =\n  5', { a: 5 }],
  ['include as a key part and a value', 'foo include = 1\nb = include', { 'foo include': 1, b: 'include' }],
  ['number-like keys', '10.0 = x\ntrue = y', { '10': { '0': 'x' }, true: 'y' }],
];

const BAD: Array<[string, string, string, Record<string, string>?]> = [
  ['unclosed object', 'a {\n  b = 1\n', "t.conf:3:1: missing '}' for the object opened at line 1"],
  ['unbalanced brace', 'a = 1\n}\n', "t.conf:2:1: unbalanced '}'"],
  ['unclosed array', 'a = [1, 2\n}', "t.conf:2:1: missing ']' for the array opened at line 1, found '}'"],
  ['missing value', 'a = \nb = 1', "t.conf:1:3: expected a value after '='"],
  ['missing separator', 'a 1', "t.conf:1:4: expected '=', ':' or '{' after key 'a 1', found end of file"],
  [
    'unquoted colon in a value',
    'bind = 0.0.0.0:1883',
    "t.conf:1:15: unexpected ':' in a value (quote strings that contain it)",
  ],
  ['double comma', 'a = 1,,b = 2', "t.conf:1:7: unexpected ','"],
  ['leading comma in array', 'a = [,1]', "t.conf:1:6: unexpected ','"],
  ['unterminated string', 'a = "abc\nb = 1', 't.conf:1:5: unterminated quoted string'],
  ['unterminated triple string', 'a = """abc', 't.conf:1:5: unterminated """ string'],
  ['bad escape', 'a = "\\q"', "t.conf:1:6: invalid escape '\\q' in quoted string"],
  ['stray dollar', 'a = $x', "t.conf:1:5: unexpected '$' (substitutions are written ${path})"],
  ['unterminated substitution', 'a = ${b\n', "t.conf:1:5: unterminated substitution (missing '}')"],
  ['substitution in a key', '${a} = 1', 't.conf:1:1: substitutions are not allowed in keys'],
  ['empty path segment', 'a..b = 1', 't.conf:1:1: empty path segment'],
  ['forbidden character', 'a = x^y', "t.conf:1:6: unexpected '^' (quote strings that contain it)"],
  ['root array', '[1, 2]', 't.conf:1:1: the root of a config file must be an object, not an array'],
  [
    'two fields on a line',
    'a = 1 b = 2',
    "t.conf:1:9: unexpected '=' in a value (quote strings that contain it)",
  ],
  [
    'unresolved substitution',
    'a = ${nope.x}',
    't.conf:1:5: unresolved substitution ${nope.x}: no such key and no environment variable nope.x',
  ],
  ['circular substitution', 'a = ${b}\nb = ${a}', 't.conf:2:5: circular substitution ${a}'],
  [
    'object concatenated with a string',
    'a = { x = 1 } y',
    't.conf:1:5: cannot concatenate an object or array with a string',
  ],
  [
    'bad include',
    'include foo',
    "t.conf:1:12: expected '=', ':' or '{' after key 'include foo', found end of file",
  ],
  [
    'url include',
    'include url("http://x/y.conf")',
    't.conf:1:1: include url(…) is not supported; use include file("…")',
  ],
];

describe('HOCON corpus: good', () => {
  for (const [name, text, expected, env] of GOOD) {
    test(name, () => assert.deepEqual(parse(text, env), expected));
  }
});

describe('HOCON corpus: bad (exact error)', () => {
  for (const [name, text, expected, env] of BAD) {
    test(name, () => assert.equal(errorOf(text, env), expected));
  }
});

describe('HOCON origins', () => {
  test('every key path maps to the line that set it last', () => {
    const r = parseHocon('a {\n  b = 1\n}\na.c = 2\na.b = 3\n"x.y" { z = [1] }\n', { file: 'o.conf' });
    assert.ok(r.ok);
    const lines = Object.fromEntries([...r.origins].map(([k, o]) => [k, `${o.file}:${o.line}:${o.col}`]));
    assert.deepEqual(lines, {
      a: 'o.conf:1:1',
      'a.b': 'o.conf:5:1',
      'a.c': 'o.conf:4:1',
      'x.y': 'o.conf:6:1',
      'x.y.z': 'o.conf:6:9',
    });
  });
});

describe('HOCON single values (environment variables)', () => {
  const cases: Array<[string, unknown]> = [
    ['42', 42],
    ['true', true],
    ['hello world', 'hello world'],
    ['"quoted: yes"', 'quoted: yes'],
    ['[1, "a", [2]]', [1, 'a', [2]]],
    ['{a = 1, b { c = x }}', { a: 1, b: { c: 'x' } }],
    ['30s', '30s'],
  ];
  for (const [text, expected] of cases) {
    test(text, () => {
      const r = parseHoconValue(text);
      assert.ok(r.ok);
      assert.deepEqual(r.value, expected);
    });
  }
  test('text that is not one HOCON value is an error (the caller keeps the string)', () => {
    assert.equal(parseHoconValue('127.0.0.1:1883').ok, false);
    assert.equal(parseHoconValue('').ok, false);
  });
  test('substitutions take environment variables', () => {
    const r = parseHoconValue('${D}/data', { env: { D: '/var' } });
    assert.ok(r.ok);
    assert.equal(r.value, '/var/data');
  });
});

describe('HOCON array element paths (EMQX: 1-based)', () => {
  const value = (text: string) => {
    const r = parseHocon(text);
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatHoconError).join('\n'));
    return r.value;
  };

  test('a key below an index changes that element in place', () => {
    assert.deepEqual(value('a = [{x = 1}, {x = 2}]\na.2.x = 3\na.1.y = true\n'), {
      a: [{ x: 1, y: true }, { x: 3 }],
    });
  });

  test('an index as the last segment replaces the element, or merges an object into an object', () => {
    assert.deepEqual(value('l = [1, 2, 3]\nl.3 = 9\n'), { l: [1, 2, 9] });
    assert.deepEqual(value('a = [{x = 1}]\na.1 { y = 2 }\n'), { a: [{ x: 1, y: 2 }] });
    assert.deepEqual(value('a = [[1, 2], [3]]\na.1.2 = 5\n'), { a: [[1, 5], [3]] });
  });

  test('an index past the end, or 0, is an ordinary key: the array is replaced by an object', () => {
    assert.deepEqual(value('a = [1]\na.2 = 5\n'), { a: { '2': 5 } });
    assert.deepEqual(value('a = [1]\na.0 = 5\n'), { a: { '0': 5 } });
  });
});
