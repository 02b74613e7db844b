/**
 * MQTT-SN 1.2 codec (EMQX `emqx_mqttsn_frame`): one datagram is one message. The length is 1 byte, or
 * 0x01 followed by 2 bytes for longer messages, and must equal the datagram size, else the datagram is
 * dropped. Every message type of the spec except the forwarder encapsulation (0xFE) is parsed and built.
 */
import { isUtf8 } from 'node:buffer';
import type { FrameCodec, FrameError, ParseOutput } from '../types.js';

/** Message type bytes (MQTT-SN 1.2 §5.2.2). */
export const MsgType = {
  ADVERTISE: 0x00,
  SEARCHGW: 0x01,
  GWINFO: 0x02,
  CONNECT: 0x04,
  CONNACK: 0x05,
  WILLTOPICREQ: 0x06,
  WILLTOPIC: 0x07,
  WILLMSGREQ: 0x08,
  WILLMSG: 0x09,
  REGISTER: 0x0a,
  REGACK: 0x0b,
  PUBLISH: 0x0c,
  PUBACK: 0x0d,
  PUBCOMP: 0x0e,
  PUBREC: 0x0f,
  PUBREL: 0x10,
  SUBSCRIBE: 0x12,
  SUBACK: 0x13,
  UNSUBSCRIBE: 0x14,
  UNSUBACK: 0x15,
  PINGREQ: 0x16,
  PINGRESP: 0x17,
  DISCONNECT: 0x18,
  WILLTOPICUPD: 0x1a,
  WILLTOPICRESP: 0x1b,
  WILLMSGUPD: 0x1c,
  WILLMSGRESP: 0x1d,
} as const;

export type MsgTypeName = keyof typeof MsgType;

/** Return codes (§5.3.10, plus EMQX's extensions 0x80..0x84). */
export const RC = {
  ACCEPTED: 0x00,
  CONGESTION: 0x01,
  INVALID_TOPIC_ID: 0x02,
  NOT_SUPPORTED: 0x03,
  NOT_AUTHORIZED: 0x80,
  FAILED_SESSION: 0x81,
  KEEPALIVE_TIMEOUT: 0x82,
  EXCEED_LIMITATION: 0x83,
  REACHED_MAX_RETRY: 0x84,
} as const;

/** TopicIdType values of the flags byte. */
export const TopicIdType = { NORMAL: 0, PREDEFINED: 1, SHORT: 2, RESERVED: 3 } as const;

/** The flags byte (§5.3.4). QoS 3 is MQTT-SN's QoS −1. */
export interface Flags {
  dup: boolean;
  qos: 0 | 1 | 2 | 3;
  retain: boolean;
  will: boolean;
  clean: boolean;
  topicIdType: 0 | 1 | 2 | 3;
}

/** A SUBSCRIBE/UNSUBSCRIBE topic: a name (TopicIdType 0, or the 2 characters of a short name) or an id. */
export type TopicRef = { name: string } | { id: number };

/** One MQTT-SN message. */
export type SnFrame =
  | { type: 'ADVERTISE'; gwId: number; duration: number }
  | { type: 'SEARCHGW'; radius: number }
  | { type: 'GWINFO'; gwId: number; gwAdd: Buffer }
  | { type: 'CONNECT'; flags: Flags; protocolId: number; duration: number; clientId: string }
  | { type: 'CONNACK'; rc: number }
  | { type: 'WILLTOPICREQ' }
  /** An empty WILLTOPIC (no flags, no topic) clears the will: `flags` undefined, `topic` ''. */
  | { type: 'WILLTOPIC'; flags: Flags | undefined; topic: string }
  | { type: 'WILLMSGREQ' }
  | { type: 'WILLMSG'; payload: Buffer }
  | { type: 'REGISTER'; topicId: number; msgId: number; topicName: string }
  | { type: 'REGACK'; topicId: number; msgId: number; rc: number }
  | { type: 'PUBLISH'; flags: Flags; topicId: number; msgId: number; data: Buffer }
  | { type: 'PUBACK'; topicId: number; msgId: number; rc: number }
  | { type: 'PUBREC' | 'PUBREL' | 'PUBCOMP'; msgId: number }
  | { type: 'SUBSCRIBE'; flags: Flags; msgId: number; topic: TopicRef }
  | { type: 'UNSUBSCRIBE'; flags: Flags; msgId: number; topic: TopicRef }
  | { type: 'SUBACK'; flags: Flags; topicId: number; msgId: number; rc: number }
  | { type: 'UNSUBACK'; msgId: number }
  /** `clientId` '' when the PINGREQ carries none. */
  | { type: 'PINGREQ'; clientId: string }
  | { type: 'PINGRESP' }
  /** `duration` set = the client goes to sleep for that many seconds. */
  | { type: 'DISCONNECT'; duration: number | undefined }
  | { type: 'WILLTOPICUPD'; flags: Flags | undefined; topic: string }
  | { type: 'WILLTOPICRESP' | 'WILLMSGRESP'; rc: number }
  | { type: 'WILLMSGUPD'; payload: Buffer };

const NAMES = new Map<number, MsgTypeName>(
  (Object.entries(MsgType) as Array<[MsgTypeName, number]>).map(([k, v]) => [v, k]),
);

/** Default flags (all clear, QoS 0, normal topic id). */
export function flags(f: Partial<Flags> = {}): Flags {
  return { dup: false, qos: 0, retain: false, will: false, clean: false, topicIdType: 0, ...f };
}

/** Decodes a flags byte. */
export function decodeFlags(b: number): Flags {
  return {
    dup: (b & 0x80) !== 0,
    qos: ((b >> 5) & 0x03) as Flags['qos'],
    retain: (b & 0x10) !== 0,
    will: (b & 0x08) !== 0,
    clean: (b & 0x04) !== 0,
    topicIdType: (b & 0x03) as Flags['topicIdType'],
  };
}

/** Encodes a flags byte. */
export function encodeFlags(f: Flags): number {
  return (
    (f.dup ? 0x80 : 0) |
    (f.qos << 5) |
    (f.retain ? 0x10 : 0) |
    (f.will ? 0x08 : 0) |
    (f.clean ? 0x04 : 0) |
    f.topicIdType
  );
}

/** A datagram the codec refused: the reason is what the gateway counts. */
class Malformed extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function need(body: Buffer, n: number, type: MsgTypeName, exact = false): void {
  if (exact ? body.length !== n : body.length < n)
    throw new Malformed(
      'malformed',
      `${type}: body of ${body.length} bytes, expected ${exact ? '' : 'at least '}${n}`,
    );
}

/** Parses one whole datagram; throws Malformed. */
export function parseMessage(d: Buffer): SnFrame {
  if (d.length < 2) throw new Malformed('malformed', `datagram of ${d.length} bytes`);
  let len: number;
  let at: number;
  if (d[0] === 0x01) {
    if (d.length < 4) throw new Malformed('malformed', 'truncated 3-byte length');
    len = d.readUInt16BE(1);
    at = 3;
  } else {
    len = d[0]!;
    at = 1;
  }
  if (len !== d.length) {
    throw new Malformed('length_mismatch', `length field ${len} but datagram of ${d.length} bytes`);
  }
  const code = d[at]!;
  const type = NAMES.get(code);
  if (type === undefined) throw new Malformed('unknown_type', `unknown message type 0x${code.toString(16)}`);
  return parseBody(type, d.subarray(at + 1));
}

/** A string field: UTF-8 or the datagram is refused (decoding to U+FFFD would change the name). */
function str(b: Buffer): string {
  if (!isUtf8(b)) throw new Malformed('bad_utf8', 'string field is not UTF-8');
  return b.toString('utf8');
}

function parseBody(type: MsgTypeName, b: Buffer): SnFrame {
  switch (type) {
    case 'ADVERTISE':
      need(b, 3, type, true);
      return { type, gwId: b[0]!, duration: b.readUInt16BE(1) };
    case 'SEARCHGW':
      need(b, 1, type, true);
      return { type, radius: b[0]! };
    case 'GWINFO':
      need(b, 1, type);
      return { type, gwId: b[0]!, gwAdd: Buffer.from(b.subarray(1)) };
    case 'CONNECT':
      need(b, 4, type);
      return {
        type,
        flags: decodeFlags(b[0]!),
        protocolId: b[1]!,
        duration: b.readUInt16BE(2),
        clientId: str(b.subarray(4)),
      };
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      need(b, 1, type, true);
      return { type, rc: b[0]! };
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'PINGRESP':
      need(b, 0, type, true);
      return { type };
    case 'WILLTOPIC':
    case 'WILLTOPICUPD':
      if (b.length === 0) return { type, flags: undefined, topic: '' };
      return { type, flags: decodeFlags(b[0]!), topic: str(b.subarray(1)) };
    case 'WILLMSG':
    case 'WILLMSGUPD':
      return { type, payload: Buffer.from(b) };
    case 'REGISTER':
      need(b, 4, type);
      return { type, topicId: b.readUInt16BE(0), msgId: b.readUInt16BE(2), topicName: str(b.subarray(4)) };
    case 'REGACK':
    case 'PUBACK':
      need(b, 5, type, true);
      return { type, topicId: b.readUInt16BE(0), msgId: b.readUInt16BE(2), rc: b[4]! };
    case 'PUBLISH':
      need(b, 5, type);
      return {
        type,
        flags: decodeFlags(b[0]!),
        topicId: b.readUInt16BE(1),
        msgId: b.readUInt16BE(3),
        data: Buffer.from(b.subarray(5)),
      };
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      need(b, 2, type, true);
      return { type, msgId: b.readUInt16BE(0) };
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      // An empty topic name is well-formed here and refused by the channel with a SUBACK/UNSUBACK.
      need(b, 3, type);
      const f = decodeFlags(b[0]!);
      const rest = b.subarray(3);
      let topic: TopicRef;
      if (f.topicIdType === TopicIdType.PREDEFINED) {
        need(rest, 2, type, true);
        topic = { id: rest.readUInt16BE(0) };
      } else {
        if (f.topicIdType === TopicIdType.SHORT) need(rest, 2, type, true);
        topic = { name: str(rest) };
      }
      return { type, flags: f, msgId: b.readUInt16BE(1), topic };
    }
    case 'SUBACK':
      need(b, 6, type, true);
      return {
        type,
        flags: decodeFlags(b[0]!),
        topicId: b.readUInt16BE(1),
        msgId: b.readUInt16BE(3),
        rc: b[5]!,
      };
    case 'PINGREQ':
      return { type, clientId: str(b) };
    case 'DISCONNECT':
      if (b.length === 0) return { type, duration: undefined };
      need(b, 2, type, true);
      return { type, duration: b.readUInt16BE(0) };
  }
}

function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n & 0xffff, 0);
  return b;
}

function body(f: SnFrame): Buffer[] {
  switch (f.type) {
    case 'ADVERTISE':
      return [Buffer.from([f.gwId]), u16(f.duration)];
    case 'SEARCHGW':
      return [Buffer.from([f.radius])];
    case 'GWINFO':
      return [Buffer.from([f.gwId]), f.gwAdd];
    case 'CONNECT':
      return [Buffer.from([encodeFlags(f.flags), f.protocolId]), u16(f.duration), Buffer.from(f.clientId)];
    case 'CONNACK':
    case 'WILLTOPICRESP':
    case 'WILLMSGRESP':
      return [Buffer.from([f.rc])];
    case 'WILLTOPICREQ':
    case 'WILLMSGREQ':
    case 'PINGRESP':
      return [];
    case 'WILLTOPIC':
    case 'WILLTOPICUPD':
      return f.flags === undefined ? [] : [Buffer.from([encodeFlags(f.flags)]), Buffer.from(f.topic)];
    case 'WILLMSG':
    case 'WILLMSGUPD':
      return [f.payload];
    case 'REGISTER':
      return [u16(f.topicId), u16(f.msgId), Buffer.from(f.topicName)];
    case 'REGACK':
    case 'PUBACK':
      return [u16(f.topicId), u16(f.msgId), Buffer.from([f.rc])];
    case 'PUBLISH':
      return [Buffer.from([encodeFlags(f.flags)]), u16(f.topicId), u16(f.msgId), f.data];
    case 'PUBREC':
    case 'PUBREL':
    case 'PUBCOMP':
    case 'UNSUBACK':
      return [u16(f.msgId)];
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE':
      return [
        Buffer.from([encodeFlags(f.flags)]),
        u16(f.msgId),
        'id' in f.topic ? u16(f.topic.id) : Buffer.from(f.topic.name),
      ];
    case 'SUBACK':
      return [Buffer.from([encodeFlags(f.flags)]), u16(f.topicId), u16(f.msgId), Buffer.from([f.rc])];
    case 'PINGREQ':
      return [Buffer.from(f.clientId)];
    case 'DISCONNECT':
      return f.duration === undefined ? [] : [u16(f.duration)];
  }
}

/** Serializes one message with the shortest length form. */
export function serializeMessage(f: SnFrame): Buffer {
  const parts = body(f);
  let size = 0;
  for (const p of parts) size += p.length;
  const type = MsgType[f.type];
  if (size + 2 <= 255) return Buffer.concat([Buffer.from([size + 2, type]), ...parts]);
  const total = size + 4;
  if (total > 0xffff) throw new RangeError(`MQTT-SN message of ${total} bytes exceeds 65535`);
  return Buffer.concat([Buffer.from([0x01, total >> 8, total & 0xff, type]), ...parts]);
}

/** Largest message the 3-byte length form can carry. */
export const MAX_MESSAGE_SIZE = 0xffff;

/** The per-connection codec the framework drives: stateless, one datagram in, at most one message out. */
export class SnCodec implements FrameCodec<SnFrame> {
  feed(chunk: Buffer): ParseOutput<SnFrame> {
    try {
      return { frames: [parseMessage(chunk)] };
    } catch (err) {
      if (err instanceof Malformed)
        return { frames: [], error: { reason: err.reason, message: err.message } };
      const e: FrameError = { reason: 'malformed', message: (err as Error).message };
      return { frames: [], error: e };
    }
  }

  serialize(frame: SnFrame): Buffer {
    return serializeMessage(frame);
  }
}
