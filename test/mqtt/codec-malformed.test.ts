/**
 * Malformed and protocol-violating frames, each with the reason code the parser must report, plus the
 * legal-but-unusual encodings it must accept.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MqttPacket, MqttParser, type ProtocolVersion } from '../../src/mqtt/codec/index.js';
import { Collector, normalize, parseError, parserFor } from './codec-fixtures.js';

type Part = number | number[] | Buffer;

/** Concatenates bytes, arrays and buffers. */
function bytes(...parts: Part[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p))));
}

/** A length-prefixed string from raw bytes or text. */
function str(s: string | number[]): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
  return bytes([b.length >> 8, b.length & 0xff], b);
}

function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}

/** A packet with the correct remaining length for `body`. */
function pkt(b0: number, ...body: Part[]): Buffer {
  const b = bytes(...body);
  const len: number[] = [];
  let n = b.length;
  do {
    len.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return bytes(b0, len, b);
}

/** A property block from raw property bytes. */
function props(...parts: Part[]): Buffer {
  const b = bytes(...parts);
  assert.ok(b.length < 128);
  return bytes(b.length, b);
}

/** CONNECT at `level` with `flags` and a body after the keepalive. */
function connect(name: string, level: number, flags: number, ...rest: Part[]): Buffer {
  return pkt(0x10, str(name), level, flags, u16(60), ...rest);
}

const NO_PROPS = 0;

/** Who parses: a fresh server (expects CONNECT), a connected server, or a client. */
type Side = 'fresh' | 'c2s' | 's2c';

interface Case {
  name: string;
  side: Side;
  version: ProtocolVersion;
  frame: Buffer;
  code: number;
}

const cases: Case[] = [];
function bad(name: string, side: Side, versions: ProtocolVersion[], frame: Buffer, code: number): void {
  for (const version of versions) cases.push({ name, side, version, frame, code });
}

const V3 = [3] as ProtocolVersion[];
const V4 = [4] as ProtocolVersion[];
const V5 = [5] as ProtocolVersion[];
const V34 = [3, 4] as ProtocolVersion[];
const ALL = [3, 4, 5] as ProtocolVersion[];

// --- fixed header ---------------------------------------------------------------------------------------
bad('first packet not CONNECT', 'fresh', V4, pkt(0x30, str('t'), 1), 0x82);
bad('first packet PINGREQ', 'fresh', V4, pkt(0xc0), 0x82);
bad('first packet AUTH', 'fresh', V4, pkt(0xf0), 0x82);
bad('reserved type 0 before CONNECT', 'fresh', V4, pkt(0x00), 0x81);
bad('reserved type 0', 'c2s', ALL, pkt(0x00), 0x81);
bad('reserved type 0 to client', 's2c', ALL, pkt(0x00), 0x81);
bad('AUTH (type 15) before MQTT 5', 'c2s', V34, pkt(0xf0), 0x81);
bad('AUTH (type 15) before MQTT 5 to client', 's2c', V34, pkt(0xf0), 0x81);
bad('CONNACK sent by a client', 'c2s', ALL, pkt(0x20, 0, 0), 0x82);
bad('SUBACK sent by a client', 'c2s', ALL, pkt(0x90, u16(1), 0), 0x82);
bad('UNSUBACK sent by a client', 'c2s', ALL, pkt(0xb0, u16(1)), 0x82);
bad('PINGRESP sent by a client', 'c2s', ALL, pkt(0xd0), 0x82);
bad('CONNECT sent by a server', 's2c', ALL, connect('MQTT', 4, 2, str('c')), 0x82);
bad('SUBSCRIBE sent by a server', 's2c', ALL, pkt(0x82, u16(1), str('t'), 0), 0x82);
bad('UNSUBSCRIBE sent by a server', 's2c', ALL, pkt(0xa2, u16(1), str('t')), 0x82);
bad('PINGREQ sent by a server', 's2c', ALL, pkt(0xc0), 0x82);
bad('CONNECT flags not 0', 'fresh', V4, pkt(0x12, str('MQTT'), 4, 2, u16(0), str('c')), 0x81);
bad('PUBREL flags 0000', 'c2s', ALL, pkt(0x60, u16(1)), 0x81);
bad('PUBREL flags 0011', 'c2s', ALL, pkt(0x63, u16(1)), 0x81);
bad('PUBREL with DUP after 3.1', 'c2s', [4, 5], pkt(0x6a, u16(1)), 0x81);
bad('SUBSCRIBE flags 0000', 'c2s', ALL, pkt(0x80, u16(1), str('t'), 0), 0x81);
bad('UNSUBSCRIBE flags 0000', 'c2s', ALL, pkt(0xa0, u16(1), str('t')), 0x81);
bad('PUBACK flags 0010', 'c2s', ALL, pkt(0x42, u16(1)), 0x81);
bad('PUBREC flags 1000', 's2c', ALL, pkt(0x58, u16(1)), 0x81);
bad('PUBCOMP flags 0001', 's2c', ALL, pkt(0x71, u16(1)), 0x81);
bad('PINGREQ flags 0001', 'c2s', ALL, pkt(0xc1), 0x81);
bad('DISCONNECT flags 0010', 'c2s', ALL, pkt(0xe2), 0x81);
bad('CONNACK flags 0001', 's2c', ALL, pkt(0x21, 0, 0), 0x81);
bad('SUBACK flags 0010', 's2c', ALL, pkt(0x92, u16(1), 0), 0x81);
bad('AUTH flags 0001', 'c2s', V5, pkt(0xf1), 0x81);
bad('PUBLISH QoS 3', 'c2s', ALL, pkt(0x36, str('t'), u16(1)), 0x81);
bad('PUBLISH QoS 3 to client', 's2c', ALL, pkt(0x36, str('t'), u16(1)), 0x81);
bad('PUBLISH QoS 0 with DUP', 'c2s', ALL, pkt(0x38, str('t')), 0x81);
bad('remaining length of 5 bytes', 'c2s', ALL, bytes(0x30, 0xff, 0xff, 0xff, 0xff, 0x01), 0x81);
bad('remaining length 4th byte continues', 'c2s', ALL, bytes(0xc0, 0x80, 0x80, 0x80, 0x80), 0x81);

// --- CONNECT -------------------------------------------------------------------------------------------
bad('unknown protocol name', 'fresh', V4, connect('MQTX', 4, 2, str('c')), 0x81);
bad('protocol name of wrong case', 'fresh', V4, connect('mqtt', 4, 2, str('c')), 0x81);
bad('empty protocol name', 'fresh', V4, connect('', 4, 2, str('c')), 0x81);
bad('protocol name runs past packet', 'fresh', V4, pkt(0x10, u16(10), Buffer.from('MQTT')), 0x81);
bad('MQTT at level 3', 'fresh', V4, connect('MQTT', 3, 2, str('c')), 0x84);
bad('MQTT at level 6', 'fresh', V4, connect('MQTT', 6, 2, str('c')), 0x84);
bad('MQIsdp at level 4', 'fresh', V4, connect('MQIsdp', 4, 2, str('c')), 0x84);
bad(
  'MQTT at level 0x85 (bridge + 5) is fine, 0x86 is not',
  'fresh',
  V4,
  connect('MQTT', 0x86, 2, str('c')),
  0x84,
);
bad('reserved connect flag', 'fresh', V4, connect('MQTT', 4, 0x03, str('c')), 0x81);
bad('reserved connect flag v5', 'fresh', V5, connect('MQTT', 5, 0x03, NO_PROPS, str('c')), 0x81);
bad('will QoS 3', 'fresh', V4, connect('MQTT', 4, 0x1e, str('c'), str('w'), str('p')), 0x81);
bad('will QoS without will flag', 'fresh', V4, connect('MQTT', 4, 0x0a, str('c')), 0x81);
bad('will retain without will flag', 'fresh', V4, connect('MQTT', 4, 0x22, str('c')), 0x81);
bad('will QoS without will flag v5', 'fresh', V5, connect('MQTT', 5, 0x12, NO_PROPS, str('c')), 0x81);
bad('password without user name 3.1.1', 'fresh', V4, connect('MQTT', 4, 0x42, str('c'), str('pw')), 0x81);
bad('password without user name 3.1', 'fresh', V3, connect('MQIsdp', 3, 0x42, str('c'), str('pw')), 0x81);
bad('bytes after the last field', 'fresh', V4, connect('MQTT', 4, 2, str('c'), 0), 0x81);
bad('user name flag but no user name', 'fresh', V4, connect('MQTT', 4, 0x82, str('c')), 0x81);
bad('will flag but no will', 'fresh', V4, connect('MQTT', 4, 0x06, str('c')), 0x81);
bad('truncated before keepalive', 'fresh', V4, pkt(0x10, str('MQTT'), 4, 2, 0), 0x81);
bad('client id runs past packet', 'fresh', V4, connect('MQTT', 4, 2, u16(5), Buffer.from('ab')), 0x81);
bad('client id invalid UTF-8', 'fresh', V4, connect('MQTT', 4, 2, str([0x61, 0xff])), 0x81);
bad('client id with U+0000', 'fresh', V4, connect('MQTT', 4, 2, str([0x61, 0x00, 0x62])), 0x81);
bad('client id with encoded surrogate', 'fresh', V4, connect('MQTT', 4, 2, str([0xed, 0xa0, 0x80])), 0x81);
bad('client id with overlong encoding', 'fresh', V4, connect('MQTT', 4, 2, str([0xc0, 0xaf])), 0x81);
bad('client id with truncated sequence', 'fresh', V4, connect('MQTT', 4, 2, str([0x61, 0xe2, 0x82])), 0x81);
bad('client id above U+10FFFF', 'fresh', V4, connect('MQTT', 4, 2, str([0xf4, 0x90, 0x80, 0x80])), 0x81);
bad('user name with U+0000', 'fresh', V4, connect('MQTT', 4, 0x82, str('c'), str([0])), 0x81);
bad('will topic invalid UTF-8', 'fresh', V4, connect('MQTT', 4, 0x06, str('c'), str([0x80]), str('p')), 0x81);
bad('v5 missing property length', 'fresh', V5, connect('MQTT', 5, 2), 0x81);
bad('v5 unknown property', 'fresh', V5, connect('MQTT', 5, 2, props(0x7f, 0), str('c')), 0x81);
bad('v5 property id 0', 'fresh', V5, connect('MQTT', 5, 2, props(0x00, 0), str('c')), 0x81);
bad('v5 topic alias in CONNECT', 'fresh', V5, connect('MQTT', 5, 2, props(0x23, u16(1)), str('c')), 0x81);
bad('v5 will delay in CONNECT', 'fresh', V5, connect('MQTT', 5, 2, props(0x18, 0, 0, 0, 1), str('c')), 0x81);
bad(
  'v5 session expiry twice',
  'fresh',
  V5,
  connect('MQTT', 5, 2, props(0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2), str('c')),
  0x82,
);
bad('v5 receive maximum 0', 'fresh', V5, connect('MQTT', 5, 2, props(0x21, u16(0)), str('c')), 0x82);
bad('v5 maximum packet size 0', 'fresh', V5, connect('MQTT', 5, 2, props(0x27, 0, 0, 0, 0), str('c')), 0x82);
bad('v5 request problem information 2', 'fresh', V5, connect('MQTT', 5, 2, props(0x17, 2), str('c')), 0x82);
bad('v5 request response information 2', 'fresh', V5, connect('MQTT', 5, 2, props(0x19, 2), str('c')), 0x82);
bad(
  'v5 authentication data without method',
  'fresh',
  V5,
  connect('MQTT', 5, 2, props(0x16, str('x')), str('c')),
  0x82,
);
bad(
  'v5 authentication method twice',
  'fresh',
  V5,
  connect('MQTT', 5, 2, props(0x15, str('a'), 0x15, str('a')), str('c')),
  0x82,
);
bad('v5 property length runs past packet', 'fresh', V5, connect('MQTT', 5, 2, 0x20, 0x11, 0, 0, 0, 1), 0x81);
bad(
  'v5 property cut by property length',
  'fresh',
  V5,
  connect('MQTT', 5, 2, 3, 0x11, 0, 0, 0, 1, str('c')),
  0x81,
);
bad(
  'v5 property length of 5 bytes',
  'fresh',
  V5,
  connect('MQTT', 5, 2, 0x80, 0x80, 0x80, 0x80, 0x00, str('c')),
  0x81,
);
bad(
  'v5 user property value missing',
  'fresh',
  V5,
  connect('MQTT', 5, 2, props(0x26, str('k')), str('c')),
  0x81,
);
bad(
  'v5 user property with U+0000',
  'fresh',
  V5,
  connect('MQTT', 5, 2, props(0x26, str('k'), str([0])), str('c')),
  0x81,
);
bad(
  'v5 will payload format indicator 2',
  'fresh',
  V5,
  connect('MQTT', 5, 0x06, NO_PROPS, str('c'), props(0x01, 2), str('w'), str('p')),
  0x82,
);
bad(
  'v5 will delay twice',
  'fresh',
  V5,
  connect('MQTT', 5, 0x06, NO_PROPS, str('c'), props(0x18, 0, 0, 0, 1, 0x18, 0, 0, 0, 1), str('w'), str('p')),
  0x82,
);
bad(
  'v5 session expiry in will properties',
  'fresh',
  V5,
  connect('MQTT', 5, 0x06, NO_PROPS, str('c'), props(0x11, 0, 0, 0, 1), str('w'), str('p')),
  0x81,
);
bad(
  'v5 will content type invalid UTF-8',
  'fresh',
  V5,
  connect('MQTT', 5, 0x06, NO_PROPS, str('c'), props(0x03, str([0xc3])), str('w'), str('p')),
  0x81,
);

// --- PUBLISH --------------------------------------------------------------------------------------------
bad('QoS 1 packet id 0', 'c2s', ALL, pkt(0x32, str('t'), u16(0), NO_PROPS), 0x81);
bad('QoS 2 packet id 0 to client', 's2c', ALL, pkt(0x34, str('t'), u16(0), NO_PROPS), 0x81);
bad('topic runs past packet', 'c2s', ALL, pkt(0x30, u16(9), Buffer.from('abc')), 0x81);
bad('only half a topic length', 'c2s', ALL, pkt(0x30, 0), 0x81);
bad('packet id cut', 'c2s', ALL, pkt(0x32, str('t'), 1), 0x81);
bad('topic invalid UTF-8', 'c2s', ALL, pkt(0x30, str([0x74, 0xfe]), NO_PROPS), 0x81);
bad('topic with U+0000', 'c2s', ALL, pkt(0x30, str([0x74, 0x00]), NO_PROPS), 0x81);
bad('topic with encoded surrogate', 's2c', ALL, pkt(0x30, str([0xed, 0xbf, 0xbf]), NO_PROPS), 0x81);
bad('v5 missing property length', 'c2s', V5, pkt(0x30, str('t')), 0x81);
bad('v5 topic alias 0', 'c2s', V5, pkt(0x30, str('t'), props(0x23, u16(0))), 0x94);
bad('v5 topic alias twice', 's2c', V5, pkt(0x30, str('t'), props(0x23, u16(1), 0x23, u16(2))), 0x82);
bad('v5 payload format indicator 2', 'c2s', V5, pkt(0x30, str('t'), props(0x01, 2)), 0x82);
bad('v5 subscription identifier from a client', 'c2s', V5, pkt(0x30, str('t'), props(0x0b, 1)), 0x82);
bad('v5 subscription identifier 0', 's2c', V5, pkt(0x30, str('t'), props(0x0b, 0)), 0x82);
bad('v5 empty topic without alias', 'c2s', V5, pkt(0x30, str(''), NO_PROPS, 1, 2), 0x82);
bad(
  'v5 message expiry twice',
  'c2s',
  V5,
  pkt(0x30, str('t'), props(0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 1)),
  0x82,
);
bad('v5 session expiry in PUBLISH', 'c2s', V5, pkt(0x30, str('t'), props(0x11, 0, 0, 0, 1)), 0x81);
bad('v5 reason string in PUBLISH', 's2c', V5, pkt(0x30, str('t'), props(0x1f, str('r'))), 0x81);
bad(
  'v5 content type invalid UTF-8',
  'c2s',
  V5,
  pkt(0x30, str('t'), props(0x03, str([0xe0, 0x80, 0x80]))),
  0x81,
);
bad('v5 response topic with U+0000', 'c2s', V5, pkt(0x30, str('t'), props(0x08, str([0x00]))), 0x81);
bad(
  'v5 correlation data runs past properties',
  'c2s',
  V5,
  pkt(0x30, str('t'), 3, 0x09, u16(5), 1, 2, 3, 4, 5),
  0x81,
);
bad('v5 property length past packet', 'c2s', V5, pkt(0x30, str('t'), 9, 0x01, 1), 0x81);

// --- PUBACK, PUBREC, PUBREL, PUBCOMP ------------------------------------------------------------------
for (const [b0, name] of [
  [0x40, 'PUBACK'],
  [0x50, 'PUBREC'],
  [0x62, 'PUBREL'],
  [0x70, 'PUBCOMP'],
] as const) {
  bad(`${name} packet id 0`, 'c2s', ALL, pkt(b0, u16(0)), 0x81);
  bad(`${name} packet id 0 to client`, 's2c', ALL, pkt(b0, u16(0)), 0x81);
  bad(`${name} too short`, 'c2s', ALL, pkt(b0, 1), 0x81);
  bad(`${name} empty`, 's2c', ALL, pkt(b0), 0x81);
  bad(`${name} 3.x with a reason code`, 'c2s', V34, pkt(b0, u16(1), 0), 0x81);
  bad(`${name} invalid reason code`, 'c2s', V5, pkt(b0, u16(1), 0x05), 0x82);
  bad(`${name} property length past packet`, 'c2s', V5, pkt(b0, u16(1), 0, 5), 0x81);
  bad(`${name} bytes after properties`, 's2c', V5, pkt(b0, u16(1), 0, NO_PROPS, 0), 0x81);
  bad(`${name} topic alias not allowed`, 'c2s', V5, pkt(b0, u16(1), 0, props(0x23, u16(1))), 0x81);
  bad(
    `${name} reason string twice`,
    's2c',
    V5,
    pkt(b0, u16(1), 0, props(0x1f, str('a'), 0x1f, str('b'))),
    0x82,
  );
}
bad('PUBREL with a PUBACK-only reason code', 'c2s', V5, pkt(0x62, u16(1), 0x10), 0x82);
bad('PUBACK with a PUBREL-only reason code', 'c2s', V5, pkt(0x40, u16(1), 0x92), 0x82);

// --- SUBSCRIBE / SUBACK ---------------------------------------------------------------------------------
bad('SUBSCRIBE without filters', 'c2s', V34, pkt(0x82, u16(1)), 0x82);
bad('SUBSCRIBE without filters v5', 'c2s', V5, pkt(0x82, u16(1), NO_PROPS), 0x82);
bad('SUBSCRIBE packet id 0', 'c2s', V34, pkt(0x82, u16(0), str('t'), 0), 0x81);
bad('SUBSCRIBE filter without options', 'c2s', V34, pkt(0x82, u16(1), str('t')), 0x81);
bad('SUBSCRIBE filter invalid UTF-8', 'c2s', V34, pkt(0x82, u16(1), str([0xf8]), 0), 0x81);
bad('SUBSCRIBE 3.x reserved QoS bits', 'c2s', V34, pkt(0x82, u16(1), str('t'), 0x04), 0x81);
bad('SUBSCRIBE 3.x reserved top bit', 'c2s', V34, pkt(0x82, u16(1), str('t'), 0x80), 0x81);
bad('SUBSCRIBE 3.x QoS 3', 'c2s', V34, pkt(0x82, u16(1), str('t'), 0x03), 0x81);
bad('SUBSCRIBE v5 reserved option bit 6', 'c2s', V5, pkt(0x82, u16(1), NO_PROPS, str('t'), 0x40), 0x81);
bad('SUBSCRIBE v5 reserved option bit 7', 'c2s', V5, pkt(0x82, u16(1), NO_PROPS, str('t'), 0x80), 0x81);
bad('SUBSCRIBE v5 maximum QoS 3', 'c2s', V5, pkt(0x82, u16(1), NO_PROPS, str('t'), 0x03), 0x82);
bad('SUBSCRIBE v5 retain handling 3', 'c2s', V5, pkt(0x82, u16(1), NO_PROPS, str('t'), 0x30), 0x82);
bad(
  'SUBSCRIBE v5 subscription identifier 0',
  'c2s',
  V5,
  pkt(0x82, u16(1), props(0x0b, 0), str('t'), 0),
  0x82,
);
bad(
  'SUBSCRIBE v5 subscription identifier twice',
  'c2s',
  V5,
  pkt(0x82, u16(1), props(0x0b, 1, 0x0b, 2), str('t'), 0),
  0x82,
);
bad(
  'SUBSCRIBE v5 subscription identifier of 5 bytes',
  'c2s',
  V5,
  pkt(0x82, u16(1), props(0x0b, 0x80, 0x80, 0x80, 0x80, 0x01), str('t'), 0),
  0x81,
);
bad(
  'SUBSCRIBE v5 reason string not allowed',
  'c2s',
  V5,
  pkt(0x82, u16(1), props(0x1f, str('r')), str('t'), 0),
  0x81,
);
bad('SUBACK 3.x return code 3', 's2c', V34, pkt(0x90, u16(1), 3), 0x82);
bad('SUBACK 3.x return code 0x87', 's2c', V34, pkt(0x90, u16(1), 0x87), 0x82);
bad('SUBACK v5 reason code 3', 's2c', V5, pkt(0x90, u16(1), NO_PROPS, 3), 0x82);
bad('SUBACK without codes', 's2c', V34, pkt(0x90, u16(1)), 0x82);
bad('SUBACK v5 without codes', 's2c', V5, pkt(0x90, u16(1), NO_PROPS), 0x82);
bad('SUBACK packet id 0', 's2c', ALL, pkt(0x90, u16(0), NO_PROPS, 0), 0x81);

// --- UNSUBSCRIBE / UNSUBACK ----------------------------------------------------------------------------
bad('UNSUBSCRIBE without filters', 'c2s', V34, pkt(0xa2, u16(1)), 0x82);
bad('UNSUBSCRIBE without filters v5', 'c2s', V5, pkt(0xa2, u16(1), NO_PROPS), 0x82);
bad('UNSUBSCRIBE packet id 0', 'c2s', V34, pkt(0xa2, u16(0), str('t')), 0x81);
bad('UNSUBSCRIBE half a filter', 'c2s', V34, pkt(0xa2, u16(1), str('t'), 0), 0x81);
bad('UNSUBSCRIBE filter with U+0000', 'c2s', V34, pkt(0xa2, u16(1), str([0x00])), 0x81);
bad(
  'UNSUBSCRIBE v5 reason string not allowed',
  'c2s',
  V5,
  pkt(0xa2, u16(1), props(0x1f, str('r')), str('t')),
  0x81,
);
bad('UNSUBACK 3.x with payload', 's2c', V34, pkt(0xb0, u16(1), 0), 0x81);
bad('UNSUBACK v5 without codes', 's2c', V5, pkt(0xb0, u16(1), NO_PROPS), 0x82);
bad('UNSUBACK v5 invalid code', 's2c', V5, pkt(0xb0, u16(1), NO_PROPS, 0x01), 0x82);
bad('UNSUBACK v5 missing property length', 's2c', V5, pkt(0xb0, u16(1)), 0x81);

// --- PING, DISCONNECT, AUTH, CONNACK --------------------------------------------------------------------
bad('PINGREQ with a body', 'c2s', ALL, pkt(0xc0, 0), 0x81);
bad('PINGRESP with a body', 's2c', ALL, pkt(0xd0, 0), 0x81);
bad('DISCONNECT 3.x with a body', 'c2s', V34, pkt(0xe0, 0), 0x81);
bad('DISCONNECT invalid reason code', 'c2s', V5, pkt(0xe0, 0x05), 0x82);
bad(
  'DISCONNECT session expiry twice',
  'c2s',
  V5,
  pkt(0xe0, 0, props(0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 1)),
  0x82,
);
bad('DISCONNECT authentication method not allowed', 's2c', V5, pkt(0xe0, 0, props(0x15, str('m'))), 0x81);
bad('DISCONNECT bytes after properties', 'c2s', V5, pkt(0xe0, 0, NO_PROPS, 0), 0x81);
bad('AUTH invalid reason code', 'c2s', V5, pkt(0xf0, 0x01), 0x82);
bad('AUTH session expiry not allowed', 's2c', V5, pkt(0xf0, 0x18, props(0x11, 0, 0, 0, 1)), 0x81);
bad('AUTH property length past packet', 'c2s', V5, pkt(0xf0, 0x18, 4), 0x81);
bad('CONNACK 3.x too long', 's2c', V34, pkt(0x20, 0, 0, 0), 0x81);
bad('CONNACK too short', 's2c', ALL, pkt(0x20, 0), 0x81);
bad('CONNACK reserved acknowledge flags', 's2c', ALL, pkt(0x20, 2, 0, NO_PROPS), 0x81);
bad('CONNACK 3.x return code 6', 's2c', V34, pkt(0x20, 0, 6), 0x82);
bad('CONNACK v5 reason code 1 with properties', 's2c', V5, pkt(0x20, 0, 1, NO_PROPS), 0x82);
bad('CONNACK v5 maximum QoS 2', 's2c', V5, pkt(0x20, 0, 0, props(0x24, 2)), 0x82);
bad('CONNACK v5 retain available 2', 's2c', V5, pkt(0x20, 0, 0, props(0x25, 2)), 0x82);
bad('CONNACK v5 receive maximum 0', 's2c', V5, pkt(0x20, 0, 0, props(0x21, u16(0))), 0x82);
bad('CONNACK v5 shared subscription available 5', 's2c', V5, pkt(0x20, 0, 0, props(0x2a, 5)), 0x82);
bad('CONNACK v5 will delay not allowed', 's2c', V5, pkt(0x20, 0, 0, props(0x18, 0, 0, 0, 0)), 0x81);

describe('malformed frames', () => {
  for (const c of cases) {
    it(`${c.name} (level ${c.version}) → 0x${c.code.toString(16)}`, () => {
      const err =
        c.side === 'fresh'
          ? new MqttParser({ role: 'server', maxPacketSize: 1 << 20 }).push(c.frame, new Collector())
          : parseError(c.side, c.version, c.frame);
      assert.ok(err, 'expected a parse error');
      assert.equal(err.reasonCode, c.code, err.message);
      assert.equal(err.name, 'MqttParseError');
    });
  }

  it('reports the offending level on 0x84 and the CONNECT level on later CONNECT errors', () => {
    const e1 = new MqttParser({ role: 'server', maxPacketSize: 1000 }).push(
      connect('MQTT', 7, 2, str('c')),
      new Collector(),
    );
    assert.equal(e1?.reasonCode, 0x84);
    assert.equal(e1?.protocolVersion, 7);
    assert.equal(e1?.packetType, 'connect');
    const e2 = new MqttParser({ role: 'server', maxPacketSize: 1000 }).push(
      connect('MQTT', 5, 2, props(0x21, u16(0)), str('c')),
      new Collector(),
    );
    assert.equal(e2?.reasonCode, 0x82);
    assert.equal(e2?.protocolVersion, 5);
    const e3 = new MqttParser({ role: 'server', maxPacketSize: 1000 }).push(
      connect('XMPP', 5, 2),
      new Collector(),
    );
    assert.equal(e3?.reasonCode, 0x81);
    assert.equal(e3?.protocolVersion, undefined);
  });

  it('delivers packets before the bad one, then refuses everything with the same error', () => {
    const parser = parserFor('c2s', 4);
    const sink = new Collector();
    const good = pkt(0xc0);
    const err = parser.push(bytes(good, good, pkt(0x40, u16(0)), good), sink);
    assert.equal(err?.reasonCode, 0x81);
    assert.equal(sink.packets.length, 2);
    assert.equal(parser.push(good, sink), err);
    assert.equal(sink.packets.length, 2);
    assert.equal(parser.buffered, 0);
  });
});

describe('unusual but legal frames', () => {
  const ok = (side: 'c2s' | 's2c', version: ProtocolVersion, frame: Buffer): MqttPacket => {
    const parser = parserFor(side, version);
    const sink = new Collector();
    const err = parser.push(frame, sink);
    assert.equal(err, undefined, err?.message);
    assert.equal(sink.packets.length, 1);
    return normalize(sink.packets[0]);
  };

  it('v5 PUBACK family short forms: 2, 3 and 4+ byte bodies', () => {
    for (const b0 of [0x40, 0x50, 0x62, 0x70]) {
      const cmd = ok('c2s', 5, pkt(b0, u16(7))).cmd;
      assert.deepStrictEqual(ok('c2s', 5, pkt(b0, u16(7))), { cmd, packetId: 7, reasonCode: 0 });
      const code = b0 === 0x62 || b0 === 0x70 ? 0x92 : 0x10;
      assert.deepStrictEqual(ok('s2c', 5, pkt(b0, u16(7), code)), { cmd, packetId: 7, reasonCode: code });
      assert.deepStrictEqual(ok('s2c', 5, pkt(b0, u16(7), 0, NO_PROPS)), { cmd, packetId: 7, reasonCode: 0 });
    }
  });

  it('v5 DISCONNECT short forms: 0, 1 and 2+ byte bodies', () => {
    assert.deepStrictEqual(ok('c2s', 5, pkt(0xe0)), { cmd: 'disconnect', reasonCode: 0 });
    assert.deepStrictEqual(ok('c2s', 5, pkt(0xe0, 0x04)), { cmd: 'disconnect', reasonCode: 4 });
    assert.deepStrictEqual(ok('s2c', 5, pkt(0xe0, 0x8b, NO_PROPS)), { cmd: 'disconnect', reasonCode: 0x8b });
  });

  it('v5 AUTH short forms: empty body and reason code alone', () => {
    assert.deepStrictEqual(ok('c2s', 5, pkt(0xf0)), { cmd: 'auth', reasonCode: 0 });
    assert.deepStrictEqual(ok('s2c', 5, pkt(0xf0, 0x18)), { cmd: 'auth', reasonCode: 0x18 });
  });

  it('v5 CONNACK without properties carrying a 3.x return code (a 3.x-only server refusing level 5)', () => {
    assert.deepStrictEqual(ok('s2c', 5, pkt(0x20, 0, 1)), {
      cmd: 'connack',
      sessionPresent: false,
      reasonCode: 1,
    });
  });

  it('non-minimal remaining length and property length encodings', () => {
    assert.deepStrictEqual(ok('c2s', 4, bytes(0xc0, 0x80, 0x80, 0x80, 0x00)), { cmd: 'pingreq' });
    const p = ok('c2s', 5, bytes(0x30, 0x86, 0x00, str('t'), 0x80, 0x00, 0x41));
    assert.deepStrictEqual(p, {
      cmd: 'publish',
      qos: 0,
      dup: false,
      retain: false,
      topic: 't',
      packetId: 0,
      payload: Buffer.from('A'),
    });
  });

  it('MQTT 3.1 PUBREL/SUBSCRIBE/UNSUBSCRIBE with DUP set', () => {
    assert.equal(ok('c2s', 3, pkt(0x6a, u16(1))).cmd, 'pubrel');
    assert.equal(ok('c2s', 3, pkt(0x8a, u16(1), str('t'), 1)).cmd, 'subscribe');
    assert.equal(ok('c2s', 3, pkt(0xaa, u16(1), str('t'))).cmd, 'unsubscribe');
  });

  it('keeps a byte order mark and non-characters in strings', () => {
    const p = ok('c2s', 4, pkt(0x30, str([0xef, 0xbb, 0xbf, 0x61, 0xef, 0xbf, 0xbf])));
    assert.equal(p.cmd === 'publish' && p.topic, '\uFEFFa\uFFFF');
  });

  it('accepts 4-byte UTF-8 and the edges of each sequence length', () => {
    const edges = [
      [0x7f],
      [0xc2, 0x80],
      [0xdf, 0xbf],
      [0xe0, 0xa0, 0x80],
      [0xed, 0x9f, 0xbf],
      [0xee, 0x80, 0x80],
      [0xef, 0xbf, 0xbd],
      [0xf0, 0x90, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf],
    ];
    for (const e of edges) {
      const p = ok('c2s', 4, pkt(0x30, str(e)));
      assert.equal(p.cmd === 'publish' && p.topic, Buffer.from(e).toString('utf8'));
    }
  });

  it('bridge bit on the protocol level', () => {
    const parser = new MqttParser({ role: 'server', maxPacketSize: 1000 });
    const sink = new Collector();
    assert.equal(parser.push(connect('MQTT', 0x84, 2, str('c')), sink), undefined);
    const p = sink.packets[0];
    assert.ok(p.cmd === 'connect' && p.bridge && p.protocolVersion === 4);
    assert.equal(parser.protocolVersion, 4);
  });

  it('a second CONNECT is delivered, not refused, and does not change the level', () => {
    const parser = new MqttParser({ role: 'server', maxPacketSize: 1000 });
    const sink = new Collector();
    const err = parser.push(
      bytes(connect('MQTT', 5, 2, NO_PROPS, str('a')), connect('MQTT', 4, 2, str('b')), pkt(0xe0, 0x04)),
      sink,
    );
    assert.equal(err, undefined);
    assert.deepStrictEqual(
      sink.packets.map((p) => p.cmd),
      ['connect', 'connect', 'disconnect'],
    );
    assert.equal(parser.protocolVersion, 5);
    // The DISCONNECT was parsed as v5 (with its reason code).
    assert.equal(sink.packets[2].cmd === 'disconnect' && sink.packets[2].reasonCode, 4);
  });

  it('a client-role parser that was never told the level reads 3.1.1', () => {
    const parser = new MqttParser({ role: 'client', maxPacketSize: 1000 });
    const sink = new Collector();
    assert.equal(parser.push(pkt(0x40, u16(9)), sink), undefined);
    assert.equal(parser.protocolVersion, 0);
    assert.equal(parser.push(pkt(0xf0), sink)?.reasonCode, 0x81);
  });

  it('the level set on a client-role parser takes effect for the next packet', () => {
    const parser = new MqttParser({ role: 'client', maxPacketSize: 1000 });
    const sink = new Collector();
    parser.protocolVersion = 5;
    assert.equal(parser.push(pkt(0xf0, 0x19), sink), undefined);
    assert.deepStrictEqual(normalize(sink.packets[0]), { cmd: 'auth', reasonCode: 0x19 });
  });
});
