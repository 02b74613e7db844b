/**
 * MQTT Variable Byte Integer (MQTT 5 §1.5.5, 3.1.1 §2.2.3): 7 bits per byte, least significant group first,
 * high bit set while more bytes follow, at most 4 bytes.
 */

/** Largest value a Variable Byte Integer can carry (four bytes). */
export const VARINT_MAX = 268_435_455;

/** Bytes needed to encode `value` (0..VARINT_MAX) as a Variable Byte Integer. */
export function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : 4;
}

/** Writes `value` as a Variable Byte Integer at `offset` and returns the offset just after it. */
export function writeVarint(buf: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buf[offset++] = (value & 0x7f) | 0x80;
    // Division, not >>>, keeps this correct for any value a caller might pass before range checks.
    value = Math.floor(value / 0x80);
  }
  buf[offset++] = value;
  return offset;
}
