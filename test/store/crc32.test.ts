/** The retained log's checksum: the JavaScript table version agrees with zlib's on any bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32, tableCrc32 } from '../../src/store/crc32.js';

test('the table CRC-32 used on Node releases without zlib.crc32 gives the same checksums', () => {
  // The check value every CRC-32/ISO-HDLC implementation gives for "123456789".
  assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(tableCrc32(new Uint8Array(0)), 0);
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      const expected = native ? native(bytes) : crc32(bytes);
      assert.equal(tableCrc32(bytes), expected);
    }),
  );
});
