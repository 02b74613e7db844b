/** fast-check arbitraries for broker messages, shared by the codec tests of the cluster. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Message } from '../../src/broker/message.js';

/** Any message a node may store or forward: every field, properties or none, retain set or not. */
export const anyMessage = fc
  .record({
    topic: fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }),
    payload: fc.uint8Array({ maxLength: 2000 }),
    qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
    from: fc.string({ maxLength: 40 }),
    username: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    sys: fc.boolean(),
    retain: fc.boolean(),
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
      r.retain,
      r.props,
      r.username === undefined ? {} : { username: r.username },
      r.timestamp,
    );
    m.expiresAt = r.expiresAt;
    m.flags.sys = r.sys;
    return m;
  });

/** Asserts that a decoded message carries every field of the one encoded (the retain flag apart). */
export function assertSameMessage(d: Message | Error, m: Message): asserts d is Message {
  assert.ok(d instanceof Message, String(d));
  assert.equal(d.topic, m.topic);
  assert.deepEqual(d.payload, m.payload);
  assert.equal(d.qos, m.qos);
  assert.equal(d.from, m.from);
  assert.equal(d.headers.username, m.headers.username);
  assert.equal(d.timestamp, m.timestamp);
  assert.equal(d.expiresAt, m.expiresAt);
  assert.equal(d.flags.sys, m.flags.sys);
  // fast-check builds records without a prototype: compare the fields.
  assert.deepEqual(d.props === undefined ? undefined : { ...d.props }, m.props && { ...m.props });
}
