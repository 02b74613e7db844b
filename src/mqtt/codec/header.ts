/**
 * Fixed-header checks (MQTT 5 §2.1, 3.1.1 §2.2): is this first byte (packet type + flags) acceptable for this
 * role and protocol level? Answered by a 256-entry table per (role, level) so the hot path does one lookup;
 * the slow path calls `firstByteError` again for the message.
 */

import { MqttParseError } from './packets.js';
import { MALFORMED, PROTOCOL_ERROR } from './reader.js';

export type ParserRole = 'server' | 'client';

/** Packet type names, indexed by the type nibble. */
export const PACKET_NAMES = [
  'reserved',
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
  'auth',
] as const;

/** Types a client sends (server parses them), as a bit set over the type nibble. */
const FROM_CLIENT =
  (1 << 1) |
  (1 << 3) |
  (1 << 4) |
  (1 << 5) |
  (1 << 6) |
  (1 << 7) |
  (1 << 8) |
  (1 << 10) |
  (1 << 12) |
  (1 << 14) |
  (1 << 15);
/** Types a server sends (client parses them). */
const FROM_SERVER =
  (1 << 2) |
  (1 << 3) |
  (1 << 4) |
  (1 << 5) |
  (1 << 6) |
  (1 << 7) |
  (1 << 9) |
  (1 << 11) |
  (1 << 13) |
  (1 << 14) |
  (1 << 15);

/**
 * Why `b0` cannot start a packet here, or undefined if it can. `version` 0 means no CONNECT has been parsed
 * yet (server) or the level is unknown (client, treated as 3.1.1).
 */
export function firstByteError(b0: number, role: ParserRole, version: number): MqttParseError | undefined {
  const type = b0 >> 4;
  const flags = b0 & 0x0f;
  const name = PACKET_NAMES[type];
  const v = version === 0 ? undefined : version;
  // Type 0 is reserved in every version; 15 is reserved before MQTT 5. Neither can be parsed: malformed.
  if (type === 0 || (type === 15 && version !== 5 && !(role === 'server' && version === 0))) {
    return new MqttParseError(MALFORMED, `reserved packet type ${type}`, undefined, v);
  }
  if (role === 'server' && version === 0 && type !== 1) {
    return new MqttParseError(PROTOCOL_ERROR, 'first packet must be CONNECT', name);
  }
  // A well-formed packet of a known type that only flows the other way: parseable, so a Protocol Error.
  if (((role === 'server' ? FROM_CLIENT : FROM_SERVER) & (1 << type)) === 0) {
    return new MqttParseError(
      PROTOCOL_ERROR,
      `${name} is not accepted from a ${role === 'server' ? 'client' : 'server'}`,
      name,
      v,
    );
  }
  if (type === 3) {
    const qos = (flags >> 1) & 3;
    if (qos === 3) return new MqttParseError(MALFORMED, 'publish: QoS 3', name, v); // [MQTT-3.3.1-4]
    if (qos === 0 && (flags & 8) !== 0) {
      return new MqttParseError(MALFORMED, 'publish: DUP set on a QoS 0 message', name, v); // [MQTT-3.3.1-2]
    }
    return undefined;
  }
  // [MQTT-2.1.3-1]: PUBREL, SUBSCRIBE and UNSUBSCRIBE carry 0b0010, every other type 0b0000. MQTT 3.1 let
  // those three repeat with DUP set (0b1010), so level 3 accepts that too.
  const expected = type === 6 || type === 8 || type === 10 ? 2 : 0;
  if (flags === expected || (version === 3 && expected === 2 && flags === 0x0a)) return undefined;
  return new MqttParseError(
    MALFORMED,
    `${name}: reserved fixed-header flags 0x${flags.toString(16)}`,
    name,
    v,
  );
}

const tables = new Map<string, Uint8Array>();

/** The first-byte table for a role and level: 0 = acceptable, otherwise the reason code to refuse with. */
export function firstByteTable(role: ParserRole, version: number): Uint8Array {
  const key = `${role}${version}`;
  let t = tables.get(key);
  if (t === undefined) {
    t = new Uint8Array(256);
    for (let b0 = 0; b0 < 256; b0++) t[b0] = firstByteError(b0, role, version)?.reasonCode ?? 0;
    tables.set(key, t);
  }
  return t;
}
