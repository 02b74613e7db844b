import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Message } from '../../src/broker/message.js';
import {
  decodeRetained,
  encodeRetained,
  isHashedKey,
  retainedKey,
} from '../../src/cluster/retained-codec.js';
import { anyMessage, assertSameMessage } from '../helpers/message-arbitrary.js';

/** What a JetStream KV key may hold. */
const KV_KEY = /^[-/_=.A-Za-z0-9]+$/;

describe('retained message codec (KV values and keys)', () => {
  it('a decoded value is the message that was encoded', () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        const d = decodeRetained(encodeRetained(m));
        assertSameMessage(d, m);
        assert.equal(d.flags.retain, true, 'a retained value is retained, whatever its flag said');
      }),
    );
  });

  it('any bytes decode to a message or an Error, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = decodeRetained(bytes);
        assert.ok(d instanceof Message || d instanceof Error);
      }),
    );
    // Mutations of a valid value: cut short, flipped bytes.
    fc.assert(
      fc.property(anyMessage, fc.nat(), fc.nat(255), (m, at, byte) => {
        const v = encodeRetained(m);
        const cut = decodeRetained(v.subarray(0, at % v.length));
        assert.ok(cut instanceof Message || cut instanceof Error);
        const flipped = Buffer.from(v);
        flipped[at % v.length] = byte;
        const d = decodeRetained(flipped);
        assert.ok(d instanceof Message || d instanceof Error);
      }),
    );
  });

  it('says what is wrong with a bad value', () => {
    assert.match(String(decodeRetained(new Uint8Array([1, 0]))), /too short/);
    assert.match(String(decodeRetained(new Uint8Array(30).fill(9))), /unknown format 9/);
  });

  it('every topic gets a legal, distinct KV key; long topics a hash of fixed length', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 2000 }), fc.string({ minLength: 1 }), (a, b) => {
        const ka = retainedKey(a);
        assert.match(ka, KV_KEY);
        assert.ok(ka.length <= 480);
        if (a !== b) assert.notEqual(ka, retainedKey(b));
      }),
    );
    const long = 'x/'.repeat(30_000);
    assert.ok(isHashedKey(retainedKey(long)));
    assert.equal(retainedKey(long).length, 44);
    assert.ok(!isHashedKey(retainedKey('a/b')));
  });
});
