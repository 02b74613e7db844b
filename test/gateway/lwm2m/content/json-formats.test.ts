/** LwM2M JSON (11543), SenML JSON (110), SenML CBOR (112) and CBOR (60): examples, round trips, bad payloads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ContentFormat } from '../../../../src/gateway/lwm2m/content/api.js';
import { cborToContent, contentToCbor } from '../../../../src/gateway/lwm2m/content/cbor.js';
import { createContentCodec } from '../../../../src/gateway/lwm2m/content/codec.js';
import { contentToLwm2mJson, lwm2mJsonToContent } from '../../../../src/gateway/lwm2m/content/lwm2m-json.js';
import { contentToSenmlCbor, senmlCborToContent } from '../../../../src/gateway/lwm2m/content/senml-cbor.js';
import { contentToSenmlJson, senmlJsonToContent } from '../../../../src/gateway/lwm2m/content/senml-json.js';
import type { TypedValue } from '../../../../src/gateway/lwm2m/content/typed.js';
import { FUZZ_RUNS, hex, onlyContentError, registry } from './helpers.js';
import { typedValues } from './values.js';

const codec = createContentCodec(registry);
const json = (doc: unknown) => Buffer.from(JSON.stringify(doc));
const expected = (values: readonly TypedValue[]) =>
  values.map((v) => ({ path: `/${v.path.join('/')}`, value: v.value }));
/** Each payload is refused with a ContentError whose message matches. */
function refuses(format: number, cases: ReadonlyArray<readonly [string, RegExp]>): void {
  for (const [payload, message] of cases) {
    assert.throws(() => codec.decode('/3/0', format, Buffer.from(payload)), message, payload);
  }
}
const distinct = fc.uniqueArray(typedValues(), {
  selector: (v) => v.path.join('/'),
  minLength: 1,
  maxLength: 8,
});

describe('LwM2M JSON', () => {
  it('decodes EMQX case11_read_object_json (values without v/sv/bv/ov left out)', () => {
    const payload = Buffer.from(
      '{"bn":"/3/0","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},' +
        '{"n":"2","sv":"345000123"},{"n":"13","v":1700000000},{"n":"6","bv":true},{"n":"22","ov":"1:2"},' +
        '{"n":"15","t":123},{"n":"99"}]}',
    );
    assert.deepEqual(codec.decode('/3/0', ContentFormat.LWM2M_JSON, payload), [
      { path: '/3/0/0', value: 'Open Mobile Alliance' },
      { path: '/3/0/1', value: 'Lightweight M2M Client' },
      { path: '/3/0/2', value: '345000123' },
      { path: '/3/0/13', value: 1700000000 },
      { path: '/3/0/6', value: true },
      { path: '/3/0/22', value: '1:2' },
    ]);
  });

  it('decodes the specification style with a trailing-slash base and resource instances', () => {
    const payload = json({
      bn: '/3/0/',
      e: [
        { n: '0', sv: 'OMA' },
        { n: '6/0', v: 1 },
        { n: '6/1', v: 5 },
      ],
    });
    assert.deepEqual(codec.decode('/3/0', ContentFormat.LWM2M_JSON_LEGACY, payload), [
      { path: '/3/0/0', value: 'OMA' },
      { path: '/3/0/6/0', value: 1 },
      { path: '/3/0/6/1', value: 5 },
    ]);
  });

  it('resolves names against the request path when bn is missing', () => {
    assert.deepEqual(
      lwm2mJsonToContent(
        [3, 0],
        json({
          e: [
            { n: '9', v: 80 },
            { n: '/3/0/10', v: 5 },
          ],
        }),
      ),
      [
        { path: '/3/0/9', value: 80 },
        { path: '/3/0/10', value: 5 },
      ],
    );
  });

  it('decode(encode(values)) is the values', () => {
    fc.assert(
      fc.property(distinct, (values) => {
        assert.deepEqual(lwm2mJsonToContent([3], contentToLwm2mJson([], values)), expected(values));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses payloads that are not LwM2M JSON', () => {
    refuses(ContentFormat.LWM2M_JSON, [
      ['{', /LwM2M JSON: /],
      ['[]', /not an object/],
      ['{"bn":"/3/0"}', /"e" is not an array/],
      ['{"bn":3,"e":[]}', /"bn" must be a string/],
      ['{"e":[1]}', /element is not an object/],
      ['{"e":[{"n":"x","v":1}]}', /"x" where an id/],
      ['{"e":[{"n":"1","v":"1"}]}', /"v" must be a number/],
      ['{"e":[{"n":"1","ov":"1"}]}', /Objlnk/],
    ]);
  });
});

describe('SenML JSON', () => {
  it('decodes a LwM2M 1.1 read of /3/0 with base names carried over and vd in base64url', () => {
    const payload = json([
      { bn: '/3/0/', n: '0', vs: 'Open Mobile Alliance' },
      { n: '6/0', v: 1 },
      { n: '13', v: 1367491215 },
      { n: '22/0', vlo: '1:2' },
      { bn: '/6/0/', n: '4', vd: '-_8' },
      { n: '0', v: 45.5 },
      { bn: '/1/0/6', vb: true },
    ]);
    assert.deepEqual(codec.decode('/3/0', ContentFormat.SENML_JSON, payload), [
      { path: '/3/0/0', value: 'Open Mobile Alliance' },
      { path: '/3/0/6/0', value: 1 },
      { path: '/3/0/13', value: 1367491215 },
      { path: '/3/0/22/0', value: '1:2' },
      { path: '/6/0/4', value: '+/8=' },
      { path: '/6/0/0', value: 45.5 },
      { path: '/1/0/6', value: true },
    ]);
  });

  it('decode(encode(values)) is the values', () => {
    fc.assert(
      fc.property(distinct, (values) => {
        assert.deepEqual(senmlJsonToContent(contentToSenmlJson([], values)), expected(values));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses payloads that are not SenML', () => {
    refuses(ContentFormat.SENML_JSON, [
      ['{"bn":"/3/0/"}', /not an array of records/],
      ['[1]', /record is not an object/],
      ['[{"n":"/3/0/0","v":true}]', /"v" must be a number/],
      ['[{"n":"/3/0/0","vd":"a+b"}]', /not base64url/],
      ['[{"n":"/3/0/0","vlo":"1"}]', /Objlnk/],
      ['[{"n":"temp","v":1}]', /"temp" where an id/],
      ['[{"bn":"/3/0/1/2/","n":"3","v":1}]', /deeper/],
      ['nope', /SenML JSON: /],
    ]);
  });
});

describe('SenML CBOR', () => {
  it('decodes integer labels, byte-string vd and the text label vlo', () => {
    // [{-2: "/3/0/", 0: "0", 3: "Open"}, {0: "13", 2: 1367491215}, {0: "22/0", "vlo": "1:2"}, {-2: "/6/0/", 0: "4", 8: h'0102'}]
    const payload = hex(`84
      A3 21 65 2F 33 2F 30 2F 00 61 30 03 64 4F 70 65 6E
      A2 00 62 31 33 02 1A 51 82 42 8F
      A2 00 64 32 32 2F 30 63 76 6C 6F 63 31 3A 32
      A3 21 65 2F 36 2F 30 2F 00 61 34 08 42 01 02`);
    assert.deepEqual(codec.decode('/3/0', ContentFormat.SENML_CBOR, payload), [
      { path: '/3/0/0', value: 'Open' },
      { path: '/3/0/13', value: 1367491215 },
      { path: '/3/0/22/0', value: '1:2' },
      { path: '/6/0/4', value: 'AQI=' },
    ]);
  });

  it('decode(encode(values)) is the values', () => {
    fc.assert(
      fc.property(distinct, (values) => {
        assert.deepEqual(senmlCborToContent(contentToSenmlCbor([], values)), expected(values));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses truncated CBOR and CBOR that is not SenML', () => {
    const good = contentToSenmlCbor(
      [3, 0],
      [{ path: [3, 0, 0], type: 'String', value: 'Open Mobile Alliance' }],
    );
    assert.throws(() => senmlCborToContent(good.subarray(0, good.length - 3)), /SenML CBOR: /);
    assert.throws(() => senmlCborToContent(hex('A1 00 61 30')), /not an array of records/);
    assert.throws(() => senmlCborToContent(hex('81 01')), /record is not a map/);
    assert.throws(() => senmlCborToContent(hex('81 A2 00 61 30 08 61 30')), /"vd" must be a byte string/);
    assert.throws(() => senmlCborToContent(hex('81 A1 21 01')), /"bn" must be a text string/);
  });
});

describe('CBOR (single resource)', () => {
  it('decodes numbers, text, booleans, byte strings and tag-1 times', () => {
    const read = (path: string, bytes: string) => codec.decode(path, ContentFormat.CBOR, hex(bytes));
    assert.deepEqual(read('/3/0/9', '18 64'), [{ path: '/3/0/9', value: 100 }]);
    assert.deepEqual(read('/6/0/0', 'F9 3E 00'), [{ path: '/6/0/0', value: 1.5 }]);
    assert.deepEqual(read('/3/0/0', '63 45 4D 51'), [{ path: '/3/0/0', value: 'EMQ' }]);
    assert.deepEqual(read('/1/0/6', 'F5'), [{ path: '/1/0/6', value: true }]);
    assert.deepEqual(read('/6/0/4', '43 61 62 63'), [{ path: '/6/0/4', value: 'YWJj' }]);
    assert.deepEqual(read('/3/0/13', 'C1 1A 51 82 42 8F'), [{ path: '/3/0/13', value: 1367491215 }]);
  });

  it('decode(encode(value)) is the value', () => {
    fc.assert(
      fc.property(typedValues(), (v) => {
        assert.deepEqual(cborToContent(v.path, contentToCbor(v)), expected([v]));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses non-values, objects and truncated items', () => {
    assert.throws(
      () => codec.decode('/3/0/9', ContentFormat.CBOR, hex('82 01 02')),
      /not a single LwM2M value/,
    );
    assert.throws(() => codec.decode('/3/0/9', ContentFormat.CBOR, hex('F6')), /not a single LwM2M value/);
    assert.throws(() => codec.decode('/3/0/9', ContentFormat.CBOR, hex('1A 00 01')), /CBOR: /);
    assert.throws(() => codec.decode('/3/0', ContentFormat.CBOR, hex('01')), /answers only a resource/);
  });
});

describe('JSON formats: fuzz', () => {
  it('arbitrary bytes and arbitrary JSON only ever raise ContentError', () => {
    const formats = fc.constantFrom(
      ContentFormat.CBOR,
      ContentFormat.LWM2M_JSON,
      ContentFormat.SENML_JSON,
      ContentFormat.SENML_CBOR,
      ContentFormat.LWM2M_JSON_LEGACY,
    );
    fc.assert(
      fc.property(formats, fc.uint8Array({ maxLength: 64 }), (format, bytes) =>
        onlyContentError(() => codec.decode('/3/0', format, Buffer.from(bytes))),
      ),
      FUZZ_RUNS,
    );
    fc.assert(
      fc.property(formats, fc.json({ maxDepth: 3 }), (format, text) =>
        onlyContentError(() => codec.decode('/3/0', format, Buffer.from(text))),
      ),
      FUZZ_RUNS,
    );
    const record = fc.dictionary(
      fc.constantFrom('bn', 'n', 'v', 'vs', 'vb', 'vd', 'vlo', 'e', 'sv', 'bv', 'ov'),
      fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.double(),
        fc.boolean(),
        fc.constantFrom('/3/0/', '1', '1:2', 'AQI'),
      ),
    );
    fc.assert(
      fc.property(formats, fc.oneof(fc.array(record, { maxLength: 4 }), record), (format, doc) =>
        onlyContentError(() => codec.decode('/3/0', format, json(doc))),
      ),
      FUZZ_RUNS,
    );
  });
});
