/**
 * fast-check generators of valid MQTT packets for a protocol level and direction, with the fields each
 * level can carry (v5 properties only at level 5), so that serialize → parse must give them back.
 */
import fc from 'fast-check';
import type {
  AckProperties,
  ConnectPacket,
  MqttPacket,
  ProtocolVersion,
  PublishProperties,
  QoS,
  UserProperties,
} from '../../src/mqtt/codec/index.js';

/** An MQTT UTF-8 string: any code points but U+0000, mostly short and ASCII. */
export const mqttString = (maxLength = 16): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.string({ maxLength }),
      fc.string({ unit: 'binary', maxLength }),
      fc.constantFrom('', 'a/b', '#', '+/+', '$SYS/x', 'ü/€/𝄞'),
    )
    .map((s) => s.replaceAll('\0', ''));

const topic = mqttString(24).filter((s) => s.length > 0);
const packetId = fc.integer({ min: 1, max: 65535 });
const qos = fc.constantFrom<QoS>(0, 1, 2);
const bytes = (max = 48): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const u16 = fc.integer({ min: 0, max: 65535 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const userProperties: fc.Arbitrary<UserProperties> = fc.array(fc.tuple(mqttString(8), mqttString(8)), {
  minLength: 1,
  maxLength: 3,
});

/** An object with a random subset of `fields`; an empty one becomes undefined (no property block). */
function someOf<T extends object>(
  fields: { [K in keyof T]: fc.Arbitrary<T[K]> },
): fc.Arbitrary<T | undefined> {
  return fc
    .record(fields, { requiredKeys: [] })
    .map((o) => (Object.keys(o).length === 0 ? undefined : (o as T)));
}

const publishProps = (s2c: boolean): fc.Arbitrary<PublishProperties | undefined> =>
  someOf<PublishProperties>({
    payloadFormatIndicator: fc.constantFrom(0, 1),
    messageExpiryInterval: u32,
    topicAlias: fc.integer({ min: 1, max: 65535 }),
    responseTopic: topic,
    correlationData: bytes(16),
    userProperties,
    contentType: mqttString(),
    ...(s2c
      ? {
          subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 268435455 }), {
            minLength: 1,
            maxLength: 3,
          }),
        }
      : {}),
  });

const ackProps: fc.Arbitrary<AckProperties | undefined> = someOf<AckProperties>({
  reasonString: mqttString(),
  userProperties,
});

function connect(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  const v5 = v === 5;
  return fc
    .record({
      cleanStart: fc.boolean(),
      keepalive: u16,
      clientId: v === 3 ? mqttString(23).filter((s) => s.length > 0) : mqttString(23),
      will: fc.option(
        fc.record({
          topic,
          payload: bytes(),
          qos,
          retain: fc.boolean(),
          properties: v5
            ? someOf({
                willDelayInterval: u32,
                payloadFormatIndicator: fc.constantFrom(0, 1),
                messageExpiryInterval: u32,
                contentType: mqttString(),
                responseTopic: topic,
                correlationData: bytes(16),
                userProperties,
              })
            : fc.constant(undefined),
        }),
        { nil: undefined },
      ),
      username: fc.option(mqttString(), { nil: undefined }),
      password: fc.option(bytes(16), { nil: undefined }),
      properties: v5
        ? someOf({
            sessionExpiryInterval: u32,
            receiveMaximum: fc.integer({ min: 1, max: 65535 }),
            maximumPacketSize: fc.integer({ min: 1, max: 0xffffffff }),
            topicAliasMaximum: u16,
            requestResponseInformation: fc.constantFrom(0, 1),
            requestProblemInformation: fc.constantFrom(0, 1),
            userProperties,
            authenticationMethod: mqttString(),
          })
        : fc.constant(undefined),
    })
    .map((r): ConnectPacket => {
      // Before v5 a password needs a user name (3.1.1 §3.1.2.9).
      const username = !v5 && r.password !== undefined && r.username === undefined ? 'u' : r.username;
      return {
        cmd: 'connect',
        protocolName: v === 3 ? 'MQIsdp' : 'MQTT',
        protocolVersion: v,
        bridge: false,
        ...r,
        username,
      };
    });
}

function publish(v: ProtocolVersion, s2c: boolean): fc.Arbitrary<MqttPacket> {
  return fc
    .record({
      qos,
      dup: fc.boolean(),
      retain: fc.boolean(),
      topic,
      packetId,
      payload: bytes(),
      properties: v === 5 ? publishProps(s2c) : fc.constant(undefined),
    })
    .map((r) => ({
      cmd: 'publish' as const,
      ...r,
      dup: r.qos > 0 && r.dup,
      packetId: r.qos === 0 ? 0 : r.packetId,
    }));
}

function pubAckLike(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  return fc.constantFrom('puback', 'pubrec', 'pubrel', 'pubcomp' as const).chain((cmd) =>
    fc.record({
      cmd: fc.constant(cmd),
      packetId,
      reasonCode:
        v !== 5
          ? fc.constant(0)
          : cmd === 'puback' || cmd === 'pubrec'
            ? fc.constantFrom(0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99)
            : fc.constantFrom(0x00, 0x92),
      properties: v === 5 ? ackProps : fc.constant(undefined),
    }),
  );
}

function subscribe(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  const v5 = v === 5;
  return fc.record({
    cmd: fc.constant('subscribe' as const),
    packetId,
    subscriptions: fc.array(
      fc.record({
        topic,
        qos,
        noLocal: v5 ? fc.boolean() : fc.constant(false),
        retainAsPublished: v5 ? fc.boolean() : fc.constant(false),
        retainHandling: v5 ? fc.constantFrom<0 | 1 | 2>(0, 1, 2) : fc.constant<0>(0),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    properties: v5
      ? someOf({ subscriptionIdentifier: fc.integer({ min: 1, max: 268435455 }), userProperties })
      : fc.constant(undefined),
  });
}

function unsubscribe(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  return fc.record({
    cmd: fc.constant('unsubscribe' as const),
    packetId,
    topics: fc.array(topic, { minLength: 1, maxLength: 4 }),
    properties: v === 5 ? someOf({ userProperties }) : fc.constant(undefined),
  });
}

function disconnect(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  return fc.record({
    cmd: fc.constant('disconnect' as const),
    reasonCode: v === 5 ? fc.constantFrom(0x00, 0x04, 0x80, 0x81, 0x8b, 0x8e, 0x93, 0x9c) : fc.constant(0),
    properties:
      v === 5
        ? someOf({ sessionExpiryInterval: u32, reasonString: mqttString(), userProperties })
        : fc.constant(undefined),
  });
}

const auth: fc.Arbitrary<MqttPacket> = fc.record({
  cmd: fc.constant('auth' as const),
  reasonCode: fc.constantFrom(0x00, 0x18, 0x19),
  properties: someOf({
    authenticationMethod: mqttString(),
    authenticationData: bytes(16),
    reasonString: mqttString(),
    userProperties,
  }),
});

/** Packets after CONNECT that a client may send at level `v`. */
export function clientPacket(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  const kinds: Array<fc.Arbitrary<MqttPacket>> = [
    publish(v, false),
    pubAckLike(v),
    subscribe(v),
    unsubscribe(v),
    fc.constant<MqttPacket>({ cmd: 'pingreq' }),
    disconnect(v),
  ];
  if (v === 5) kinds.push(auth);
  return fc.oneof(...kinds);
}

/** Packets a server may send at level `v`. */
export function serverPacket(v: ProtocolVersion): fc.Arbitrary<MqttPacket> {
  const v5 = v === 5;
  const kinds: Array<fc.Arbitrary<MqttPacket>> = [
    fc.record({
      cmd: fc.constant('connack' as const),
      sessionPresent: v === 3 ? fc.constant(false) : fc.boolean(),
      reasonCode: v5
        ? fc.constantFrom(0x00, 0x80, 0x84, 0x86, 0x87, 0x8a, 0x9f)
        : fc.integer({ min: 0, max: 5 }),
      properties: v5
        ? someOf({
            sessionExpiryInterval: u32,
            receiveMaximum: fc.integer({ min: 1, max: 65535 }),
            maximumQoS: fc.constantFrom(0, 1),
            retainAvailable: fc.constantFrom(0, 1),
            assignedClientIdentifier: mqttString(),
            topicAliasMaximum: u16,
            reasonString: mqttString(),
            serverKeepAlive: u16,
            userProperties,
          })
        : fc.constant(undefined),
    }),
    publish(v, true),
    pubAckLike(v),
    fc.record({
      cmd: fc.constant('suback' as const),
      packetId,
      reasonCodes: fc.array(
        v5
          ? fc.constantFrom(0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2)
          : fc.constantFrom(0, 1, 2, 0x80),
        { minLength: 1, maxLength: 4 },
      ),
      properties: v5 ? ackProps : fc.constant(undefined),
    }),
    fc.record({
      cmd: fc.constant('unsuback' as const),
      packetId,
      reasonCodes: v5
        ? fc.array(fc.constantFrom<number>(0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91), {
            minLength: 1,
            maxLength: 4,
          })
        : fc.constant<number[]>([]),
      properties: v5 ? ackProps : fc.constant(undefined),
    }),
    fc.constant<MqttPacket>({ cmd: 'pingresp' }),
    disconnect(v),
  ];
  if (v5) kinds.push(auth);
  return fc.oneof(...kinds);
}

/** A client's opening: a valid CONNECT at level `v` followed by up to `max` valid packets. */
export function clientStream(v: ProtocolVersion, max = 6): fc.Arbitrary<MqttPacket[]> {
  return fc.tuple(connect(v), fc.array(clientPacket(v), { maxLength: max })).map(([c, rest]) => [c, ...rest]);
}

export const versionArb = fc.constantFrom<ProtocolVersion>(3, 4, 5);
