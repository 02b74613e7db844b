/**
 * The envelopes nodes send each other on routes: whatever a node publishes comes out the same on the
 * other side, and whatever bytes arrive decode to a message or an Error, never an exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeForwarded,
  decodeShared,
  encodeForwarded,
  encodeShared,
  senderHeader,
} from '../../src/cluster/envelope.js';
import { anyMessage, assertSameMessage } from '../helpers/message-arbitrary.js';

const nodeName = fc.string({ minLength: 1, maxLength: 60 });

describe('route envelopes', () => {
  it('a forwarded message arrives with its sender and every field, the retain flag included', () => {
    fc.assert(
      fc.property(nodeName, anyMessage, (node, m) => {
        const f = decodeForwarded(encodeForwarded(senderHeader(node), m));
        assert.ok(!(f instanceof Error), String(f));
        assert.equal(f.from, node);
        assertSameMessage(f.msg, m);
        assert.equal(f.msg.flags.retain, m.flags.retain);
      }),
    );
  });

  it('a shared-group copy carries its group and filter besides', () => {
    fc.assert(
      fc.property(
        nodeName,
        anyMessage,
        fc.string(),
        fc.string({ minLength: 1 }),
        (node, m, group, filter) => {
          const header = senderHeader(node);
          const c = decodeShared(encodeShared(header, encodeForwarded(header, m), group, filter));
          assert.ok(!(c instanceof Error), String(c));
          assert.deepEqual([c.from, c.group, c.filter], [node, group, filter]);
          assertSameMessage(c.msg, m);
        },
      ),
    );
  });

  it('any bytes, cut or changed envelopes: a message or an Error, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const d of [decodeForwarded(bytes), decodeShared(bytes)])
          assert.ok(d instanceof Error || typeof d.from === 'string');
      }),
    );
    fc.assert(
      fc.property(nodeName, anyMessage, fc.nat(), fc.nat(255), (node, m, at, byte) => {
        const header = senderHeader(node);
        const fwd = encodeForwarded(header, m);
        const shared = encodeShared(header, fwd, 'g', 'a/+');
        for (const [v, decode] of [
          [fwd, decodeForwarded],
          [shared, decodeShared],
        ] as const) {
          const cut = decode(v.subarray(0, at % v.length));
          assert.ok(cut instanceof Error || typeof cut.from === 'string');
          const flipped = Buffer.from(v);
          flipped[at % v.length] = byte;
          const d = decode(flipped);
          assert.ok(d instanceof Error || typeof d.from === 'string');
        }
      }),
    );
  });

  it('says what is wrong, and refuses a node name too long for its length byte', () => {
    assert.match(String(decodeForwarded(new Uint8Array([5, 1]))), /forwarded message cut short/);
    assert.match(String(decodeShared(new Uint8Array([0, 0, 9]))), /shared message cut short/);
    assert.match(String(decodeForwarded(new Uint8Array(30).fill(7, 1).fill(0, 0, 1))), /unknown format 7/);
    assert.throws(() => senderHeader('n'.repeat(256)), /longer than 255 bytes/);
  });
});
