/** The gateway's MQTT-SN codec against the test client's independent one, plus malformed input. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  flags,
  parseMessage,
  SnCodec,
  type SnFrame,
  serializeMessage,
} from '../../src/gateway/mqttsn/frame.js';
import { build, decode, frame, T } from './mqttsn-client/codec.js';

const roundTrip = (f: SnFrame): SnFrame => parseMessage(serializeMessage(f));

describe('mqttsn codec', () => {
  it('round-trips every message type', () => {
    const all: SnFrame[] = [
      { type: 'ADVERTISE', gwId: 1, duration: 900 },
      { type: 'SEARCHGW', radius: 2 },
      { type: 'GWINFO', gwId: 7, gwAdd: Buffer.from([1, 2, 3]) },
      {
        type: 'CONNECT',
        flags: flags({ will: true, clean: true }),
        protocolId: 1,
        duration: 60,
        clientId: 'dev-1',
      },
      { type: 'CONNACK', rc: 0 },
      { type: 'WILLTOPICREQ' },
      { type: 'WILLTOPIC', flags: flags({ qos: 1, retain: true }), topic: 'will/t' },
      { type: 'WILLTOPIC', flags: undefined, topic: '' },
      { type: 'WILLMSGREQ' },
      { type: 'WILLMSG', payload: Buffer.from('bye') },
      { type: 'REGISTER', topicId: 1025, msgId: 7, topicName: 'a/b' },
      { type: 'REGACK', topicId: 1025, msgId: 7, rc: 0 },
      {
        type: 'PUBLISH',
        flags: flags({ qos: 2, dup: true, retain: true, topicIdType: 1 }),
        topicId: 1,
        msgId: 9,
        data: Buffer.from('x'),
      },
      {
        type: 'PUBLISH',
        flags: flags({ qos: 3, topicIdType: 2 }),
        topicId: 0x6162,
        msgId: 0,
        data: Buffer.alloc(0),
      },
      { type: 'PUBACK', topicId: 3, msgId: 4, rc: 2 },
      { type: 'PUBREC', msgId: 5 },
      { type: 'PUBREL', msgId: 6 },
      { type: 'PUBCOMP', msgId: 7 },
      { type: 'SUBSCRIBE', flags: flags({ qos: 1 }), msgId: 8, topic: { name: 'a/+' } },
      { type: 'SUBSCRIBE', flags: flags({ topicIdType: 1 }), msgId: 8, topic: { id: 2 } },
      { type: 'SUBSCRIBE', flags: flags({ topicIdType: 2 }), msgId: 8, topic: { name: 'ab' } },
      { type: 'SUBACK', flags: flags({ qos: 2 }), topicId: 1026, msgId: 8, rc: 0 },
      { type: 'UNSUBSCRIBE', flags: flags(), msgId: 9, topic: { name: 'a/b' } },
      { type: 'UNSUBACK', msgId: 9 },
      { type: 'PINGREQ', clientId: '' },
      { type: 'PINGREQ', clientId: 'sleepy' },
      { type: 'PINGRESP' },
      { type: 'DISCONNECT', duration: undefined },
      { type: 'DISCONNECT', duration: 30 },
      { type: 'WILLTOPICUPD', flags: flags({ qos: 1 }), topic: 'w' },
      { type: 'WILLTOPICUPD', flags: undefined, topic: '' },
      { type: 'WILLTOPICRESP', rc: 0 },
      { type: 'WILLMSGUPD', payload: Buffer.from('m') },
      { type: 'WILLMSGRESP', rc: 0 },
    ];
    for (const f of all) assert.deepEqual(roundTrip(f), f, f.type);
  });

  it('agrees byte for byte with the test client codec', () => {
    const pairs: Array<[Buffer, SnFrame]> = [
      [
        build.connect('abc', { duration: 10 }),
        { type: 'CONNECT', flags: flags({ clean: true }), protocolId: 1, duration: 10, clientId: 'abc' },
      ],
      [build.register(3, 't/1'), { type: 'REGISTER', topicId: 0, msgId: 3, topicName: 't/1' }],
      [
        build.publish(1025, 2, 'hi', { qos: 1 }),
        { type: 'PUBLISH', flags: flags({ qos: 1 }), topicId: 1025, msgId: 2, data: Buffer.from('hi') },
      ],
      [
        build.publishShort('ab', 0, 'z', { qos: -1 }),
        {
          type: 'PUBLISH',
          flags: flags({ qos: 3, topicIdType: 2 }),
          topicId: 0x6162,
          msgId: 0,
          data: Buffer.from('z'),
        },
      ],
      [
        build.subscribeId(4, 2, { qos: 2 }),
        { type: 'SUBSCRIBE', flags: flags({ qos: 2, topicIdType: 1 }), msgId: 4, topic: { id: 2 } },
      ],
      [build.disconnect(5), { type: 'DISCONNECT', duration: 5 }],
      [build.pingreq('me'), { type: 'PINGREQ', clientId: 'me' }],
    ];
    for (const [bytes, f] of pairs) {
      assert.deepEqual(parseMessage(bytes), f);
      assert.deepEqual(serializeMessage(f), bytes);
    }
    const suback = decode(
      serializeMessage({ type: 'SUBACK', flags: flags({ qos: 1 }), topicId: 1025, msgId: 3, rc: 0 }),
    );
    assert.deepEqual(
      [suback.type, suback.qos, suback.topicId, suback.msgId, suback.rc],
      [T.SUBACK, 1, 1025, 3, 0],
    );
  });

  it('uses the 3-byte length past 255 bytes, and parses it', () => {
    const data = Buffer.alloc(400, 7);
    const bytes = serializeMessage({ type: 'PUBLISH', flags: flags({ qos: 1 }), topicId: 1, msgId: 1, data });
    assert.equal(bytes[0], 0x01);
    assert.equal(bytes.readUInt16BE(1), bytes.length);
    assert.equal(bytes.length, 400 + 4 + 5);
    assert.deepEqual(decode(bytes).data, data);
    assert.deepEqual((parseMessage(build.publish(1, 1, data)) as { data: Buffer }).data, data);
    // A short message in the long form is accepted too.
    assert.equal(parseMessage(Buffer.from([0x01, 0x00, 0x04, T.PINGRESP])).type, 'PINGRESP');
  });

  it('refuses a length that differs from the datagram, unknown types, bad bodies — as values, never throwing', () => {
    const codec = new SnCodec();
    const bad = (b: Buffer) => codec.feed(b).error?.reason;
    assert.equal(bad(Buffer.concat([build.pingreq(), Buffer.from([0])])), 'length_mismatch');
    assert.equal(bad(build.pingreq().subarray(0, 1)), 'malformed');
    assert.equal(bad(Buffer.from([3, 0x1e, 0])), 'unknown_type');
    assert.equal(bad(Buffer.from([2, 0xfe])), 'unknown_type');
    assert.equal(bad(frame(T.PUBACK, [0, 1, 0, 2])), 'malformed');
    assert.equal(bad(frame(T.SUBSCRIBE, [0x02, 0, 1], 'abc')), 'malformed');
    assert.equal(bad(Buffer.from([0x01, 0x00])), 'malformed');
    assert.equal(bad(Buffer.from([0x00, 0x16])), 'length_mismatch');
    assert.deepEqual(codec.feed(build.pingreq()).frames, [{ type: 'PINGREQ', clientId: '' }]);
  });

  it('random datagrams never throw (EMQX t_random_test)', () => {
    const codec = new SnCodec();
    for (let i = 0; i < 50_000; i++) {
      const n = 1 + (i % 40);
      const b = randomBytes(n);
      if (i % 2 === 0) b[0] = n;
      const out = codec.feed(b);
      assert.ok(out.frames.length + (out.error ? 1 : 0) === 1);
      // Bytes that are not UTF-8 in a name do not survive decoding (U+FFFD): compare only lossless ones.
      const f = out.frames[0];
      if (f !== undefined && !JSON.stringify(f).includes('\ufffd'))
        assert.deepEqual(parseMessage(serializeMessage(f)), f);
    }
  });
});
