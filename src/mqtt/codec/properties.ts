/**
 * MQTT 5 properties (§2.2.2): one table of identifiers, their wire types, the packets that may carry them and
 * the value rules, shared by the reader and the writer so that both enforce the same constraints.
 */

import type { UserProperties } from './packets.js';
import { type FrameReader, MALFORMED, PROTOCOL_ERROR, TOPIC_ALIAS_INVALID } from './reader.js';
import { VARINT_MAX, varintSize, writeVarint } from './varint.js';
import { binarySize, checkInt, stringSize, writeBinary, writeString, writeU16, writeU32 } from './writer.js';

/** Property contexts, as bits so a definition can list every packet that allows it. */
export const PROPS_CONNECT = 1;
export const PROPS_WILL = 2;
export const PROPS_CONNACK = 4;
export const PROPS_PUBLISH = 8;
/** PUBACK, PUBREC, PUBREL and PUBCOMP. */
export const PROPS_PUBACK = 16;
export const PROPS_SUBSCRIBE = 32;
export const PROPS_SUBACK = 64;
export const PROPS_UNSUBSCRIBE = 128;
export const PROPS_UNSUBACK = 256;
export const PROPS_DISCONNECT = 512;
export const PROPS_AUTH = 1024;

const ALL = 2047;

type PropType = 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';

/** Value rule beyond the wire type. */
const ANY = 0;
/** 0 or 1, anything else is a Protocol Error. */
const BOOL = 1;
/** Must not be 0 (Protocol Error; Topic Alias Invalid for the topic alias). */
const NONZERO = 2;

interface PropertyDef {
  id: number;
  name: string;
  type: PropType;
  contexts: number;
  rule: number;
}

const USER_PROPERTY = 0x26;
const SUBSCRIPTION_IDENTIFIER = 0x0b;
const TOPIC_ALIAS = 0x23;

// Listed by identifier; the writer emits in this order, with user properties last (they are the bulky ones).
const DEFS: PropertyDef[] = [
  {
    id: 0x01,
    name: 'payloadFormatIndicator',
    type: 'byte',
    contexts: PROPS_PUBLISH | PROPS_WILL,
    rule: BOOL,
  },
  { id: 0x02, name: 'messageExpiryInterval', type: 'u32', contexts: PROPS_PUBLISH | PROPS_WILL, rule: ANY },
  { id: 0x03, name: 'contentType', type: 'string', contexts: PROPS_PUBLISH | PROPS_WILL, rule: ANY },
  { id: 0x08, name: 'responseTopic', type: 'string', contexts: PROPS_PUBLISH | PROPS_WILL, rule: ANY },
  { id: 0x09, name: 'correlationData', type: 'binary', contexts: PROPS_PUBLISH | PROPS_WILL, rule: ANY },
  {
    id: SUBSCRIPTION_IDENTIFIER,
    name: 'subscriptionIdentifier',
    type: 'varint',
    contexts: PROPS_PUBLISH | PROPS_SUBSCRIBE,
    rule: NONZERO,
  },
  {
    id: 0x11,
    name: 'sessionExpiryInterval',
    type: 'u32',
    contexts: PROPS_CONNECT | PROPS_CONNACK | PROPS_DISCONNECT,
    rule: ANY,
  },
  { id: 0x12, name: 'assignedClientIdentifier', type: 'string', contexts: PROPS_CONNACK, rule: ANY },
  { id: 0x13, name: 'serverKeepAlive', type: 'u16', contexts: PROPS_CONNACK, rule: ANY },
  {
    id: 0x15,
    name: 'authenticationMethod',
    type: 'string',
    contexts: PROPS_CONNECT | PROPS_CONNACK | PROPS_AUTH,
    rule: ANY,
  },
  {
    id: 0x16,
    name: 'authenticationData',
    type: 'binary',
    contexts: PROPS_CONNECT | PROPS_CONNACK | PROPS_AUTH,
    rule: ANY,
  },
  { id: 0x17, name: 'requestProblemInformation', type: 'byte', contexts: PROPS_CONNECT, rule: BOOL },
  { id: 0x18, name: 'willDelayInterval', type: 'u32', contexts: PROPS_WILL, rule: ANY },
  { id: 0x19, name: 'requestResponseInformation', type: 'byte', contexts: PROPS_CONNECT, rule: BOOL },
  { id: 0x1a, name: 'responseInformation', type: 'string', contexts: PROPS_CONNACK, rule: ANY },
  {
    id: 0x1c,
    name: 'serverReference',
    type: 'string',
    contexts: PROPS_CONNACK | PROPS_DISCONNECT,
    rule: ANY,
  },
  {
    id: 0x1f,
    name: 'reasonString',
    type: 'string',
    contexts: PROPS_CONNACK | PROPS_PUBACK | PROPS_SUBACK | PROPS_UNSUBACK | PROPS_DISCONNECT | PROPS_AUTH,
    rule: ANY,
  },
  { id: 0x21, name: 'receiveMaximum', type: 'u16', contexts: PROPS_CONNECT | PROPS_CONNACK, rule: NONZERO },
  { id: 0x22, name: 'topicAliasMaximum', type: 'u16', contexts: PROPS_CONNECT | PROPS_CONNACK, rule: ANY },
  { id: TOPIC_ALIAS, name: 'topicAlias', type: 'u16', contexts: PROPS_PUBLISH, rule: NONZERO },
  { id: 0x24, name: 'maximumQoS', type: 'byte', contexts: PROPS_CONNACK, rule: BOOL },
  { id: 0x25, name: 'retainAvailable', type: 'byte', contexts: PROPS_CONNACK, rule: BOOL },
  {
    id: 0x27,
    name: 'maximumPacketSize',
    type: 'u32',
    contexts: PROPS_CONNECT | PROPS_CONNACK,
    rule: NONZERO,
  },
  { id: 0x28, name: 'wildcardSubscriptionAvailable', type: 'byte', contexts: PROPS_CONNACK, rule: BOOL },
  { id: 0x29, name: 'subscriptionIdentifiersAvailable', type: 'byte', contexts: PROPS_CONNACK, rule: BOOL },
  { id: 0x2a, name: 'sharedSubscriptionAvailable', type: 'byte', contexts: PROPS_CONNACK, rule: BOOL },
  { id: USER_PROPERTY, name: 'userProperties', type: 'pair', contexts: ALL, rule: ANY },
];

/** Definitions indexed by identifier; identifiers are single bytes below 0x80 in MQTT 5.0. */
const BY_ID: Array<PropertyDef | undefined> = new Array(256).fill(undefined);
for (const d of DEFS) BY_ID[d.id] = d;

/** Per context, the definitions the writer walks. */
const WRITE_ORDER: PropertyDef[][] = [];
for (let bit = 1; bit <= ALL; bit <<= 1) WRITE_ORDER[bit] = DEFS.filter((d) => (d.contexts & bit) !== 0);

/** A property bag as the reader builds it and the writer walks it. */
type Bag = Record<string, unknown>;

/** The key a definition uses in `context`: PUBLISH carries a list of subscription identifiers. */
function keyOf(def: PropertyDef, context: number): string {
  return def.id === SUBSCRIPTION_IDENTIFIER && context === PROPS_PUBLISH
    ? 'subscriptionIdentifiers'
    : def.name;
}

/**
 * Reads a property block (length, then properties) at the reader's cursor for packet `context`.
 * Returns undefined for an empty block. Throws MqttParseError: 0x81 for an unknown or misplaced identifier or
 * a block overrunning the packet, 0x82 for a repeated single-use property or an out-of-range value.
 */
export function readProperties<T extends object>(r: FrameReader, context: number): T | undefined {
  const length = r.varint();
  if (length === 0) return undefined;
  const end = r.pos + length;
  if (end > r.end) r.fail(MALFORMED, `${r.packetType}: property length runs past the packet`);
  const outerEnd = r.end;
  // Narrow the reader to the block so a property overrunning it is caught as malformed.
  r.end = end;
  const bag: Bag = {};
  let user: UserProperties | undefined;
  let subIds: number[] | undefined;
  while (r.pos < end) {
    const id = r.buf[r.pos++];
    const def = BY_ID[id];
    if (def === undefined) r.fail(MALFORMED, `${r.packetType}: unknown property identifier 0x${hex(id)}`);
    if ((def.contexts & context) === 0) {
      r.fail(MALFORMED, `${r.packetType}: property ${def.name} is not allowed in this packet`);
    }
    if (id === USER_PROPERTY) {
      const key = r.utf8();
      const value = r.utf8();
      if (user === undefined) user = [];
      user.push([key, value]);
      continue;
    }
    let value: number | string | Buffer;
    switch (def.type) {
      case 'byte':
        value = r.u8();
        break;
      case 'u16':
        value = r.u16();
        break;
      case 'u32':
        value = r.u32();
        break;
      case 'varint':
        value = r.varint();
        break;
      case 'string':
        value = r.utf8();
        break;
      default:
        value = r.binary();
        break;
    }
    if (def.rule === BOOL && value !== 0 && value !== 1) {
      r.fail(PROTOCOL_ERROR, `${r.packetType}: property ${def.name} must be 0 or 1, got ${String(value)}`);
    } else if (def.rule === NONZERO && value === 0) {
      // [MQTT-3.3.2-8] forbids alias 0; 0x94 is the code brokers answer a bad alias with.
      r.fail(
        id === TOPIC_ALIAS ? TOPIC_ALIAS_INVALID : PROTOCOL_ERROR,
        `${r.packetType}: property ${def.name} is 0`,
      );
    }
    // PUBLISH may repeat the subscription identifier (one per matching subscription, §3.3.2.3.8).
    if (id === SUBSCRIPTION_IDENTIFIER && context === PROPS_PUBLISH) {
      if (subIds === undefined) subIds = [];
      subIds.push(value as number);
      continue;
    }
    if (bag[def.name] !== undefined)
      r.fail(PROTOCOL_ERROR, `${r.packetType}: property ${def.name} appears twice`);
    bag[def.name] = value;
  }
  r.end = outerEnd;
  if (subIds !== undefined) bag.subscriptionIdentifiers = subIds;
  if (user !== undefined) bag.userProperties = user;
  return bag as T;
}

/**
 * Size of the properties of `props` allowed in `context` (without the length prefix), validating each value.
 * Properties the context does not allow are ignored. Throws TypeError on a value that cannot be encoded.
 */
export function propertiesSize(props: object | undefined, context: number): number {
  if (props === undefined) return 0;
  const bag = props as Bag;
  const defs = WRITE_ORDER[context];
  let size = 0;
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i];
    const key = keyOf(def, context);
    const v = bag[key];
    if (v === undefined) continue;
    if (def.type === 'pair') {
      for (const pair of v as UserProperties) {
        size += 1 + stringSize(pair[0], 'user property key') + stringSize(pair[1], 'user property value');
      }
    } else if (key === 'subscriptionIdentifiers') {
      for (const id of v as number[]) {
        checkInt(id, 1, VARINT_MAX, key);
        size += 1 + varintSize(id);
      }
    } else {
      size += 1 + valueSize(def, v);
    }
  }
  return size;
}

/** Size of one non-repeating property value, validated against its type and rule. */
function valueSize(def: PropertyDef, v: unknown): number {
  const min = def.rule === NONZERO ? 1 : 0;
  switch (def.type) {
    case 'byte':
      checkInt(v as number, min, def.rule === BOOL ? 1 : 0xff, def.name);
      return 1;
    case 'u16':
      checkInt(v as number, min, 0xffff, def.name);
      return 2;
    case 'u32':
      checkInt(v as number, min, 0xffffffff, def.name);
      return 4;
    case 'varint':
      checkInt(v as number, min, VARINT_MAX, def.name);
      return varintSize(v as number);
    case 'string':
      return stringSize(v as string, def.name);
    default:
      return binarySize(v as Uint8Array, def.name);
  }
}

/** Writes the property block (length prefix, then properties) whose size `propertiesSize` returned. */
export function writeProperties(
  buf: Buffer,
  offset: number,
  props: object | undefined,
  context: number,
  size: number,
): number {
  offset = writeVarint(buf, offset, size);
  if (size === 0 || props === undefined) return offset;
  const bag = props as Bag;
  const defs = WRITE_ORDER[context];
  for (let i = 0; i < defs.length; i++) {
    const def = defs[i];
    const key = keyOf(def, context);
    const v = bag[key];
    if (v === undefined) continue;
    if (def.type === 'pair') {
      for (const pair of v as UserProperties) {
        buf[offset++] = USER_PROPERTY;
        offset = writeString(buf, offset, pair[0]);
        offset = writeString(buf, offset, pair[1]);
      }
      continue;
    }
    if (key === 'subscriptionIdentifiers') {
      for (const id of v as number[]) {
        buf[offset++] = SUBSCRIPTION_IDENTIFIER;
        offset = writeVarint(buf, offset, id);
      }
      continue;
    }
    buf[offset++] = def.id;
    switch (def.type) {
      case 'byte':
        buf[offset++] = v as number;
        break;
      case 'u16':
        offset = writeU16(buf, offset, v as number);
        break;
      case 'u32':
        offset = writeU32(buf, offset, v as number);
        break;
      case 'varint':
        offset = writeVarint(buf, offset, v as number);
        break;
      case 'string':
        offset = writeString(buf, offset, v as string);
        break;
      default:
        offset = writeBinary(buf, offset, v as Uint8Array);
        break;
    }
  }
  return offset;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
