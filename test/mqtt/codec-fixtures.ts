/**
 * Shared fixtures for the codec tests: sample packets for every type and version, parse helpers, the
 * "what survives encoding for level N" projection, and converters to and from mqtt-packet's object model.
 */

import {
  type AckProperties,
  type AuthProperties,
  type ConnackProperties,
  type ConnectPacket,
  type ConnectProperties,
  type DisconnectProperties,
  type MqttPacket,
  type MqttParseError,
  MqttParser,
  type ProtocolVersion,
  type PublishProperties,
  type SubscribeProperties,
  serialize,
  type UserProperties,
  type WillProperties,
} from '../../src/mqtt/codec/index.js';

export const VERSIONS: ProtocolVersion[] = [3, 4, 5];

/** Keys with one value repeated so mqtt-packet's object form keeps the order. */
export const USER: UserProperties = [
  ['region', 'eu-west'],
  ['region', 'eu-north'],
  ['unicode', 'ünï€ødé ✓ 𝄞'],
  ['', ''],
];

export const CONNECT_PROPS: ConnectProperties = {
  sessionExpiryInterval: 3600,
  receiveMaximum: 100,
  maximumPacketSize: 65536,
  topicAliasMaximum: 10,
  requestResponseInformation: 1,
  requestProblemInformation: 0,
  userProperties: USER,
  authenticationMethod: 'SCRAM-SHA-256',
  authenticationData: Buffer.from([1, 2, 3, 0, 255]),
};

export const WILL_PROPS: WillProperties = {
  willDelayInterval: 30,
  payloadFormatIndicator: 1,
  messageExpiryInterval: 0xffffffff,
  contentType: 'text/plain; charset=utf-8',
  responseTopic: 'replies/will',
  correlationData: Buffer.from('corr-will'),
  userProperties: USER,
};

export const CONNACK_PROPS: ConnackProperties = {
  sessionExpiryInterval: 7200,
  receiveMaximum: 65535,
  maximumQoS: 1,
  retainAvailable: 0,
  maximumPacketSize: 268435460,
  assignedClientIdentifier: 'auto-7f3a',
  topicAliasMaximum: 65535,
  reasonString: 'welcome',
  userProperties: USER,
  wildcardSubscriptionAvailable: 1,
  subscriptionIdentifiersAvailable: 0,
  sharedSubscriptionAvailable: 1,
  serverKeepAlive: 120,
  responseInformation: 'replies/',
  serverReference: 'mqtt://other:1883',
  authenticationMethod: 'SCRAM-SHA-256',
  authenticationData: Buffer.from('server-final'),
};

/** PUBLISH properties a client may send (no subscription identifiers). */
export const PUBLISH_PROPS: PublishProperties = {
  payloadFormatIndicator: 1,
  messageExpiryInterval: 86400,
  topicAlias: 7,
  responseTopic: 'replies/42',
  correlationData: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  userProperties: USER,
  contentType: 'application/json',
};

/** PUBLISH properties as a server sends them. */
export const PUBLISH_PROPS_S2C: PublishProperties = {
  ...PUBLISH_PROPS,
  subscriptionIdentifiers: [1, 127, 128, 16384, 268435455],
};

export const ACK_PROPS: AckProperties = { reasonString: 'because', userProperties: USER };
export const SUBSCRIBE_PROPS: SubscribeProperties = { subscriptionIdentifier: 2097152, userProperties: USER };
export const UNSUBSCRIBE_PROPS = { userProperties: USER };
export const DISCONNECT_PROPS: DisconnectProperties = {
  sessionExpiryInterval: 0,
  reasonString: 'bye',
  userProperties: USER,
  serverReference: 'mqtt://elsewhere',
};
export const AUTH_PROPS: AuthProperties = {
  authenticationMethod: 'SCRAM-SHA-256',
  authenticationData: Buffer.from('client-first'),
  reasonString: 'continue please',
  userProperties: USER,
};

/** Which side sends a packet: c2s packets are parsed by role 'server', s2c by role 'client'. */
export type Direction = 'c2s' | 's2c';

export interface Sample {
  name: string;
  dir: Direction;
  packet: MqttPacket;
}

/** Every non-empty subset we care about: none, all, and each property on its own. */
function propertyVariants<T extends object>(all: T): Array<[string, T | undefined]> {
  const out: Array<[string, T | undefined]> = [
    ['no properties', undefined],
    ['all properties', all],
  ];
  for (const key of Object.keys(all)) {
    const one: Record<string, unknown> = { [key]: (all as Record<string, unknown>)[key] };
    // Authentication Data needs its method beside it in CONNECT (§3.1.2.11.10).
    if (key === 'authenticationData' && 'receiveMaximum' in all) {
      one.authenticationMethod = (all as Record<string, unknown>).authenticationMethod;
    }
    out.push([`only ${key}`, one as T]);
  }
  return out;
}

export function connectPacket(version: ProtocolVersion, extra: Partial<ConnectPacket> = {}): ConnectPacket {
  return {
    cmd: 'connect',
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    bridge: false,
    cleanStart: true,
    keepalive: 60,
    clientId: 'client-1',
    ...extra,
  };
}

/** Sample packets valid in `version`, using v5 fields only when version is 5. */
export function samples(version: ProtocolVersion): Sample[] {
  const v5 = version === 5;
  const out: Sample[] = [];
  const add = (name: string, dir: Direction, packet: MqttPacket) => out.push({ name, dir, packet });
  const big = Buffer.alloc(70000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;

  // CONNECT
  add('connect minimal', 'c2s', connectPacket(version));
  add('connect empty client id', 'c2s', connectPacket(version, { clientId: '', keepalive: 0 }));
  add(
    'connect full',
    'c2s',
    connectPacket(version, {
      cleanStart: false,
      keepalive: 65535,
      clientId: 'dev/é/1',
      bridge: true,
      will: {
        topic: 'last/will',
        payload: Buffer.from('gone'),
        qos: 2,
        retain: true,
        properties: v5 ? WILL_PROPS : undefined,
      },
      username: 'user',
      password: Buffer.from([0, 1, 2, 255]),
      properties: v5 ? CONNECT_PROPS : undefined,
    }),
  );
  add(
    'connect will qos1 no retain, username only',
    'c2s',
    connectPacket(version, {
      will: { topic: 'w', payload: Buffer.alloc(0), qos: 1, retain: false },
      username: '',
    }),
  );
  if (v5) {
    for (const [name, props] of propertyVariants(CONNECT_PROPS)) {
      add(`connect ${name}`, 'c2s', connectPacket(5, { properties: props }));
    }
    for (const [name, props] of propertyVariants(WILL_PROPS)) {
      add(
        `connect will ${name}`,
        'c2s',
        connectPacket(5, {
          will: { topic: 't', payload: Buffer.from('p'), qos: 0, retain: false, properties: props },
        }),
      );
    }
    add(
      'connect password without username (v5 only)',
      'c2s',
      connectPacket(5, { password: Buffer.from('pw') }),
    );
  }

  // CONNACK
  add('connack accepted', 's2c', { cmd: 'connack', sessionPresent: false, reasonCode: 0 });
  add('connack session present', 's2c', {
    cmd: 'connack',
    sessionPresent: version !== 3,
    reasonCode: 0,
  });
  add('connack refused', 's2c', { cmd: 'connack', sessionPresent: false, reasonCode: v5 ? 0x86 : 4 });
  if (v5) {
    for (const [name, props] of propertyVariants(CONNACK_PROPS)) {
      add(`connack ${name}`, 's2c', {
        cmd: 'connack',
        sessionPresent: true,
        reasonCode: 0,
        properties: props,
      });
    }
  }

  // PUBLISH
  for (const qos of [0, 1, 2] as const) {
    for (const dir of ['c2s', 's2c'] as const) {
      add(`publish qos${qos} ${dir}`, dir, {
        cmd: 'publish',
        qos,
        dup: qos > 0,
        retain: qos === 1,
        topic: `a/b/${qos}`,
        packetId: qos === 0 ? 0 : 1000 + qos,
        payload: Buffer.from(`payload ${qos}`),
      });
    }
  }
  add('publish empty payload', 'c2s', {
    cmd: 'publish',
    qos: 1,
    dup: false,
    retain: true,
    topic: 'clear/retained',
    packetId: 65535,
    payload: Buffer.alloc(0),
  });
  add('publish unicode topic', 's2c', {
    cmd: 'publish',
    qos: 0,
    dup: false,
    retain: false,
    topic: 'ünï/€/𝄞/\uFEFFbom',
    packetId: 0,
    payload: Buffer.from('x'),
  });
  add('publish big payload (3-byte remaining length)', 'c2s', {
    cmd: 'publish',
    qos: 1,
    dup: false,
    retain: false,
    topic: 'big',
    packetId: 7,
    payload: big,
  });
  if (v5) {
    for (const [name, props] of propertyVariants(PUBLISH_PROPS)) {
      add(`publish c2s ${name}`, 'c2s', {
        cmd: 'publish',
        qos: 1,
        dup: false,
        retain: false,
        topic: 't/1',
        packetId: 9,
        payload: Buffer.from('v'),
        properties: props,
      });
    }
    for (const [name, props] of propertyVariants(PUBLISH_PROPS_S2C)) {
      add(`publish s2c ${name}`, 's2c', {
        cmd: 'publish',
        qos: 0,
        dup: false,
        retain: true,
        topic: 't/2',
        packetId: 0,
        payload: Buffer.from('w'),
        properties: props,
      });
    }
    add('publish empty topic with alias', 'c2s', {
      cmd: 'publish',
      qos: 0,
      dup: false,
      retain: false,
      topic: '',
      packetId: 0,
      payload: Buffer.from('aliased'),
      properties: { topicAlias: 1 },
    });
  }

  // PUBACK, PUBREC, PUBREL, PUBCOMP
  for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
    for (const dir of ['c2s', 's2c'] as const) {
      add(`${cmd} ${dir}`, dir, { cmd, packetId: 4242, reasonCode: 0 });
    }
    if (v5) {
      const failure = cmd === 'puback' || cmd === 'pubrec' ? 0x97 : 0x92;
      add(`${cmd} reason code only`, 'c2s', { cmd, packetId: 1, reasonCode: failure });
      for (const [name, props] of propertyVariants(ACK_PROPS)) {
        add(`${cmd} ${name}`, 's2c', { cmd, packetId: 2, reasonCode: failure, properties: props });
        add(`${cmd} success ${name}`, 'c2s', { cmd, packetId: 3, reasonCode: 0, properties: props });
      }
    }
  }

  // SUBSCRIBE / SUBACK
  add('subscribe', 'c2s', {
    cmd: 'subscribe',
    packetId: 10,
    subscriptions: [
      { topic: 'a/+/c', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      { topic: 'd/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      { topic: 'ü/€', qos: 2, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  if (v5) {
    add('subscribe v5 options', 'c2s', {
      cmd: 'subscribe',
      packetId: 11,
      subscriptions: [
        { topic: 'x', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
        { topic: 'y', qos: 0, noLocal: false, retainAsPublished: true, retainHandling: 1 },
        { topic: '$share/g/z', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    for (const [name, props] of propertyVariants(SUBSCRIBE_PROPS)) {
      add(`subscribe ${name}`, 'c2s', {
        cmd: 'subscribe',
        packetId: 12,
        subscriptions: [{ topic: 'q', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
        properties: props,
      });
    }
  }
  add('suback', 's2c', { cmd: 'suback', packetId: 10, reasonCodes: [0, 1, 2, 0x80] });
  if (v5) {
    add('suback v5 codes', 's2c', {
      cmd: 'suback',
      packetId: 11,
      reasonCodes: [0x87, 0x8f, 0x9e, 0xa1, 0xa2, 2],
    });
    for (const [name, props] of propertyVariants(ACK_PROPS)) {
      add(`suback ${name}`, 's2c', { cmd: 'suback', packetId: 12, reasonCodes: [1], properties: props });
    }
  }

  // UNSUBSCRIBE / UNSUBACK
  add('unsubscribe', 'c2s', { cmd: 'unsubscribe', packetId: 20, topics: ['a/+/c', 'd/#', 'ü'] });
  add('unsuback', 's2c', { cmd: 'unsuback', packetId: 20, reasonCodes: v5 ? [0, 0x11, 0x87] : [] });
  if (v5) {
    for (const [name, props] of propertyVariants(UNSUBSCRIBE_PROPS)) {
      add(`unsubscribe ${name}`, 'c2s', {
        cmd: 'unsubscribe',
        packetId: 21,
        topics: ['t'],
        properties: props,
      });
    }
    for (const [name, props] of propertyVariants(ACK_PROPS)) {
      add(`unsuback ${name}`, 's2c', { cmd: 'unsuback', packetId: 21, reasonCodes: [0], properties: props });
    }
  }

  // PING
  add('pingreq', 'c2s', { cmd: 'pingreq' });
  add('pingresp', 's2c', { cmd: 'pingresp' });

  // DISCONNECT
  for (const dir of ['c2s', 's2c'] as const)
    add(`disconnect ${dir}`, dir, { cmd: 'disconnect', reasonCode: 0 });
  if (v5) {
    add('disconnect with will', 'c2s', { cmd: 'disconnect', reasonCode: 0x04 });
    add('disconnect server shutting down', 's2c', { cmd: 'disconnect', reasonCode: 0x8b });
    for (const [name, props] of propertyVariants(DISCONNECT_PROPS)) {
      add(`disconnect ${name}`, 'c2s', { cmd: 'disconnect', reasonCode: 0x80, properties: props });
      add(`disconnect success ${name}`, 's2c', { cmd: 'disconnect', reasonCode: 0, properties: props });
    }
  }

  // AUTH
  if (v5) {
    for (const dir of ['c2s', 's2c'] as const)
      add(`auth success ${dir}`, dir, { cmd: 'auth', reasonCode: 0 });
    add('auth continue', 'c2s', { cmd: 'auth', reasonCode: 0x18 });
    for (const [name, props] of propertyVariants(AUTH_PROPS)) {
      add(`auth ${name}`, 'c2s', { cmd: 'auth', reasonCode: 0x18, properties: props });
      add(`auth re-authenticate ${name}`, 's2c', { cmd: 'auth', reasonCode: 0x19, properties: props });
    }
  }
  return out;
}

/** Recursively drops keys whose value is undefined, so parser output (which keeps them) compares cleanly. */
export function normalize<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => normalize(v)) as T;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalize(v);
  return out as T;
}

/** The packet a peer at `version` receives when `packet` is serialized for that version. */
export function projectTo(packet: MqttPacket, version: ProtocolVersion): MqttPacket {
  if (version === 5) return normalize(packet);
  const p = { ...packet } as Record<string, unknown>;
  delete p.properties;
  switch (packet.cmd) {
    case 'connect':
      p.protocolName = version === 3 ? 'MQIsdp' : 'MQTT';
      p.protocolVersion = version;
      if (packet.will) p.will = { ...packet.will, properties: undefined };
      break;
    case 'connack':
      if (version === 3) p.sessionPresent = false;
      break;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'disconnect':
      p.reasonCode = 0;
      break;
    case 'subscribe':
      p.subscriptions = packet.subscriptions.map((s) => ({
        topic: s.topic,
        qos: s.qos,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }));
      break;
    case 'suback':
      p.reasonCodes = packet.reasonCodes.map((c) => Math.min(c, 0x80));
      break;
    case 'unsuback':
      p.reasonCodes = [];
      break;
  }
  return normalize(p as unknown as MqttPacket);
}

/** Collects what a parser delivers. */
export class Collector {
  packets: MqttPacket[] = [];
  onPacket(packet: MqttPacket): void {
    this.packets.push(packet);
  }
}

/** A parser for `dir` at `version`; a server-side one has already been fed a CONNECT (and forgot it). */
export function parserFor(dir: Direction, version: ProtocolVersion, maxPacketSize = 1 << 28): MqttParser {
  if (dir === 's2c') return new MqttParser({ role: 'client', maxPacketSize, protocolVersion: version });
  const parser = new MqttParser({ role: 'server', maxPacketSize });
  const err = parser.push(serialize(connectPacket(version), version), new Collector());
  if (err) throw err;
  return parser;
}

/** Parses whole frames; throws the parse error if any. */
export function parseAll(dir: Direction, version: ProtocolVersion, frames: Buffer[]): MqttPacket[] {
  const parser = parserFor(dir, version);
  const sink = new Collector();
  for (const f of frames) {
    const err = parser.push(f, sink);
    if (err) throw err;
  }
  if (parser.buffered !== 0) throw new Error(`${parser.buffered} bytes left buffered`);
  return sink.packets;
}

/** The error a parser reports for `frame`, or undefined. */
export function parseError(
  dir: Direction,
  version: ProtocolVersion,
  frame: Buffer,
): MqttParseError | undefined {
  return parserFor(dir, version).push(frame, new Collector());
}

// ---- mqtt-packet object model -------------------------------------------------------------------------

/** Property names mqtt-packet models as booleans (its 'byte' type). */
const MP_BOOLEANS = new Set([
  'payloadFormatIndicator',
  'requestResponseInformation',
  'requestProblemInformation',
  'retainAvailable',
  'wildcardSubscriptionAvailable',
  'subscriptionIdentifiersAvailable',
  'sharedSubscriptionAvailable',
]);

type Loose = Record<string, unknown>;

function propsToMp(props: object | undefined): Loose | undefined {
  if (props === undefined) return undefined;
  const out: Loose = {};
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined) continue;
    if (k === 'userProperties') {
      const obj: Record<string, string | string[]> = {};
      for (const [key, value] of v as UserProperties) {
        const prev = obj[key];
        obj[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
      }
      out.userProperties = obj;
    } else if (k === 'subscriptionIdentifiers') {
      const ids = v as number[];
      out.subscriptionIdentifier = ids.length === 1 ? ids[0] : ids;
    } else if (MP_BOOLEANS.has(k)) {
      out[k] = v === 1;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function propsFromMp(props: unknown, cmd: string): Loose | undefined {
  if (props === undefined || props === null) return undefined;
  const out: Loose = {};
  for (const [k, v] of Object.entries(props as Loose)) {
    if (k === 'userProperties') {
      const list: UserProperties = [];
      for (const [key, value] of Object.entries(v as Record<string, string | string[]>)) {
        for (const one of Array.isArray(value) ? value : [value]) list.push([key, one]);
      }
      out.userProperties = list;
    } else if (k === 'subscriptionIdentifier' && cmd === 'publish') {
      out.subscriptionIdentifiers = Array.isArray(v) ? v : [v];
    } else if (MP_BOOLEANS.has(k)) {
      out[k] = v ? 1 : 0;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Our packet in mqtt-packet's shape, for `mqttPacket.generate`. */
export function toMqttPacket(p: MqttPacket, version: ProtocolVersion): Loose {
  switch (p.cmd) {
    case 'connect':
      return {
        cmd: 'connect',
        protocolId: p.protocolName,
        protocolVersion: p.protocolVersion,
        bridgeMode: p.bridge,
        clean: p.cleanStart,
        keepalive: p.keepalive,
        clientId: p.clientId,
        will: p.will && { ...p.will, properties: propsToMp(p.will.properties) },
        username: p.username,
        password: p.password,
        properties: propsToMp(p.properties),
      };
    case 'connack':
      return {
        cmd: 'connack',
        sessionPresent: p.sessionPresent,
        [version === 5 ? 'reasonCode' : 'returnCode']: p.reasonCode,
        properties: propsToMp(p.properties),
      };
    case 'publish':
      return { ...p, messageId: p.packetId, properties: propsToMp(p.properties) };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return {
        cmd: p.cmd,
        messageId: p.packetId,
        reasonCode: p.reasonCode,
        properties: propsToMp(p.properties),
      };
    case 'subscribe':
      return {
        cmd: 'subscribe',
        messageId: p.packetId,
        subscriptions: p.subscriptions.map((s) => ({
          topic: s.topic,
          qos: s.qos,
          nl: s.noLocal,
          rap: s.retainAsPublished,
          rh: s.retainHandling,
        })),
        properties: propsToMp(p.properties),
      };
    case 'suback':
      return {
        cmd: 'suback',
        messageId: p.packetId,
        granted: p.reasonCodes,
        properties: propsToMp(p.properties),
      };
    case 'unsubscribe':
      return {
        cmd: 'unsubscribe',
        messageId: p.packetId,
        unsubscriptions: p.topics,
        properties: propsToMp(p.properties),
      };
    case 'unsuback':
      return {
        cmd: 'unsuback',
        messageId: p.packetId,
        granted: p.reasonCodes,
        properties: propsToMp(p.properties),
      };
    case 'disconnect':
    case 'auth':
      return { cmd: p.cmd, reasonCode: p.reasonCode, properties: propsToMp(p.properties) };
    default:
      return { cmd: p.cmd };
  }
}

/** A packet mqtt-packet parsed, in our shape. */
export function fromMqttPacket(m: Loose, version: ProtocolVersion): MqttPacket {
  const cmd = m.cmd as string;
  const props = propsFromMp(m.properties, cmd);
  switch (cmd) {
    case 'connect': {
      const will = m.will as Loose | undefined;
      return {
        cmd: 'connect',
        protocolName: m.protocolId as string,
        protocolVersion: m.protocolVersion as ProtocolVersion,
        bridge: m.bridgeMode === true,
        cleanStart: m.clean as boolean,
        keepalive: m.keepalive as number,
        clientId: m.clientId as string,
        will: will && {
          topic: will.topic as string,
          payload: will.payload as Buffer,
          qos: will.qos as 0 | 1 | 2,
          retain: will.retain as boolean,
          properties: propsFromMp(will.properties, 'will'),
        },
        username: m.username as string | undefined,
        password: m.password as Buffer | undefined,
        properties: props,
      };
    }
    case 'connack':
      return {
        cmd: 'connack',
        sessionPresent: m.sessionPresent as boolean,
        reasonCode: (version === 5 ? m.reasonCode : m.returnCode) as number,
        properties: props,
      };
    case 'publish':
      return {
        cmd: 'publish',
        qos: m.qos as 0 | 1 | 2,
        dup: m.dup as boolean,
        retain: m.retain as boolean,
        topic: m.topic as string,
        packetId: (m.messageId as number | undefined) ?? 0,
        payload: m.payload as Buffer,
        properties: props,
      };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return {
        cmd,
        packetId: m.messageId as number,
        reasonCode: (m.reasonCode as number | undefined) ?? 0,
        properties: props,
      };
    case 'subscribe':
      return {
        cmd: 'subscribe',
        packetId: m.messageId as number,
        subscriptions: (m.subscriptions as Loose[]).map((s) => ({
          topic: s.topic as string,
          qos: s.qos as 0 | 1 | 2,
          noLocal: s.nl === true,
          retainAsPublished: s.rap === true,
          retainHandling: ((s.rh as number | undefined) ?? 0) as 0 | 1 | 2,
        })),
        properties: props,
      };
    case 'suback':
      return {
        cmd: 'suback',
        packetId: m.messageId as number,
        reasonCodes: m.granted as number[],
        properties: props,
      };
    case 'unsubscribe':
      return {
        cmd: 'unsubscribe',
        packetId: m.messageId as number,
        topics: m.unsubscriptions as string[],
        properties: props,
      };
    case 'unsuback':
      return {
        cmd: 'unsuback',
        packetId: m.messageId as number,
        reasonCodes: (m.granted as number[] | undefined) ?? [],
        properties: props,
      };
    case 'disconnect':
    case 'auth':
      return { cmd, reasonCode: (m.reasonCode as number | undefined) ?? 0, properties: props };
    case 'pingreq':
    case 'pingresp':
      return { cmd };
    default:
      throw new Error(`unexpected mqtt-packet cmd ${cmd}`);
  }
}
