/** printHocon: what it prints reads back as the same data (property test), and looks like EMQX's output. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Json, parseHocon, printHocon } from '../../src/config/hocon/index.js';

/** JSON data as config holds it: finite numbers, any strings and keys (quoted when needed). */
const key = fc.oneof(fc.constantFrom('a', 'max_inflight', 'tcp', '1', 'x-y'), fc.string({ maxLength: 8 }));
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.boolean(),
  fc.constant(null),
);
const json: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 3 }),
  ),
})).value;
const root = fc.dictionary(key, json, { maxKeys: 5 });

describe('printHocon', () => {
  test('round trip: parseHocon(printHocon(x)) equals x', () => {
    fc.assert(
      fc.property(root, (x) => {
        const r = parseHocon(printHocon(x));
        assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
        assert.deepEqual(r.value, JSON.parse(JSON.stringify(x)));
      }),
      { numRuns: 300 },
    );
  });

  test('blocks for objects, key = value for the rest', () => {
    assert.equal(
      printHocon({
        node: { name: 'emqx@127.0.0.1' },
        listeners: { tcp: { default: { bind: '0.0.0.0:1883' } } },
        a: [1, 'b'],
      }),
      [
        'node {',
        '    name = "emqx@127.0.0.1"',
        '}',
        'listeners {',
        '    tcp {',
        '        default {',
        '            bind = "0.0.0.0:1883"',
        '        }',
        '    }',
        '}',
        'a = [1, "b"]',
        '',
      ].join('\n'),
    );
  });
});
