import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MqttPacket, publishSize, serialize } from '../../src/mqtt/codec/index.js';
import {
  ACK_PROPS,
  CONNECT_PROPS,
  connectPacket,
  DISCONNECT_PROPS,
  normalize,
  PUBLISH_PROPS,
  parseAll,
  projectTo,
  SUBSCRIBE_PROPS,
  samples,
  VERSIONS,
  WILL_PROPS,
} from './codec-fixtures.js';

describe('codec round trip', () => {
  for (const version of VERSIONS) {
    describe(`MQTT level ${version}`, () => {
      for (const { name, dir, packet } of samples(version)) {
        it(name, () => {
          const frame = serialize(packet, version);
          const [parsed] = parseAll(dir, version, [frame]);
          assert.deepStrictEqual(normalize(parsed), normalize(packet));
          // Serializing what we parsed gives the same bytes: the encoding is canonical.
          assert.deepStrictEqual(serialize(parsed, version), frame);
          if (packet.cmd === 'publish') assert.equal(publishSize(packet, version), frame.length);
        });
      }
    });
  }

  it('covers every packet type in every level it exists in', () => {
    for (const version of VERSIONS) {
      const cmds = new Set(samples(version).map((s) => s.packet.cmd));
      const expected = [
        'connect',
        'connack',
        'publish',
        'puback',
        'pubrec',
        'pubrel',
        'pubcomp',
        'subscribe',
        'suback',
        'unsubscribe',
        'unsuback',
        'pingreq',
        'pingresp',
        'disconnect',
      ];
      if (version === 5) expected.push('auth');
      assert.deepStrictEqual([...cmds].sort(), expected.sort());
    }
  });
});

describe('encoding v5 packets for 3.x drops v5-only fields', () => {
  const rich: Array<{ dir: 'c2s' | 's2c'; packet: MqttPacket }> = [
    {
      dir: 'c2s',
      packet: connectPacket(5, {
        properties: CONNECT_PROPS,
        will: { topic: 'w', payload: Buffer.from('x'), qos: 1, retain: true, properties: WILL_PROPS },
        username: 'u',
        password: Buffer.from('p'),
      }),
    },
    {
      dir: 'c2s',
      packet: {
        cmd: 'publish',
        qos: 1,
        dup: false,
        retain: false,
        topic: 't',
        packetId: 5,
        payload: Buffer.from('p'),
        properties: PUBLISH_PROPS,
      },
    },
    { dir: 's2c', packet: { cmd: 'puback', packetId: 5, reasonCode: 0x10, properties: ACK_PROPS } },
    { dir: 'c2s', packet: { cmd: 'pubrel', packetId: 5, reasonCode: 0x92, properties: ACK_PROPS } },
    {
      dir: 'c2s',
      packet: {
        cmd: 'subscribe',
        packetId: 3,
        subscriptions: [{ topic: 's', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 }],
        properties: SUBSCRIBE_PROPS,
      },
    },
    {
      dir: 's2c',
      packet: { cmd: 'suback', packetId: 3, reasonCodes: [2, 0x87, 0xa2], properties: ACK_PROPS },
    },
    { dir: 's2c', packet: { cmd: 'unsuback', packetId: 3, reasonCodes: [0x11], properties: ACK_PROPS } },
    {
      dir: 's2c',
      packet: { cmd: 'connack', sessionPresent: true, reasonCode: 0, properties: { receiveMaximum: 5 } },
    },
    { dir: 'c2s', packet: { cmd: 'disconnect', reasonCode: 0x04, properties: DISCONNECT_PROPS } },
  ];
  for (const version of [3, 4] as const) {
    for (const { dir, packet } of rich) {
      it(`${packet.cmd} for level ${version}`, () => {
        const [parsed] = parseAll(dir, version, [serialize(packet, version)]);
        assert.deepStrictEqual(normalize(parsed), projectTo(packet, version));
      });
    }
  }

  it('maps v5 CONNACK reason codes to 3.x return codes', () => {
    const cases: Array<[number, number]> = [
      [0x00, 0],
      [0x84, 1],
      [0x85, 2],
      [0x88, 3],
      [0x89, 3],
      [0x86, 4],
      [0x87, 5],
      [0x8a, 5],
      [0x80, 3],
      [3, 3],
    ];
    for (const [v5, v3] of cases) {
      const frame = serialize({ cmd: 'connack', sessionPresent: false, reasonCode: v5 }, 4);
      assert.deepStrictEqual([...frame], [0x20, 2, 0, v3], `0x${v5.toString(16)}`);
    }
  });

  it('AUTH cannot be encoded before MQTT 5', () => {
    assert.throws(() => serialize({ cmd: 'auth', reasonCode: 0 }, 4), TypeError);
  });
});
