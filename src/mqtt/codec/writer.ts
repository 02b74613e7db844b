/**
 * Low-level field writers for the serializer: each takes (buf, offset, value) and returns the offset after
 * the field. Sizes are computed (and values validated) before the single allocation, so writers never check.
 */

import { mqttStringLength } from './utf8.js';

/** Largest length a 16-bit length prefix can express. */
const MAX_FIELD = 0xffff;

/** Encoded size (prefix included) of an MQTT string; throws TypeError if it cannot be one. */
export function stringSize(s: string, field: string): number {
  if (typeof s !== 'string') throw new TypeError(`${field}: expected a string`);
  const n = mqttStringLength(s);
  if (n < 0) throw new TypeError(`${field}: contains U+0000 or a lone surrogate`);
  if (n > MAX_FIELD) throw new TypeError(`${field}: ${n} bytes is longer than 65535`);
  return n + 2;
}

/** Encoded size (prefix included) of Binary Data; throws TypeError when over 65535 bytes. */
export function binarySize(b: Uint8Array, field: string): number {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${field}: expected a Buffer`);
  if (b.length > MAX_FIELD) throw new TypeError(`${field}: ${b.length} bytes is longer than 65535`);
  return b.length + 2;
}

/** Throws TypeError unless `v` is an integer in [min, max]. */
export function checkInt(v: number, min: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`${field}: ${String(v)} is not an integer in ${min}..${max}`);
  }
}

/** Writes a length-prefixed UTF-8 string. */
export function writeString(buf: Buffer, offset: number, s: string): number {
  const n = s.length;
  // Short ASCII strings (topics, client ids) are cheaper to copy by hand than through the native encoder.
  if (n < 48) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[offset + 2 + i] = c;
    }
    if (i === n) {
      buf[offset] = n >> 8;
      buf[offset + 1] = n & 0xff;
      return offset + 2 + n;
    }
  }
  const written = buf.write(s, offset + 2, 'utf8');
  buf[offset] = written >> 8;
  buf[offset + 1] = written & 0xff;
  return offset + 2 + written;
}

/** Writes length-prefixed Binary Data. */
export function writeBinary(buf: Buffer, offset: number, b: Uint8Array): number {
  const n = b.length;
  buf[offset] = n >> 8;
  buf[offset + 1] = n & 0xff;
  buf.set(b, offset + 2);
  return offset + 2 + n;
}

/** Writes a Two Byte Integer. */
export function writeU16(buf: Buffer, offset: number, v: number): number {
  buf[offset] = v >> 8;
  buf[offset + 1] = v & 0xff;
  return offset + 2;
}

/** Writes a Four Byte Integer. */
export function writeU32(buf: Buffer, offset: number, v: number): number {
  buf.writeUInt32BE(v, offset);
  return offset + 4;
}
