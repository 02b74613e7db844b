/**
 * Hand-rolled MQTT 3.1.1 frames for the load generator. Everything is built once; on the hot path a
 * PUBLISH is a copy of its template with the packet id and payload fields patched in.
 */
import { PAYLOAD_BYTES, type QoS } from '../scenarios.js';

export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const CONNACK = 2;
export const SUBACK = 9;
export const PINGRESP = 13;

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}

function frame(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...remainingLength(body.length)]), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

/** BENCH_PERSISTENT=1: every client connects with clean session 0 (persistent sessions, durability at work). */
const CONNECT_FLAGS = process.env.BENCH_PERSISTENT === '1' ? 0x00 : 0x02;

/** CONNECT, MQTT 3.1.1, clean session (unless BENCH_PERSISTENT=1), with credentials when given. */
export function connectFrame(
  clientId: string,
  keepaliveSeconds: number,
  credentials?: { username: string; password: string },
): Buffer {
  const keepalive = Buffer.allocUnsafe(2);
  keepalive.writeUInt16BE(keepaliveSeconds, 0);
  const parts = [str('MQTT'), Buffer.from([4, CONNECT_FLAGS]), keepalive, str(clientId)];
  if (credentials !== undefined) {
    parts[1]![1] |= 0xc0; // username and password present
    parts.push(str(credentials.username), str(credentials.password));
  }
  return frame(0x10, Buffer.concat(parts));
}

/** SUBSCRIBE with one or more filters at `qos`. */
export function subscribeFrame(packetId: number, filters: string[], qos: QoS): Buffer {
  const id = Buffer.allocUnsafe(2);
  id.writeUInt16BE(packetId, 0);
  const parts: Buffer[] = [id];
  for (const f of filters) parts.push(str(f), Buffer.from([qos]));
  return frame(0x82, Buffer.concat(parts));
}

export const DISCONNECT = Buffer.from([0xe0, 0]);

/** Writes a 4-byte ack (PUBACK, PUBREC, PUBREL, PUBCOMP) for `packetId` into `out` at `pos`. */
export function writeAck(out: Buffer, pos: number, type: number, packetId: number): void {
  out[pos] = type === PUBREL ? 0x62 : type << 4;
  out[pos + 1] = 2;
  out[pos + 2] = packetId >>> 8;
  out[pos + 3] = packetId & 0xff;
}

/**
 * A PUBLISH frame to copy and patch: the packet id goes at `pidOffset` (QoS > 0), the payload starts at
 * `payloadOffset` and fills the frame to its end.
 */
export interface PublishTemplate {
  frame: Buffer;
  pidOffset: number;
  payloadOffset: number;
}

export function publishTemplate(topic: string, qos: QoS, retain: boolean): PublishTemplate {
  const t = str(topic);
  const idLen = qos > 0 ? 2 : 0;
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x78); // 'x' filler after the patched fields
  const body = Buffer.concat([t, Buffer.alloc(idLen), payload]);
  const f = frame(0x30 | (qos << 1) | (retain ? 1 : 0), body);
  const headerLen = f.length - body.length;
  return {
    frame: f,
    pidOffset: qos > 0 ? headerLen + t.length : -1,
    payloadOffset: f.length - PAYLOAD_BYTES,
  };
}

// Payload fields (little-endian): [0] u32 publisher (or topic) index, [4] u32 sequence number,
// [8] f64 send time in ms (performance.now() of the load generator, which also receives).
export const P_INDEX = 0;
export const P_SEQ = 4;
export const P_TIME = 8;
