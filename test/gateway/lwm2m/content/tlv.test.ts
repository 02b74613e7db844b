/** OMA-TLV framing and its mapping onto paths, against the LwM2M specification's and EMQX's byte vectors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ContentError } from '../../../../src/gateway/lwm2m/content/api.js';
import { UnknownObjectError, UnknownResourceError } from '../../../../src/gateway/lwm2m/content/errors.js';
import { decodeTlv, encodeTlv, type TlvEntry, TlvKind } from '../../../../src/gateway/lwm2m/content/tlv.js';
import { contentToTlv, tlvToContent } from '../../../../src/gateway/lwm2m/content/tlv-content.js';
import { FUZZ_RUNS, hex, onlyContentError, registry } from './helpers.js';

/** The Device object instance of the specification's TLV example (read of /3/0). */
const DEVICE_3_0 = hex(`
  C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65
  C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74
  C8 02 09 33 34 35 30 30 30 31 32 33
  C3 03 31 2E 30
  86 06 41 00 01 41 01 05
  88 07 08 42 00 0E D8 42 01 13 88
  87 08 41 00 7D 42 01 03 84
  C1 09 64
  C1 0A 0F
  83 0B 41 00 00
  C4 0D 51 82 42 8F
  C6 0E 2B 30 32 3A 30 30
  C1 10 55`);

/** Two Access Control instances of the specification's example (read of /2), one with a 16-bit id. */
const ACCESS_CONTROL = hex(`
  08 00 0E C1 00 01 C1 01 00 83 02 41 7F 07 C1 03 7F
  08 02 12 C1 00 03 C1 01 00 87 02 41 7F 07 61 01 36 01 C1 03 7F`);

describe('TLV: decoding device answers', () => {
  it('decodes the specification example of /3/0 into typed resource paths', () => {
    assert.deepEqual(tlvToContent(registry, [3, 0], DEVICE_3_0), [
      { path: '/3/0/0', value: 'Open Mobile Alliance' },
      { path: '/3/0/1', value: 'Lightweight M2M Client' },
      { path: '/3/0/2', value: '345000123' },
      { path: '/3/0/3', value: '1.0' },
      { path: '/3/0/6/0', value: 1 },
      { path: '/3/0/6/1', value: 5 },
      { path: '/3/0/7/0', value: 3800 },
      { path: '/3/0/7/1', value: 5000 },
      { path: '/3/0/8/0', value: 125 },
      { path: '/3/0/8/1', value: 900 },
      { path: '/3/0/9', value: 100 },
      { path: '/3/0/10', value: 15 },
      { path: '/3/0/11/0', value: 0 },
      { path: '/3/0/13', value: 1367491215 },
      { path: '/3/0/14', value: '+02:00' },
      { path: '/3/0/16', value: 'U' },
    ]);
  });

  it('decodes object instances of a read on the object, 16-bit ids included', () => {
    assert.deepEqual(tlvToContent(registry, [2], ACCESS_CONTROL), [
      { path: '/2/0/0', value: 1 },
      { path: '/2/0/1', value: 0 },
      { path: '/2/0/2/127', value: 7 },
      { path: '/2/0/3', value: 127 },
      { path: '/2/2/0', value: 3 },
      { path: '/2/2/1', value: 0 },
      { path: '/2/2/2/127', value: 7 },
      { path: '/2/2/2/310', value: 1 },
      { path: '/2/2/3', value: 127 },
    ]);
  });

  it('types Boolean, Float, Opaque, Time and Objlnk as EMQX renders them', () => {
    assert.deepEqual(tlvToContent(registry, [1, 0], hex('C1 06 01')), [{ path: '/1/0/6', value: true }]);
    assert.deepEqual(
      tlvToContent(registry, [6, 0], hex('C4 00 3F C0 00 00 C3 04 01 02 03 C4 05 00 00 00 14')),
      [
        { path: '/6/0/0', value: 1.5 },
        { path: '/6/0/4', value: 'AQID' },
        { path: '/6/0/5', value: 20 },
      ],
    );
    assert.deepEqual(tlvToContent(registry, [3, 0], hex('88 16 0C 44 00 00 01 00 02 44 01 00 01 00 03')), [
      { path: '/3/0/22/0', value: '1:2' },
      { path: '/3/0/22/1', value: '1:3' },
    ]);
    assert.deepEqual(tlvToContent(registry, [3, 0, 13], hex('C8 0D 08 FF FF FF FF FF FF FF FE')), [
      { path: '/3/0/13', value: -2 },
    ]);
    assert.deepEqual(tlvToContent(registry, [1, 0, 1], hex('C1 01 FF')), [{ path: '/1/0/1', value: 255 }]);
  });

  it('answers a single resource, a resource instance and an empty payload', () => {
    assert.deepEqual(tlvToContent(registry, [3, 0, 9], hex('C1 09 64')), [{ path: '/3/0/9', value: 100 }]);
    assert.deepEqual(tlvToContent(registry, [3, 0, 7, 1], hex('42 01 13 88')), [
      { path: '/3/0/7/1', value: 5000 },
    ]);
    assert.deepEqual(tlvToContent(registry, [3, 0], Buffer.alloc(0)), []);
  });

  it('refuses overrunning lengths, bad nesting, odd value sizes and unknown definitions', () => {
    const bad: Array<[number[], string, RegExp | (new (...a: never[]) => ContentError)]> = [
      [[3, 0], 'C8 00 14 4F 70', /claims 20 bytes, 2 remain/],
      [[3, 0], 'E1 01', /header at byte 0 is cut short/],
      [[3, 0], 'D8 00 05 01', /cut short/],
      [[3, 0], 'E1 01 2C 01', UnknownResourceError], // EMQX's case17: resource 300 of the Device object
      [[3], 'C1 09 64', /does not say its parent/],
      [[3], '03 00 41 00 01', /an object instance contains resource instance 0/],
      [[3, 0], '83 06 C1 00 01', /multiple resource contains resource/],
      [[3, 0], 'C3 09 00 00 01', /1, 2, 4 or 8/],
      [[6, 0], 'C3 00 00 00 01', /Float value has 3 bytes/],
      [[1, 0], 'C1 06 02', /Boolean/],
      [[3, 0], 'C3 16 00 01 02', /Objlnk/],
      [[3, 0], 'C1 63 01', UnknownResourceError],
      [[9723, 0, 0], 'C1 00 01', UnknownObjectError],
      [[3, 0], 'C1 09 64 41 00 01', /mixes entries/],
    ];
    for (const [path, bytes, expected] of bad) {
      assert.throws(() => tlvToContent(registry, path, hex(bytes)), expected as RegExp, `${path} ${bytes}`);
    }
  });
});

describe('TLV: encoding writes', () => {
  const v = (
    path: number[],
    type: 'Integer' | 'String' | 'Float' | 'Objlnk' | 'Opaque' | 'Boolean',
    value: string | number | boolean,
  ) => ({
    path,
    type,
    value,
  });

  it('encodes a single Integer resource as EMQX does (case20_single_write)', () => {
    assert.deepEqual(contentToTlv([3, 0, 13], [v([3, 0, 13], 'Integer', '12345')]), hex('C2 0D 30 39'));
  });

  it('encodes Floats in 8 bytes (case20_write)', () => {
    assert.deepEqual(
      contentToTlv([3, 0, 13], [v([3, 0, 13], 'Float', '12345.0')]),
      Buffer.from([200, 13, 8, 64, 200, 28, 128, 0, 0, 0, 0]),
    );
  });

  it('encodes an instance write with a multiple resource (case21_write_object)', () => {
    assert.deepEqual(
      contentToTlv(
        [3, 0],
        [v([3, 0, 13], 'Integer', '12345'), v([3, 0, 14], 'String', '87x'), v([3, 0, 6, 0], 'Integer', '1')],
      ),
      hex('C2 0D 30 39 C3 0E 38 37 78 83 06 41 00 01'),
    );
  });

  it('encodes resource instances, a later value replacing an earlier one (case23)', () => {
    assert.deepEqual(
      contentToTlv(
        [3, 0, 22],
        [
          v([3, 0, 22, 0], 'Objlnk', '1:2'),
          v([3, 0, 22, 1], 'Objlnk', '1:3'),
          v([3, 0, 22, 1], 'Objlnk', '1:4'),
        ],
      ),
      hex('88 16 0C 44 00 00 01 00 02 44 01 00 01 00 04'),
    );
  });

  it('encodes a create of object instances', () => {
    assert.deepEqual(
      contentToTlv(
        [1],
        [v([1, 3, 0], 'Integer', 101), v([1, 3, 1], 'Integer', 86400), v([1, 3, 6], 'Boolean', 'true')],
      ),
      hex('08 03 0C C1 00 65 C4 01 00 01 51 80 C1 06 01'),
    );
  });

  it('uses signed widths: 128 takes two bytes, -129 two, 2^31 eight', () => {
    assert.deepEqual(contentToTlv([3, 0, 9], [v([3, 0, 9], 'Integer', 128)]), hex('C2 09 00 80'));
    assert.deepEqual(contentToTlv([3, 0, 9], [v([3, 0, 9], 'Integer', -129)]), hex('C2 09 FF 7F'));
    assert.deepEqual(
      contentToTlv([3, 0, 9], [v([3, 0, 9], 'Integer', '2147483648')]),
      hex('C8 09 08 00 00 00 00 80 00 00 00'),
    );
  });

  it('refuses values that do not fit their type', () => {
    const bad: Array<[string, string | number | boolean, RegExp]> = [
      ['Integer', '12a', /not an Integer/],
      ['Integer', 1.5, /not an Integer/],
      ['Integer', '9223372036854775808', /out of range/],
      ['Float', 'abc', /not a Float/],
      ['Boolean', 'yes', /not a Boolean/],
      ['Objlnk', '1:70000', /Objlnk/],
      ['Opaque', 'not base64!', /base64/],
    ];
    for (const [type, value, message] of bad) {
      assert.throws(
        () => contentToTlv([3, 0, 9], [v([3, 0, 9], type as 'Integer', value)]),
        (err: unknown) => err instanceof ContentError && message.test(err.message),
        `${type} ${String(value)}`,
      );
    }
  });
});

const leaf = (kind: typeof TlvKind.Resource | typeof TlvKind.ResourceInstance) =>
  fc
    .record({
      kind: fc.constant(kind),
      id: fc.integer({ min: 0, max: 0xffff }),
      value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    })
    .map((r) => ({ ...r }));
const multiple = fc
  .record({
    kind: fc.constant(TlvKind.MultipleResource),
    id: fc.integer({ min: 0, max: 0xffff }),
    children: fc.array(leaf(TlvKind.ResourceInstance), { maxLength: 4 }),
  })
  .map((r) => ({ ...r }));
const resources = fc.array(fc.oneof(leaf(TlvKind.Resource), multiple), { maxLength: 5 });
const instances = fc.array(
  fc
    .record({
      kind: fc.constant(TlvKind.ObjectInstance),
      id: fc.integer({ min: 0, max: 0xffff }),
      children: resources,
    })
    .map((r) => ({ ...r })),
  { maxLength: 3 },
);

describe('TLV: properties', () => {
  it('decode(encode(tree)) is the tree, for every nesting, id width and length width', () => {
    fc.assert(
      fc.property(fc.oneof(instances, resources) as fc.Arbitrary<TlvEntry[]>, (tree) => {
        assert.deepEqual(decodeTlv(encodeTlv(tree)), tree);
      }),
      { numRuns: 500 },
    );
  });

  it('handles 16- and 24-bit lengths', () => {
    for (const size of [255, 256, 65535, 65536, 70000]) {
      const tree: TlvEntry[] = [{ kind: TlvKind.Resource, id: 0, value: Buffer.alloc(size, 7) }];
      const bytes = encodeTlv(tree);
      assert.deepEqual(decodeTlv(bytes), tree);
    }
  });

  it('arbitrary bytes only ever raise ContentError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) =>
        onlyContentError(() => decodeTlv(Buffer.from(bytes))),
      ),
      FUZZ_RUNS,
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom([3], [3, 0], [3, 0, 7], [3, 0, 7, 1], [2], [6, 0]),
        (bytes, path) => onlyContentError(() => tlvToContent(registry, path, Buffer.from(bytes))),
      ),
      FUZZ_RUNS,
    );
  });
});
