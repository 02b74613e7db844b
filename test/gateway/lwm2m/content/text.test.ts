/** text/plain and opaque: single resources typed from their definitions, as EMQX's case10/12/14 expect. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { JsonValue } from '../../../../src/gateway/lwm2m/content/api.js';
import { UnknownObjectError, UnknownResourceError } from '../../../../src/gateway/lwm2m/content/errors.js';
import { contentToOpaque, opaqueToContent } from '../../../../src/gateway/lwm2m/content/opaque.js';
import { contentToText, textToContent } from '../../../../src/gateway/lwm2m/content/text.js';
import { FUZZ_RUNS, onlyContentError, registry } from './helpers.js';
import { typedValues } from './values.js';

const text = (path: number[], body: string) => textToContent(registry, path, Buffer.from(body));

describe('text/plain', () => {
  it('types values from the definitions', () => {
    assert.deepEqual(text([3, 0, 0], 'EMQ'), [{ path: '/3/0/0', value: 'EMQ' }]);
    assert.deepEqual(text([1, 0, 6], 'true'), [{ path: '/1/0/6', value: true }]);
    assert.deepEqual(text([1, 0, 6], '0'), [{ path: '/1/0/6', value: false }]);
    assert.deepEqual(text([6, 0, 4], 'abc'), [{ path: '/6/0/4', value: 'YWJj' }]);
    assert.deepEqual(text([6, 0, 0], '12.5'), [{ path: '/6/0/0', value: 12.5 }]);
    assert.deepEqual(text([3, 0, 22, 0], '1:2'), [{ path: '/3/0/22/0', value: '1:2' }]);
    assert.deepEqual(text([3, 0, 13], '1700000000'), [{ path: '/3/0/13', value: 1700000000 }]);
  });

  it('refuses unknown objects (EMQX case13_read_no_xml) and resources, and mistyped text', () => {
    assert.throws(() => text([9723, 0, 0], 'EMQ'), UnknownObjectError);
    assert.throws(() => text([3333, 0, 0], 'EMQ'), UnknownObjectError);
    assert.throws(() => text([3, 0, 99], 'EMQ'), UnknownResourceError);
    assert.throws(() => text([3, 0], 'EMQ'), /answers only a resource/);
    assert.throws(() => text([3, 0, 9], 'ten'), /not a Integer value/);
    assert.throws(() => text([1, 0, 6], 'yes'), /not a Boolean/);
    assert.throws(() => text([3, 0, 22, 0], '1-2'), /Objlnk/);
  });

  it('decode(encode(value)) is the value for every type', () => {
    fc.assert(
      fc.property(typedValues(), (v) => {
        assert.deepEqual(textToContent(registry, v.path, contentToText(v)), [
          { path: `/${v.path.join('/')}`, value: v.value },
        ]);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes only ever raise ContentError', () => {
    const paths = fc.constantFrom(
      [3, 0, 0],
      [3, 0, 9],
      [3, 0, 13],
      [1, 0, 6],
      [6, 0, 0],
      [3, 0, 22, 1],
      [6, 0, 4],
      [3, 0],
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), paths, (bytes, path) =>
        onlyContentError(() => textToContent(registry, path, Buffer.from(bytes))),
      ),
      FUZZ_RUNS,
    );
  });
});

describe('opaque', () => {
  it('renders the bytes as base64 (EMQX case12_read_resource_opaque)', () => {
    assert.deepEqual(opaqueToContent([3, 0, 8], Buffer.from([20, 21, 22, 23])), [
      { path: '/3/0/8', value: 'FBUWFw==' },
    ]);
  });

  it('decode(encode(base64)) is the base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const b64: JsonValue = Buffer.from(bytes).toString('base64');
        assert.deepEqual(opaqueToContent([5, 0, 0], contentToOpaque(b64)), [{ path: '/5/0/0', value: b64 }]);
      }),
    );
  });
});
