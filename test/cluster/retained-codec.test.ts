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

/** What a JetStream KV key may hold. */
const KV_KEY = /^[-/_=.A-Za-z0-9]+$/;

const message = fc
  .record({
    topic: fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }),
    payload: fc.uint8Array({ maxLength: 2000 }),
    qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
    from: fc.string({ maxLength: 40 }),
    username: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    sys: fc.boolean(),
    timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
    props: fc.option(
      fc.record(
        {
          contentType: fc.string({ maxLength: 20 }),
          payloadFormatIndicator: fc.constantFrom(0, 1),
          responseTopic: fc.string({ maxLength: 20 }),
          correlationData: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
          userProperties: fc.array(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), {
            maxLength: 4,
          }),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
  })
  .map((r) => {
    const m = new Message(
      r.topic,
      Buffer.from(r.payload),
      r.qos,
      r.from,
      true,
      r.props,
      r.username === undefined ? {} : { username: r.username },
      r.timestamp,
    );
    m.expiresAt = r.expiresAt;
    m.flags.sys = r.sys;
    return m;
  });

describe('retained message codec (KV values and keys)', () => {
  it('a decoded value is the message that was encoded', () => {
    fc.assert(
      fc.property(message, (m) => {
        const d = decodeRetained(encodeRetained(m));
        assert.ok(d instanceof Message, String(d));
        assert.equal(d.topic, m.topic);
        assert.deepEqual(d.payload, m.payload);
        assert.equal(d.qos, m.qos);
        assert.equal(d.from, m.from);
        assert.equal(d.headers.username, m.headers.username);
        assert.equal(d.timestamp, m.timestamp);
        assert.equal(d.expiresAt, m.expiresAt);
        assert.equal(d.flags.sys, m.flags.sys);
        assert.equal(d.flags.retain, true);
        // fast-check builds records without a prototype: compare the fields.
        assert.deepEqual(d.props === undefined ? undefined : { ...d.props }, m.props && { ...m.props });
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
      fc.property(message, fc.nat(), fc.nat(255), (m, at, byte) => {
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
