/**
 * A test-side MQTT-SN 1.2 codec, written from the spec independently of src/gateway/mqttsn (so a bug
 * there is not mirrored here). Builders return raw datagrams; `decode` turns one into a flat record.
 */

export const T = {
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

/** QoS as written in the flags: 0, 1, 2, or -1 (bits 0b11). */
export type Qos = -1 | 0 | 1 | 2;
/** Topic id type: normal, predefined, short (2-char name), reserved. */
export type IdType = 0 | 1 | 2 | 3;

export interface FlagOpts {
  dup?: boolean;
  qos?: Qos;
  retain?: boolean;
  will?: boolean;
  clean?: boolean;
  idType?: IdType;
}

/** The flags byte, bit by bit as in spec §5.3.4. */
export function flagByte(o: FlagOpts = {}): number {
  const q = o.qos === -1 ? 3 : (o.qos ?? 0);
  let b = q << 5;
  if (o.dup) b |= 0x80;
  if (o.retain) b |= 0x10;
  if (o.will) b |= 0x08;
  if (o.clean) b |= 0x04;
  return b | (o.idType ?? 0);
}

/** Wraps a message type and body with the length header (1 byte, or 0x01 + 2 bytes past 255). */
export function frame(type: number, ...parts: Array<Buffer | number[] | string>): Buffer {
  const body = Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))),
  );
  if (body.length + 2 < 256) return Buffer.concat([Buffer.from([body.length + 2, type]), body]);
  const len = body.length + 4;
  return Buffer.concat([Buffer.from([1, (len >> 8) & 0xff, len & 0xff, type]), body]);
}

const two = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];

export const build = {
  searchgw: (radius = 0) => frame(T.SEARCHGW, [radius]),
  connect: (clientId: string, o: { duration?: number; clean?: boolean; will?: boolean } = {}) =>
    frame(
      T.CONNECT,
      [flagByte({ clean: o.clean ?? true, will: o.will }), 0x01, ...two(o.duration ?? 60)],
      clientId,
    ),
  willtopic: (topic: string, o: { qos?: Qos; retain?: boolean } = {}) =>
    topic === '' ? frame(T.WILLTOPIC) : frame(T.WILLTOPIC, [flagByte(o)], topic),
  willmsg: (msg: string | Buffer) => frame(T.WILLMSG, Buffer.from(msg)),
  register: (msgId: number, topic: string, topicId = 0) => frame(T.REGISTER, two(topicId), two(msgId), topic),
  regack: (topicId: number, msgId: number, rc = 0) => frame(T.REGACK, two(topicId), two(msgId), [rc]),
  publish: (topicId: number, msgId: number, data: string | Buffer, o: FlagOpts = {}) =>
    frame(T.PUBLISH, [flagByte(o)], two(topicId), two(msgId), Buffer.from(data)),
  /** PUBLISH to a short (2-character) topic name. */
  publishShort: (name: string, msgId: number, data: string | Buffer, o: FlagOpts = {}) =>
    frame(
      T.PUBLISH,
      [flagByte({ ...o, idType: 2 })],
      Buffer.from(name, 'utf8'),
      two(msgId),
      Buffer.from(data),
    ),
  puback: (topicId: number, msgId: number, rc = 0) => frame(T.PUBACK, two(topicId), two(msgId), [rc]),
  pubrec: (msgId: number) => frame(T.PUBREC, two(msgId)),
  pubrel: (msgId: number) => frame(T.PUBREL, two(msgId)),
  pubcomp: (msgId: number) => frame(T.PUBCOMP, two(msgId)),
  subscribe: (msgId: number, topic: string, o: FlagOpts = {}) =>
    frame(T.SUBSCRIBE, [flagByte(o)], two(msgId), topic),
  subscribeId: (msgId: number, topicId: number, o: FlagOpts = {}) =>
    frame(T.SUBSCRIBE, [flagByte({ idType: 1, ...o })], two(msgId), two(topicId)),
  unsubscribe: (msgId: number, topic: string, o: FlagOpts = {}) =>
    frame(T.UNSUBSCRIBE, [flagByte(o)], two(msgId), topic),
  unsubscribeId: (msgId: number, topicId: number) =>
    frame(T.UNSUBSCRIBE, [flagByte({ idType: 1 })], two(msgId), two(topicId)),
  pingreq: (clientId = '') => frame(T.PINGREQ, clientId),
  disconnect: (duration?: number) =>
    duration === undefined ? frame(T.DISCONNECT) : frame(T.DISCONNECT, two(duration)),
  willtopicupd: (topic: string, o: { qos?: Qos; retain?: boolean } = {}) =>
    topic === '' ? frame(T.WILLTOPICUPD) : frame(T.WILLTOPICUPD, [flagByte(o)], topic),
  willmsgupd: (msg: string) => frame(T.WILLMSGUPD, msg),
};

/** One received message, decoded loosely (fields present depend on the type). */
export interface Msg {
  type: number;
  raw: Buffer;
  rc?: number;
  gwId?: number;
  duration?: number;
  topicId?: number;
  msgId?: number;
  topicName?: string;
  qos?: Qos;
  dup?: boolean;
  retain?: boolean;
  idType?: IdType;
  data?: Buffer;
}

/** Decodes the server→client messages a test looks at. Throws if the length header is wrong. */
export function decode(raw: Buffer): Msg {
  let off = 1;
  let len = raw[0]!;
  if (len === 1) {
    len = raw.readUInt16BE(1);
    off = 3;
  }
  if (len !== raw.length) throw new Error(`length ${len} != datagram ${raw.length}`);
  const type = raw[off]!;
  const b = raw.subarray(off + 1);
  const m: Msg = { type, raw };
  const fl = (x: number) => {
    const q = (x >> 5) & 3;
    m.qos = q === 3 ? -1 : (q as Qos);
    m.dup = (x & 0x80) !== 0;
    m.retain = (x & 0x10) !== 0;
    m.idType = (x & 3) as IdType;
  };
  switch (type) {
    case T.ADVERTISE:
      m.gwId = b[0];
      m.duration = b.readUInt16BE(1);
      break;
    case T.GWINFO:
      m.gwId = b[0];
      break;
    case T.CONNACK:
    case T.WILLTOPICRESP:
    case T.WILLMSGRESP:
      m.rc = b[0];
      break;
    case T.REGISTER:
      m.topicId = b.readUInt16BE(0);
      m.msgId = b.readUInt16BE(2);
      m.topicName = b.subarray(4).toString('utf8');
      break;
    case T.REGACK:
    case T.PUBACK:
      m.topicId = b.readUInt16BE(0);
      m.msgId = b.readUInt16BE(2);
      m.rc = b[4];
      break;
    case T.PUBLISH:
      fl(b[0]!);
      m.topicId = b.readUInt16BE(1);
      m.msgId = b.readUInt16BE(3);
      m.data = b.subarray(5);
      break;
    case T.PUBREC:
    case T.PUBREL:
    case T.PUBCOMP:
    case T.UNSUBACK:
      m.msgId = b.readUInt16BE(0);
      break;
    case T.SUBACK:
      fl(b[0]!);
      m.topicId = b.readUInt16BE(1);
      m.msgId = b.readUInt16BE(3);
      m.rc = b[5];
      break;
    case T.DISCONNECT:
      if (b.length === 2) m.duration = b.readUInt16BE(0);
      break;
  }
  return m;
}

/** The type's name, for messages in assertion failures. */
export function typeName(type: number): string {
  return Object.entries(T).find(([, v]) => v === type)?.[0] ?? `0x${type.toString(16)}`;
}
