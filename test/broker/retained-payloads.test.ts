import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetainedPayloads } from '../../src/broker/retained-payloads.js';

describe('retained payload copies', () => {
  it('keeps every copy intact and apart from its source across many slabs', () => {
    const payloads = new RetainedPayloads();
    const source = Buffer.alloc(2048);
    const copies: Array<[Buffer, Buffer]> = [];
    // 3 000 payloads of 1–1 500 bytes: small ones packed over many slabs, large ones on their own.
    for (let i = 0; i < 3000; i++) {
      const n = 1 + ((i * 7919) % 1500);
      const view = source.subarray(0, n);
      view.fill(i & 0xff);
      if (n >= 2) view.writeUInt16BE(i & 0xffff, 0);
      const expected = Buffer.from(view);
      copies.push([payloads.copy(view), expected]);
    }
    source.fill(0);
    for (const [copy, expected] of copies) assert.ok(copy.equals(expected));
  });

  it('copies an empty payload', () => {
    assert.equal(new RetainedPayloads().copy(Buffer.alloc(0)).length, 0);
  });
});
