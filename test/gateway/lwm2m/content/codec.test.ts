/** The gateway's view: createContentCodec picks formats, resolves write paths, and only raises ContentError. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ContentError, ContentFormat, type TypedWrite } from '../../../../src/gateway/lwm2m/content/api.js';
import { createContentCodec } from '../../../../src/gateway/lwm2m/content/codec.js';
import { UnknownObjectError } from '../../../../src/gateway/lwm2m/content/errors.js';
import { FUZZ_RUNS, hex, onlyContentError, registry } from './helpers.js';
import { typedValues } from './values.js';

const codec = createContentCodec(registry);

describe('content codec: decode', () => {
  it('reads a resource without Content-Format as text, an instance as TLV', () => {
    assert.deepEqual(codec.decode('/3/0/0', undefined, Buffer.from('EMQ')), [
      { path: '/3/0/0', value: 'EMQ' },
    ]);
    assert.deepEqual(codec.decode('/3/0', undefined, hex('C1 09 64')), [{ path: '/3/0/9', value: 100 }]);
  });

  it('picks TLV, legacy TLV, opaque and text by number, and ignores a query in the path', () => {
    assert.deepEqual(codec.decode('/3/0', ContentFormat.TLV_LEGACY, hex('C1 09 64')), [
      { path: '/3/0/9', value: 100 },
    ]);
    assert.deepEqual(codec.decode('/3/0/8', ContentFormat.OPAQUE, Buffer.from([1, 2])), [
      { path: '/3/0/8', value: 'AQI=' },
    ]);
    assert.deepEqual(codec.decode('/6/0/0?foo=bar&baz=1', ContentFormat.TEXT, Buffer.from('12.5')), [
      { path: '/6/0/0', value: 12.5 },
    ]);
  });

  it('answers a read of an object without definition with UnknownObjectError (EMQX: 4.00)', () => {
    assert.throws(
      () => codec.decode('/9723/0/0', ContentFormat.TEXT, Buffer.from('EMQ')),
      UnknownObjectError,
    );
    assert.throws(() => codec.decode('/9723/0', ContentFormat.TLV, Buffer.alloc(0)), UnknownObjectError);
  });

  it('refuses bad paths and unknown formats', () => {
    assert.throws(() => codec.decode('/a/0', ContentFormat.TLV, Buffer.alloc(0)), /"a" where an id/);
    assert.throws(() => codec.decode('/3/0/1/2/3', ContentFormat.TLV, Buffer.alloc(0)), /deeper/);
    assert.throws(() => codec.decode('/', ContentFormat.TLV, Buffer.alloc(0)), /names no object/);
    assert.throws(() => codec.decode('/3/0', 50, Buffer.alloc(0)), /content format 50 is not supported/);
  });
});

describe('content codec: encode', () => {
  const tlv = (base: string, writes: TypedWrite[]) => {
    const out = codec.encode(base, writes, '1.0');
    assert.equal(out.contentFormat, ContentFormat.TLV);
    return out.payload;
  };

  it('encodes a single write given as path with basePath "/" or the path itself', () => {
    const w = { path: '/3/0/13', type: 'Integer', value: '12345' };
    assert.deepEqual(tlv('/', [w]), hex('C2 0D 30 39'));
    assert.deepEqual(tlv('/3/0/13', [w]), hex('C2 0D 30 39'));
    assert.deepEqual(tlv('/3/0/13', [{ path: '', type: 'Integer', value: 12345 }]), hex('C2 0D 30 39'));
  });

  it('resolves batch paths against basePath as EMQX does (case21_write_object)', () => {
    assert.deepEqual(
      tlv('/3/0/', [
        { path: '13', type: 'Integer', value: '12345' },
        { path: '14', type: 'String', value: '87x' },
        { path: '6/0', type: 'Integer', value: '1' },
      ]),
      hex('C2 0D 30 39 C3 0E 38 37 78 83 06 41 00 01'),
    );
    assert.deepEqual(tlv('/3/0', [{ path: '/3/0/14', type: 'String', value: 'x' }]), hex('C1 0E 78'));
  });

  it('encodes a create on an object with instance-relative paths', () => {
    assert.deepEqual(tlv('/1', [{ path: '/0/0', type: 'Integer', value: 1 }]), hex('03 00 C1 00 01'));
  });

  it('takes the type from the definition when the command names none, and sends TLV to 1.1 devices too', () => {
    const out = codec.encode('/3/0/9', [{ path: '', type: '', value: 50 }], '1.1');
    assert.deepEqual(out, { contentFormat: ContentFormat.TLV, payload: hex('C1 09 32') });
  });

  it('refuses what it cannot encode', () => {
    const bad: Array<[string, TypedWrite[], RegExp]> = [
      ['/', [], /needs a basePath/],
      [
        '/',
        [
          { path: '/3/0/1', type: 'String', value: 'a' },
          { path: '/3/0/2', type: 'String', value: 'b' },
        ],
        /needs a basePath/,
      ],
      ['/3/0', [{ path: '', type: 'String', value: 'a' }], /does not name a resource/],
      ['/3/0/4', [{ path: '', type: '', value: 'a' }], /executable/],
      ['/3/0/13', [{ path: '', type: 'Decimal', value: 1 }], /not a LwM2M data type/],
      ['/3/0/13', [{ path: '0/1/2', type: 'Integer', value: 1 }], /not a path to a resource/],
      ['/3/0', [{ path: 'x', type: 'Integer', value: 1 }], /"x" where an id/],
      ['/3/0/99', [{ path: '', type: '', value: 1 }], /no resource 99/],
    ];
    for (const [base, writes, message] of bad) {
      assert.throws(
        () => codec.encode(base, writes, '1.0'),
        (err) => err instanceof ContentError && message.test(err.message),
        base,
      );
    }
  });

  it('decode(encode(write)) is the written value for every type (TLV and text)', () => {
    fc.assert(
      fc.property(typedValues(), (v) => {
        const path = `/${v.path.join('/')}`;
        const { contentFormat, payload } = codec.encode(
          path,
          [{ path: '', type: v.type, value: v.value }],
          '1.0',
        );
        assert.deepEqual(codec.decode(path, contentFormat, payload), [{ path, value: v.value }]);
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary commands and payloads only ever raise ContentError', () => {
    const jsonValue = fc.oneof(fc.string({ maxLength: 10 }), fc.double(), fc.integer(), fc.boolean());
    const types = fc.constantFrom(
      'Integer',
      'Float',
      'Time',
      'String',
      'Boolean',
      'Opaque',
      'Objlnk',
      '',
      'Nope',
    );
    const pathText = fc.oneof(
      fc.constantFrom(
        '',
        '/',
        '/3',
        '/3/0',
        '/3/0/13',
        '0',
        '6/0',
        '/3/0/22/1',
        '/1/2/3/4/5',
        '//',
        '/65536',
      ),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(
        pathText,
        fc.array(fc.record({ path: pathText, type: types, value: jsonValue }), { maxLength: 4 }),
        (base, writes) => onlyContentError(() => codec.encode(base, writes, '1.0')),
      ),
      FUZZ_RUNS,
    );
    const formats = fc.constantFrom(undefined, 0, 40, 42, 60, 110, 112, 1542, 1543, 11542, 11543, 9999);
    fc.assert(
      fc.property(pathText, formats, fc.uint8Array({ maxLength: 48 }), (path, format, bytes) =>
        onlyContentError(() => codec.decode(path, format, Buffer.from(bytes))),
      ),
      FUZZ_RUNS,
    );
  });
});
