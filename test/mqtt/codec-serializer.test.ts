/** Serializer specifics: exact bytes of the short forms, the hot-path helpers, and refusals. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DISCONNECT_FRAME,
  encodePubAck,
  encodePublish,
  encodePublishFrame,
  type MqttPacket,
  PINGREQ_FRAME,
  PINGRESP_FRAME,
  type ProtocolVersion,
  type PublishPacket,
  publishPacketIdOffset,
  publishSize,
  serialize,
} from '../../src/mqtt/codec/index.js';
import { connectPacket, normalize, PUBLISH_PROPS_S2C, parseAll, VERSIONS } from './codec-fixtures.js';

function hex(b: Buffer): string {
  return b.toString('hex');
}

function publish(extra: Partial<PublishPacket> = {}): PublishPacket {
  return {
    cmd: 'publish',
    qos: 0,
    dup: false,
    retain: false,
    topic: 't',
    packetId: 0,
    payload: Buffer.alloc(0),
    ...extra,
  };
}

describe('exact encodings', () => {
  it('3.1.1 CONNECT', () => {
    const frame = serialize(
      connectPacket(4, { clientId: 'c', keepalive: 10, username: 'u', password: Buffer.from('p') }),
      4,
    );
    assert.equal(hex(frame), '101300044d51545404c2000a000163000175000170');
  });

  it('3.1 CONNECT uses MQIsdp, and CONNACK has no session present flag', () => {
    assert.equal(
      hex(serialize(connectPacket(3, { clientId: 'c' }), 3)),
      '100f00064d514973647003020' + '03c000163',
    );
    assert.equal(hex(serialize({ cmd: 'connack', sessionPresent: true, reasonCode: 0 }, 3)), '20020000');
    assert.equal(hex(serialize({ cmd: 'connack', sessionPresent: true, reasonCode: 0 }, 4)), '20020100');
    assert.equal(hex(serialize({ cmd: 'connack', sessionPresent: true, reasonCode: 0 }, 5)), '2003010000');
  });

  it('bridge bit on the protocol level', () => {
    const frame = serialize(connectPacket(4, { bridge: true, clientId: '' }), 4);
    assert.equal(frame[8], 0x84);
  });

  it('v5 acks: 2-byte form for success, 3-byte form for a bare reason code, full form with properties', () => {
    assert.equal(hex(serialize({ cmd: 'puback', packetId: 0x102, reasonCode: 0 }, 5)), '40020102');
    assert.equal(hex(serialize({ cmd: 'pubrec', packetId: 0x102, reasonCode: 0x10 }, 5)), '5003010210');
    assert.equal(
      hex(serialize({ cmd: 'pubrel', packetId: 1, reasonCode: 0x92, properties: {} }, 5)),
      '6203000192',
    );
    assert.equal(
      hex(serialize({ cmd: 'pubcomp', packetId: 1, reasonCode: 0, properties: { reasonString: 'x' } }, 5)),
      '70080001' + '00' + '04' + '1f000178',
    );
    // 3.x ignores reason code and properties.
    assert.equal(
      hex(serialize({ cmd: 'puback', packetId: 1, reasonCode: 0x80, properties: { reasonString: 'x' } }, 4)),
      '40020001',
    );
  });

  it('v5 DISCONNECT and AUTH short forms', () => {
    assert.equal(hex(serialize({ cmd: 'disconnect', reasonCode: 0 }, 5)), 'e000');
    assert.equal(hex(serialize({ cmd: 'disconnect', reasonCode: 4 }, 5)), 'e00104');
    assert.equal(
      hex(serialize({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 1 } }, 5)),
      'e00700051100000001',
    );
    assert.equal(hex(serialize({ cmd: 'disconnect', reasonCode: 0x8e }, 4)), 'e000');
    assert.equal(hex(serialize({ cmd: 'auth', reasonCode: 0 }, 5)), 'f000');
    assert.equal(hex(serialize({ cmd: 'auth', reasonCode: 0x18 }, 5)), 'f00118');
  });

  it('v5 PUBLISH with no properties writes a zero property length', () => {
    assert.equal(
      hex(serialize(publish({ topic: 'a', payload: Buffer.from('b') }), 5)),
      '3005000161' + '00' + '62',
    );
    assert.equal(
      hex(serialize(publish({ topic: 'a', payload: Buffer.from('b'), properties: {} }), 5)),
      '300500016100' + '62',
    );
    assert.equal(hex(serialize(publish({ topic: 'a', payload: Buffer.from('b') }), 4)), '30040001616' + '2');
  });

  it('SUBSCRIBE options byte per level', () => {
    const sub: MqttPacket = {
      cmd: 'subscribe',
      packetId: 1,
      subscriptions: [{ topic: 'a', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
    };
    assert.equal(hex(serialize(sub, 5)), '8207' + '0001' + '00' + '000161' + '2d');
    assert.equal(hex(serialize(sub, 4)), '8206' + '0001' + '000161' + '01');
  });

  it('SUBACK failure codes collapse to 0x80 before MQTT 5', () => {
    const suback: MqttPacket = { cmd: 'suback', packetId: 1, reasonCodes: [0, 0x87, 0xa2, 2] };
    assert.equal(hex(serialize(suback, 4)), '9006000100808002');
    assert.equal(hex(serialize(suback, 5)), '900700010000' + '87a202');
  });

  it('UNSUBACK carries reason codes only in MQTT 5', () => {
    assert.equal(hex(serialize({ cmd: 'unsuback', packetId: 1, reasonCodes: [0x11] }, 4)), 'b0020001');
    assert.equal(hex(serialize({ cmd: 'unsuback', packetId: 1, reasonCodes: [0x11] }, 5)), 'b00400010011');
  });

  it('multi-byte UTF-8 lengths count bytes, not UTF-16 units', () => {
    const frame = serialize(publish({ topic: 'é€𝄞' }), 4);
    assert.equal(hex(frame), '300b0009' + Buffer.from('é€𝄞').toString('hex'));
  });

  it('remaining length boundaries 127/128 and 16383/16384', () => {
    for (const [rem, header] of [
      [127, '307f'],
      [128, '308001'],
      [16383, '30ff7f'],
      [16384, '30808001'],
      [2097152, '3080808001'],
    ] as const) {
      const frame = serialize(publish({ payload: Buffer.alloc(rem - 3) }), 4);
      assert.equal(hex(frame.subarray(0, header.length / 2)), header);
      assert.equal(frame.length, header.length / 2 + rem);
    }
  });
});

describe('hot-path helpers', () => {
  it('constant frames', () => {
    assert.equal(hex(PINGREQ_FRAME), 'c000');
    assert.equal(hex(PINGRESP_FRAME), 'd000');
    assert.equal(hex(DISCONNECT_FRAME), 'e000');
    assert.deepStrictEqual(serialize({ cmd: 'pingresp' }, 4), PINGRESP_FRAME);
    assert.notEqual(serialize({ cmd: 'pingresp' }, 4), PINGRESP_FRAME);
  });

  it('encodePubAck matches serialize for every ack type and level', () => {
    for (const version of VERSIONS) {
      for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
        for (const rc of [0, 0x10, 0x92]) {
          assert.deepStrictEqual(
            encodePubAck(cmd, 513, rc, version),
            serialize({ cmd, packetId: 513, reasonCode: rc }, version),
            `${cmd} v${version} rc ${rc}`,
          );
        }
      }
    }
    assert.equal(hex(encodePubAck('pubrel', 1, 0, 4)), '62020001');
    assert.throws(() => encodePubAck('puback', 0, 0, 4), TypeError);
    assert.throws(() => encodePubAck('puback', 70000, 0, 4), TypeError);
  });

  it('encodePublish reports the packet id offset, and a patched copy parses with the new id', () => {
    for (const version of VERSIONS) {
      const p = publish({
        qos: 1,
        packetId: 1,
        topic: 'fan/out',
        payload: Buffer.from('shared'),
        properties: version === 5 ? PUBLISH_PROPS_S2C : undefined,
      });
      const { frame, packetIdOffset } = encodePublish(p, version);
      assert.deepStrictEqual(frame, serialize(p, version));
      assert.equal(frame.readUInt16BE(packetIdOffset), 1);
      const copy = Buffer.from(frame);
      copy.writeUInt16BE(0xbeef, packetIdOffset);
      const [parsed] = parseAll('s2c', version, [copy]);
      assert.deepStrictEqual(normalize(parsed), normalize({ ...p, packetId: 0xbeef }));
    }
    assert.equal(encodePublish(publish(), 4).packetIdOffset, -1);
  });

  it('encodePublishFrame builds the same frame as serialize, and publishPacketIdOffset finds its packet id', () => {
    for (const version of VERSIONS) {
      for (const [topic, payload] of [
        ['t', Buffer.from('x')],
        ['ü/€/long topic', Buffer.alloc(200, 7)],
        // A 3-byte remaining length: the offset must skip the whole varint.
        ['big', Buffer.alloc(20000, 1)],
      ] as const) {
        for (const qos of [0, 1, 2] as const) {
          const properties = version === 5 ? PUBLISH_PROPS_S2C : undefined;
          const p = publish({ qos, packetId: qos === 0 ? 0 : 1, retain: true, topic, payload, properties });
          const frame = encodePublishFrame(version, qos, true, false, topic, payload, properties);
          assert.deepStrictEqual(frame, serialize(p, version));
          const offset = publishPacketIdOffset(frame);
          if (qos === 0) {
            assert.equal(offset, -1);
            continue;
          }
          frame.writeUInt16BE(0xbeef, offset);
          const [parsed] = parseAll('s2c', version, [frame]);
          assert.deepStrictEqual(normalize(parsed), normalize({ ...p, packetId: 0xbeef }));
        }
      }
    }
    assert.throws(() => encodePublishFrame(4, 0, false, true, 't', Buffer.alloc(0), undefined), TypeError);
  });

  it('encodePublish takes packet id 0 as a placeholder; serialize refuses it', () => {
    const p = publish({ qos: 2, packetId: 0 });
    const { frame, packetIdOffset } = encodePublish(p, 5);
    assert.equal(frame.readUInt16BE(packetIdOffset), 0);
    assert.throws(() => serialize(p, 5), TypeError);
  });

  it('publishSize equals the encoded length', () => {
    const cases: PublishPacket[] = [
      publish(),
      publish({ qos: 2, packetId: 9, topic: 'ü/€', payload: Buffer.alloc(200) }),
      publish({ payload: Buffer.alloc(20000), properties: PUBLISH_PROPS_S2C }),
      publish({ topic: '', properties: { topicAlias: 3 } }),
    ];
    for (const version of VERSIONS) {
      for (const p of cases) {
        if (version !== 5 && p.topic === '') continue;
        assert.equal(publishSize(p, version), serialize(p, version).length);
      }
    }
  });
});

describe('refusals (TypeError)', () => {
  const refused: Array<[string, MqttPacket, ProtocolVersion]> = [
    ['QoS 1 with packet id 0', publish({ qos: 1, packetId: 0 }), 4],
    ['packet id above 65535', publish({ qos: 1, packetId: 65536 }), 4],
    ['QoS 3', publish({ qos: 3 as 0 }), 4],
    ['DUP on QoS 0', publish({ dup: true }), 4],
    ['empty topic before MQTT 5', publish({ topic: '' }), 4],
    ['empty topic without alias', publish({ topic: '' }), 5],
    ['topic over 65535 bytes', publish({ topic: 'é'.repeat(32768) }), 4],
    ['topic with U+0000', publish({ topic: 'a\u0000b' }), 4],
    ['topic with a lone high surrogate', publish({ topic: 'a\ud800b' }), 4],
    ['topic with a lone low surrogate', publish({ topic: '\udc00' }), 4],
    ['topic ending in a high surrogate', publish({ topic: 'a\ud83d' }), 4],
    ['topic alias 0', publish({ properties: { topicAlias: 0 } }), 5],
    ['payload format indicator 2', publish({ properties: { payloadFormatIndicator: 2 } }), 5],
    ['message expiry above 32 bits', publish({ properties: { messageExpiryInterval: 2 ** 32 } }), 5],
    ['fractional message expiry', publish({ properties: { messageExpiryInterval: 1.5 } }), 5],
    ['subscription identifier 0', publish({ properties: { subscriptionIdentifiers: [0] } }), 5],
    ['subscription identifier too big', publish({ properties: { subscriptionIdentifiers: [268435456] } }), 5],
    [
      'correlation data over 65535 bytes',
      publish({ properties: { correlationData: Buffer.alloc(65536) } }),
      5,
    ],
    ['user property key with U+0000', publish({ properties: { userProperties: [['\u0000', 'v']] } }), 5],
    ['puback packet id 0', { cmd: 'puback', packetId: 0, reasonCode: 0 }, 4],
    ['puback reason code 256', { cmd: 'puback', packetId: 1, reasonCode: 256 }, 5],
    ['subscribe without filters', { cmd: 'subscribe', packetId: 1, subscriptions: [] }, 4],
    [
      'subscribe QoS 3',
      {
        cmd: 'subscribe',
        packetId: 1,
        subscriptions: [
          { topic: 't', qos: 3 as 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      },
      4,
    ],
    [
      'subscribe retain handling 3',
      {
        cmd: 'subscribe',
        packetId: 1,
        subscriptions: [
          { topic: 't', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 3 as 0 },
        ],
      },
      5,
    ],
    [
      'subscribe subscription identifier 0',
      {
        cmd: 'subscribe',
        packetId: 1,
        subscriptions: [{ topic: 't', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
        properties: { subscriptionIdentifier: 0 },
      },
      5,
    ],
    ['unsubscribe without filters', { cmd: 'unsubscribe', packetId: 1, topics: [] }, 4],
    ['v5 unsuback without reason codes', { cmd: 'unsuback', packetId: 1, reasonCodes: [] }, 5],
    ['connect keepalive 65536', connectPacket(4, { keepalive: 65536 }), 4],
    [
      'connect will QoS 3',
      connectPacket(4, { will: { topic: 'w', payload: Buffer.alloc(0), qos: 3 as 0, retain: false } }),
      4,
    ],
    ['connect password without user name before MQTT 5', connectPacket(4, { password: Buffer.from('p') }), 4],
    [
      'connect password over 65535 bytes',
      connectPacket(5, { username: 'u', password: Buffer.alloc(65536) }),
      5,
    ],
    ['connect receive maximum 0', connectPacket(5, { properties: { receiveMaximum: 0 } }), 5],
    ['connect maximum packet size 0', connectPacket(5, { properties: { maximumPacketSize: 0 } }), 5],
    [
      'connect request problem information 2',
      connectPacket(5, { properties: { requestProblemInformation: 2 } }),
      5,
    ],
    [
      'connack maximum QoS 2',
      { cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { maximumQoS: 2 } },
      5,
    ],
    ['auth before MQTT 5', { cmd: 'auth', reasonCode: 0 }, 4],
    ['unknown level', { cmd: 'pingreq' }, 6 as 5],
  ];
  for (const [name, packet, version] of refused) {
    it(name, () => {
      assert.throws(() => serialize(packet, version), TypeError);
    });
  }

  it('a lone surrogate is refused but a surrogate pair is fine', () => {
    assert.doesNotThrow(() => serialize(publish({ topic: '\ud83d\ude00' }), 4));
  });
});
