/**
 * HPACK (transport/hpack.ts): the RFC 7541 Appendix C examples (with and without Huffman, the dynamic table
 * carried from one block to the next), the Huffman code table, what the encoder produces, and arbitrary
 * bytes: a block either decodes or fails with HpackError, nothing else escapes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  encodeIndexed,
  encodeLiteral,
  HpackDecoder,
  HpackError,
  huffmanCode,
  huffmanDecode,
} from '../../src/transport/hpack.js';
import { bytesArb, params } from '../fuzz/fuzz.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('HPACK decoder', () => {
  it('decodes the RFC 7541 C.3 requests (no Huffman), keeping the dynamic table between blocks', () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    assert.deepEqual(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')), [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    assert.deepEqual(
      d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')),
      [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/index.html'],
        [':authority', 'www.example.com'],
        ['custom-key', 'custom-value'],
      ],
    );
  });

  it('decodes the RFC 7541 C.4 requests (Huffman-coded strings)', () => {
    const d = new HpackDecoder();
    assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))?.[3], [
      ':authority',
      'www.example.com',
    ]);
    assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))?.[4], ['cache-control', 'no-cache']);
    assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))?.[4], [
      'custom-key',
      'custom-value',
    ]);
  });

  it('evicts the oldest entries when a size update shrinks the table', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    assert.deepEqual(d.decode(hex('be')), [['custom-key', 'custom-header']]);
    // Size update to 0, then index 62 no longer exists.
    assert.throws(() => d.decode(hex('20 be')), HpackError);
  });

  it('refuses a size update above the announced maximum and one after a field', () => {
    assert.throws(() => new HpackDecoder(4096).decode(hex('3fe21f')), HpackError);
    assert.throws(() => new HpackDecoder().decode(hex('82 20')), HpackError);
  });

  it('refuses bad Huffman padding and an EOS symbol', () => {
    // 'a' is 00011: padded with zeros instead of ones.
    assert.throws(() => huffmanDecode(Buffer.from([0b00011000]), 0, 1), HpackError);
    // 32 one-bits hold the 30-bit EOS.
    assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), HpackError);
    assert.equal(huffmanDecode(Buffer.from([0b00011111]), 0, 1), 'a');
  });

  it('has the Appendix B codes (canonical code from the lengths)', () => {
    assert.deepEqual(huffmanCode(0), { code: 0x1ff8, length: 13 });
    assert.deepEqual(huffmanCode(10), { code: 0x3ffffffc, length: 30 });
    assert.deepEqual(huffmanCode(47), { code: 0x18, length: 6 });
    assert.deepEqual(huffmanCode(195), { code: 0x7fff1, length: 19 });
    assert.deepEqual(huffmanCode(255), { code: 0x3ffffee, length: 26 });
    assert.deepEqual(huffmanCode(256), { code: 0x3fffffff, length: 30 });
  });
});

describe('HPACK encoder', () => {
  it('writes the RFC 7541 C.2.2 literal and indexed fields', () => {
    assert.deepEqual(encodeLiteral(':path', '/sample/path'), hex('040c 2f73 616d 706c 652f 7061 7468'));
    assert.deepEqual(encodeIndexed(2), hex('82'));
  });

  it('round-trips any field through the decoder', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,40}$/);
    const value = fc.string({ maxLength: 300 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
    fc.assert(
      fc.property(name, value, (n, v) => {
        assert.deepEqual(new HpackDecoder().decode(encodeLiteral(n, v)), [[n, v]]);
      }),
      params(300),
    );
  });
});

describe('HPACK: header list size', () => {
  it('counts name + value + 32 a field, as SETTINGS_MAX_HEADER_LIST_SIZE does', () => {
    // 10 + 12 + 32 = 54 bytes for this field.
    const block = encodeLiteral('custom-key', 'custom-value');
    assert.deepEqual(new HpackDecoder().decode(block, 54), [['custom-key', 'custom-value']]);
    assert.equal(new HpackDecoder().decode(block, 53), undefined);
  });

  it('an oversize list is decoded to its end: the dynamic table stays in step for the next block', () => {
    const d = new HpackDecoder();
    // A field added to the table (literal with incremental indexing, new name) after a large one.
    const indexed = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    const big = encodeLiteral('x-big', 'v'.repeat(1000));
    assert.equal(d.decode(Buffer.concat([big, indexed]), 500), undefined);
    // Index 62 is the entry the oversize block added.
    assert.deepEqual(d.decode(hex('be'), 500), [['custom-key', 'custom-header']]);
  });
});

describe('fuzz: HPACK decoder against arbitrary blocks', () => {
  it('decodes or throws HpackError, nothing else', () => {
    const d = new HpackDecoder();
    fc.assert(
      fc.property(bytesArb, (bytes) => {
        try {
          d.decode(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof HpackError, String(err));
        }
      }),
      params(2000),
    );
  });
});
