/**
 * MQTT UTF-8 Encoded Strings (MQTT 5 §1.5.4, 3.1.1 §1.5.3): well-formed UTF-8 per RFC 3629, no encoded
 * surrogates (U+D800..U+DFFF) and no U+0000. Anything else makes the packet malformed.
 */

/**
 * True when bytes [start, end) of `buf` are well-formed UTF-8 without U+0000.
 * Hand-rolled rather than `buffer.isUtf8` so that it needs no subarray and also rejects NUL in one pass.
 */
export function isValidMqttUtf8(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c < 0x80) {
      if (c === 0) return false;
      i++;
      continue;
    }
    if (c < 0xc2) return false; // stray continuation byte, or an overlong 2-byte lead (C0, C1)
    if (c < 0xe0) {
      if (i + 1 >= end || (buf[i + 1] & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (c < 0xf0) {
      if (i + 2 >= end) return false;
      const c1 = buf[i + 1];
      // E0 needs A0..BF (no overlongs); ED needs 80..9F (no surrogates); others 80..BF.
      const lo = c === 0xe0 ? 0xa0 : 0x80;
      const hi = c === 0xed ? 0x9f : 0xbf;
      if (c1 < lo || c1 > hi || (buf[i + 2] & 0xc0) !== 0x80) return false;
      i += 3;
      continue;
    }
    if (c < 0xf5) {
      if (i + 3 >= end) return false;
      const c1 = buf[i + 1];
      // F0 needs 90..BF (no overlongs); F4 needs 80..8F (nothing above U+10FFFF).
      const lo = c === 0xf0 ? 0x90 : 0x80;
      const hi = c === 0xf4 ? 0x8f : 0xbf;
      if (c1 < lo || c1 > hi || (buf[i + 2] & 0xc0) !== 0x80 || (buf[i + 3] & 0xc0) !== 0x80) return false;
      i += 4;
      continue;
    }
    return false; // F5..FF never appear in UTF-8
  }
  return true;
}

/** Decodes bytes [start, end) as an MQTT string, or returns undefined when they break the MQTT string rules. */
export function decodeMqttString(buf: Buffer, start: number, end: number): string | undefined {
  // Topics and client ids are nearly always ASCII: scan for that first and decode it the cheap way.
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c === 0 || c >= 0x80) break;
    i++;
  }
  if (i === end) return buf.toString('latin1', start, end);
  if (!isValidMqttUtf8(buf, i, end)) return undefined;
  return buf.toString('utf8', start, end);
}

/**
 * UTF-8 byte length of `s`, or -1 when `s` cannot be an MQTT string (it holds U+0000 or a lone surrogate,
 * which `Buffer.write` would silently turn into U+FFFD).
 */
export function mqttStringLength(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return -1;
      continue;
    }
    if (c < 0x800) {
      bytes += 1;
      continue;
    }
    if (c < 0xd800 || c > 0xdfff) {
      bytes += 2;
      continue;
    }
    // A high surrogate must be followed by a low one; the pair is 4 bytes for 2 UTF-16 units.
    if (c > 0xdbff || i + 1 >= n) return -1;
    const d = s.charCodeAt(i + 1);
    if (d < 0xdc00 || d > 0xdfff) return -1;
    bytes += 2;
    i++;
  }
  return bytes;
}
