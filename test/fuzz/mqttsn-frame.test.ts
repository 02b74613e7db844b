/**
 * Fuzzing the MQTT-SN codec: random and mutated datagrams (from the gateway's serializer and from the test
 * client's independent one) never make it throw and end in one message or a counted refusal; valid messages
 * round-trip, and what it accepts re-encodes to the same message. A socket variant sends such datagrams to
 * a running gateway, then a normal MQTT-SN client and an MQTT client must still get through.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type Flags,
  parseMessage,
  SnCodec,
  type SnFrame,
  serializeMessage,
} from '../../src/gateway/mqttsn/frame.js';
import { type SnBroker, startSnBroker } from '../gateway/mqttsn-client/broker.js';
import { SnClient } from '../gateway/mqttsn-client/client.js';
import { build, T } from '../gateway/mqttsn-client/codec.js';
import { collect, connectClient } from '../helpers/clients.js';
import { bytesArb, mqttRoundTrip, mutate, mutationsArb, noThrow, params, socketParams } from './fuzz.js';

const REASONS = new Set(['malformed', 'length_mismatch', 'unknown_type', 'bad_utf8']);

/** Feeds one datagram; checks the outcome is one message or one refusal with a known reason. */
function feed(d: Buffer): SnFrame | undefined {
  const out = noThrow('SnCodec.feed', () => new SnCodec().feed(d));
  if (out.error !== undefined) {
    assert.equal(out.frames.length, 0);
    assert.ok(REASONS.has(out.error.reason), `unknown reason ${out.error.reason}`);
    return undefined;
  }
  assert.equal(out.frames.length, 1);
  return out.frames[0];
}

/** A copy with ordinary prototypes (fast-check's records have none), for deepStrictEqual. */
function plain<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  return { ...v } as T;
}

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 65535 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const text = (maxLength = 24) => fc.oneof(fc.string({ maxLength }), fc.string({ unit: 'binary', maxLength }));
const nonEmpty = text().filter((s) => s.length > 0);
const flagsArb: fc.Arbitrary<Flags> = fc.record({
  dup: fc.boolean(),
  qos: fc.constantFrom<Flags['qos']>(0, 1, 2, 3),
  retain: fc.boolean(),
  will: fc.boolean(),
  clean: fc.boolean(),
  topicIdType: fc.constantFrom<Flags['topicIdType']>(0, 1, 2, 3),
});
const rc = u8;

/** A SUBSCRIBE/UNSUBSCRIBE whose topic matches its TopicIdType, as the codec requires. */
const subLike = (type: 'SUBSCRIBE' | 'UNSUBSCRIBE'): fc.Arbitrary<SnFrame> =>
  fc.tuple(flagsArb, u16).chain(([f, msgId]) => {
    const topic =
      f.topicIdType === 1
        ? u16.map((id) => ({ id }))
        : f.topicIdType === 2
          ? fc.string({ minLength: 2, maxLength: 2 }).map((name) => ({ name }))
          : nonEmpty.map((name) => ({ name }));
    return topic.map((t): SnFrame => ({ type, flags: f, msgId, topic: t }));
  });

/** Every message type with fields in range; some bodies long enough for the 3-byte length form. */
const frameArb: fc.Arbitrary<SnFrame> = fc
  .oneof(
    fc.record({ type: fc.constant('ADVERTISE' as const), gwId: u8, duration: u16 }),
    fc.record({ type: fc.constant('SEARCHGW' as const), radius: u8 }),
    fc.record({ type: fc.constant('GWINFO' as const), gwId: u8, gwAdd: bytes(16) }),
    fc.record({
      type: fc.constant('CONNECT' as const),
      flags: flagsArb,
      protocolId: u8,
      duration: u16,
      clientId: text(),
    }),
    fc.record({
      type: fc.constantFrom('CONNACK' as const, 'WILLTOPICRESP' as const, 'WILLMSGRESP' as const),
      rc,
    }),
    fc.record({ type: fc.constantFrom('WILLTOPICREQ' as const, 'WILLMSGREQ' as const, 'PINGRESP' as const) }),
    fc.record({
      type: fc.constantFrom('WILLTOPIC' as const, 'WILLTOPICUPD' as const),
      flags: flagsArb,
      topic: text(),
    }),
    fc.record({
      type: fc.constantFrom('WILLTOPIC' as const, 'WILLTOPICUPD' as const),
      flags: fc.constant(undefined),
      topic: fc.constant(''),
    }),
    fc.record({ type: fc.constantFrom('WILLMSG' as const, 'WILLMSGUPD' as const), payload: bytes(300) }),
    fc.record({ type: fc.constant('REGISTER' as const), topicId: u16, msgId: u16, topicName: text(300) }),
    fc.record({ type: fc.constantFrom('REGACK' as const, 'PUBACK' as const), topicId: u16, msgId: u16, rc }),
    fc.record({
      type: fc.constant('PUBLISH' as const),
      flags: flagsArb,
      topicId: u16,
      msgId: u16,
      data: bytes(400),
    }),
    fc.record({
      type: fc.constantFrom('PUBREC' as const, 'PUBREL' as const, 'PUBCOMP' as const, 'UNSUBACK' as const),
      msgId: u16,
    }),
    subLike('SUBSCRIBE'),
    subLike('UNSUBSCRIBE'),
    fc.record({ type: fc.constant('SUBACK' as const), flags: flagsArb, topicId: u16, msgId: u16, rc }),
    fc.record({ type: fc.constant('PINGREQ' as const), clientId: text() }),
    fc.record({ type: fc.constant('DISCONNECT' as const), duration: fc.option(u16, { nil: undefined }) }),
  )
  .map((f) => {
    const out = plain(f) as Record<string, unknown>;
    for (const k of ['flags', 'topic']) if (out[k] !== undefined) out[k] = plain(out[k]);
    return out as SnFrame;
  });

/** Datagrams from the test client's own encoder (independent of the gateway's). */
const theirDatagram: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(nonEmpty, u16).map(([id, d]) => build.connect(id, { duration: d })),
  fc.tuple(u16, nonEmpty).map(([m, t]) => build.register(m, t)),
  fc.tuple(u16, u16, bytes(300)).map(([id, m, d]) => build.publish(id, m, d, { qos: 1 })),
  fc.tuple(u16, nonEmpty).map(([m, t]) => build.subscribe(m, t)),
  fc.tuple(u16, u16).map(([m, id]) => build.subscribeId(m, id)),
  fc.tuple(u16, nonEmpty).map(([m, t]) => build.unsubscribe(m, t)),
  fc.tuple(u16, u16).map(([id, m]) => build.puback(id, m)),
  u16.map((m) => build.pubrel(m)),
  text().map((c) => build.pingreq(c)),
  fc.option(u16, { nil: undefined }).map((d) => build.disconnect(d)),
  nonEmpty.map((t) => build.willtopic(t, { qos: 1 })),
  text().map((m) => build.willmsg(m)),
);

const ourDatagram = frameArb.map(serializeMessage);

describe('fuzz: MQTT-SN codec', () => {
  it('regression: a short topic name that is not UTF-8 is refused, not renamed to U+FFFD', () => {
    // Found by the mutation property: [0x20, 0xa0] decoded to " \ufffd", a 4-byte name that re-encodes to
    // a different, over-long UNSUBSCRIBE.
    for (const type of [T.SUBSCRIBE, T.UNSUBSCRIBE]) {
      assert.equal(feed(Buffer.from([7, type, 0x02, 0, 1, 0x20, 0xa0])), undefined);
      assert.deepStrictEqual(
        feed(Buffer.from([7, type, 0x02, 0, 1, 0x61, 0x62]))?.type,
        type === T.SUBSCRIBE ? 'SUBSCRIBE' : 'UNSUBSCRIBE',
      );
    }
  });

  it('random datagrams: no exception, one message or a refusal; what is accepted re-encodes to itself', () => {
    fc.assert(
      fc.property(bytesArb, (d) => {
        const f = feed(Buffer.from(d));
        if (f !== undefined) assert.deepStrictEqual(parseMessage(serializeMessage(f)), f);
      }),
      params(3000),
    );
  });

  it('valid messages round-trip', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        assert.deepStrictEqual(feed(serializeMessage(f)), f);
      }),
      params(1500),
    );
  });

  it('mutated valid datagrams (either encoder): no exception; what is accepted re-encodes to itself', () => {
    fc.assert(
      fc.property(fc.oneof(ourDatagram, theirDatagram), mutationsArb, (d, edits) => {
        const f = feed(mutate(d, edits));
        if (f !== undefined) assert.deepStrictEqual(parseMessage(serializeMessage(f)), f);
      }),
      params(3000),
    );
  });
});

/** Opens a UDP socket, sends `datagrams` in order, waits a little for answers, closes. */
async function sendDatagrams(port: number, datagrams: Buffer[]): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  for (const d of datagrams) await new Promise<void>((r) => s.send(d, port, '127.0.0.1', () => r()));
  await new Promise((r) => setTimeout(r, 50));
  s.close();
}

describe('fuzz: MQTT-SN gateway over UDP', () => {
  let b: SnBroker;
  before(async () => {
    b = await startSnBroker();
  });
  after(() => b.stop());

  it('batches of random and mutated datagrams, then normal clients get through', async () => {
    let batch = 0;
    const datagram = fc.oneof(
      fc.tuple(fc.oneof(ourDatagram, theirDatagram), mutationsArb).map(([d, e]) => mutate(d, e)),
      ourDatagram,
      bytesArb.map((a) => Buffer.from(a)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.array(datagram, { minLength: 1, maxLength: 8 })), {
          minLength: 8,
          maxLength: 8,
        }),
        async (peers) => {
          await Promise.all(
            peers.map(([login, ds], i) =>
              // A peer that logs in first reaches the connected state's handlers; a DISCONNECT at the end
              // frees its slot so the batches do not fill the gateway.
              sendDatagrams(b.snPort, [
                ...(login ? [build.connect(`fuzz-${batch}-${i}`)] : []),
                ...ds,
                build.disconnect(),
              ]),
            ),
          );
          const tag = `sn-${batch++}`;
          const m = await connectClient(b.port);
          const got = collect(m);
          await m.subscribeAsync(`fuzz/${tag}`);
          const c = await SnClient.connected(b.snPort, tag);
          try {
            const topicId = (await c.register(1, `fuzz/${tag}`)).topicId!;
            await c.subscribe(2, `fuzz/${tag}`, 1);
            c.send(build.publish(topicId, 3, tag, { qos: 1 }));
            await c.next(T.PUBACK);
            assert.equal((await c.next(T.PUBLISH)).data?.toString(), tag);
            assert.equal((await got.next(1))[0]!.payload.toString(), tag);
            c.send(build.disconnect());
            await c.next(T.DISCONNECT);
          } finally {
            c.close();
            await m.endAsync();
          }
          await mqttRoundTrip(b.port, tag);
        },
      ),
      socketParams(4),
    );
  });
});
