/**
 * Property tests of the CoAP codec path: random datagrams and mutations of valid ones never throw, a
 * decoded message re-encodes to a datagram that decodes to the same message, and a running gateway fed
 * garbage keeps answering well-formed requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBlock, encodeBlock } from '../../src/gateway/coap/block.js';
import {
  CoapCodec,
  type CoapMessage,
  decodeMessage,
  encodeMessage,
  isDecodeError,
} from '../../src/gateway/coap/message.js';
import { RawCoap, startCoapBroker } from './coap-helpers.js';

const option = fc.record({
  number: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 61, max: 3000 })),
  value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
});

const message: fc.Arbitrary<CoapMessage> = fc
  .record({
    type: fc.constantFrom('CON', 'NON', 'ACK', 'RST') as fc.Arbitrary<CoapMessage['type']>,
    code: fc.constantFrom('0.01', '0.02', '0.03', '0.04', '2.05', '4.04'),
    messageId: fc.integer({ min: 0, max: 0xffff }),
    token: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    options: fc.array(option, { maxLength: 6 }),
    payload: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  })
  .map((m) => ({ ...m, options: [...m.options].sort((a, b) => a.number - b.number) }));

/** A valid datagram with some bytes changed, cut or appended. */
const mutated = fc
  .tuple(
    message,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.nat(),
    fc.boolean(),
  )
  .map(([m, flips, cut, doCut]) => {
    const buf = Buffer.from(encodeMessage(m));
    for (const [at, byte] of flips) if (buf.length > 0) buf[at % buf.length] = byte;
    return doCut ? buf.subarray(0, cut % (buf.length + 1)) : buf;
  });

describe('coap: codec properties', () => {
  it('random datagrams never throw: a message or an error with a reason', () => {
    const codec = new CoapCodec();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (a) => {
        const out = codec.feed(Buffer.from(a));
        assert.equal(out.frames.length + (out.error === undefined ? 0 : 1), 1);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid datagrams never throw, and what decodes re-encodes', () => {
    fc.assert(
      fc.property(mutated, (buf) => {
        const m = decodeMessage(buf);
        if (isDecodeError(m)) return;
        // A message that decoded must encode again (no exception) to a datagram that decodes the same.
        if (m.code === '0.00' && (m.token.length > 0 || m.options.length > 0)) return;
        const again = decodeMessage(encodeMessage(m));
        assert.ok(!isDecodeError(again));
      }),
      { numRuns: 3000 },
    );
  });

  it('encode ∘ decode is the identity on valid messages', () => {
    fc.assert(
      fc.property(message, (m) => {
        const d = decodeMessage(encodeMessage(m));
        assert.ok(!isDecodeError(d), JSON.stringify(d));
        assert.deepEqual(
          {
            ...d,
            token: [...d.token],
            payload: [...d.payload],
            options: d.options.map((o) => [o.number, [...o.value]]),
          },
          {
            ...m,
            token: [...m.token],
            payload: [...m.payload],
            options: m.options.map((o) => [o.number, [...o.value]]),
          },
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('block options round-trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xfffff }),
        fc.boolean(),
        fc.integer({ min: 0, max: 6 }),
        (num, more, szx) => {
          assert.deepEqual(decodeBlock(encodeBlock({ num, more, szx })), { num, more, szx });
        },
      ),
    );
  });
});

describe('coap: a running gateway fed garbage', () => {
  let b: Awaited<ReturnType<typeof startCoapBroker>>;
  before(async () => {
    b = await startCoapBroker();
  });
  after(() => b.stop());

  it('keeps answering a well-formed request after thousands of random and mutated datagrams', async () => {
    const c = await RawCoap.open(b.coapPort);
    try {
      const garbage = fc.sample(
        fc.oneof(
          mutated,
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        ),
        2000,
      );
      // In batches, so the kernel's socket buffers (not the gateway) are not what drops them.
      for (let i = 0; i < garbage.length; i += 50) {
        for (const buf of garbage.slice(i, i + 50)) c.sendRaw(buf);
        await new Promise((r) => setTimeout(r, 5));
      }
      // The garbage may have logged this peer in (connection mode) or reused message ids, so it is
      // checked with a ping, which neither changes; a fresh peer checks the resources.
      const from = c.received.length;
      c.sendRaw(Buffer.from([0x40, 0x00, 0xfe, 0xed]));
      assert.equal(
        (await c.next((x) => x.messageId === 0xfeed && x.type === 'RST', 4000, from)).code,
        '0.00',
      );
      const other = await RawCoap.open(b.coapPort);
      assert.equal((await other.ask({ code: '0.02', path: '/ps/other', payload: 'x' })).code, '2.04');
      other.close();
    } finally {
      c.close();
    }
  });
});
