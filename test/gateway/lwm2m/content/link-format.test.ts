/** CoRE link-format: registration payloads, discover answers, quoting, and garbage. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Link } from '../../../../src/gateway/lwm2m/content/api.js';
import {
  parseLinkFormat,
  serializeLinkFormat,
  splitLinkFormat,
} from '../../../../src/gateway/lwm2m/content/link-format.js';
import { FUZZ_RUNS, onlyContentError } from './helpers.js';

const plain = (links: readonly Link[]) =>
  links.map((l) => ({ target: l.target, params: Object.fromEntries(l.params) }));

describe('link-format', () => {
  it('parses a LwM2M 1.1 registration payload', () => {
    assert.deepEqual(plain(parseLinkFormat('</1/0>,</3/0>;ver=1.1,</lwm2m>;rt="oma.lwm2m"')), [
      { target: '/1/0', params: {} },
      { target: '/3/0', params: { ver: '1.1' } },
      { target: '/lwm2m', params: { rt: 'oma.lwm2m' } },
    ]);
  });

  it('accepts the spaces EMQX test devices put after commas, and an empty payload', () => {
    assert.deepEqual(
      parseLinkFormat('</1>, </2>, </3/0>').map((l) => l.target),
      ['/1', '/2', '/3/0'],
    );
    assert.deepEqual(parseLinkFormat(''), []);
    assert.deepEqual(parseLinkFormat('  \r\n'), []);
  });

  it('keeps ; and , inside quoted values, unescapes, and marks flags', () => {
    const [link] = parseLinkFormat('</3/0/1>;title="a;b,c \\"q\\"";obs;ct=11543');
    assert.deepEqual(plain([link!]), [
      { target: '/3/0/1', params: { title: 'a;b,c "q"', obs: true, ct: '11543' } },
    ]);
  });

  it('splits a discover answer into its links as written', () => {
    assert.deepEqual(splitLinkFormat('</3/0>;pmin=10, </3/0/1>,</3/0/2>;title="x,y"'), [
      '</3/0>;pmin=10',
      '</3/0/1>',
      '</3/0/2>;title="x,y"',
    ]);
  });

  it('serializes with quotes where needed', () => {
    const links: Link[] = [
      {
        target: '/',
        params: new Map<string, string | true>([
          ['rt', 'oma.lwm2m'],
          ['ct', '11543'],
        ]),
      },
      {
        target: '/3/0',
        params: new Map<string, string | true>([
          ['ver', '1.1'],
          ['obs', true],
          ['title', 'a b'],
        ]),
      },
    ];
    assert.equal(serializeLinkFormat(links), '</>;rt="oma.lwm2m";ct=11543,</3/0>;ver=1.1;obs;title="a b"');
  });

  it('refuses garbage with the offset', () => {
    for (const [doc, message] of [
      ['/1/0', /"<" expected at offset 0/],
      ['</1/0', /not closed with ">"/],
      ['</1>;rt="open', /quoted value is not closed/],
      ['</1> </2>', /"," expected/],
      ['</1>;=3', /parameter name is missing/],
      ['</1>;a=', /parameter value is missing/],
      ['</1>,', /"<" expected/],
      ['<</1>>', /contains "<"/],
    ] as const) {
      assert.throws(() => parseLinkFormat(doc), message, doc);
    }
  });

  it('parse(serialize(links)) is the links', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9._-]{0,7}$/);
    const link = fc.record({
      target: fc.string({ maxLength: 20 }).filter((t) => !t.includes('>') && !t.includes('<')),
      params: fc
        .uniqueArray(fc.tuple(name, fc.oneof(fc.constant(true as const), fc.string({ maxLength: 12 }))), {
          selector: ([n]) => n,
          maxLength: 4,
        })
        .map((entries) => new Map<string, string | true>(entries)),
    });
    fc.assert(
      fc.property(fc.array(link, { maxLength: 5 }), (links) => {
        assert.deepEqual(plain(parseLinkFormat(serializeLinkFormat(links))), plain(links));
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary text only ever raises ContentError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom(...'<>/;,="\\ ab1') }), (doc) =>
        onlyContentError(() => parseLinkFormat(doc)),
      ),
      FUZZ_RUNS,
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (doc) => onlyContentError(() => parseLinkFormat(doc))),
      FUZZ_RUNS,
    );
  });
});
