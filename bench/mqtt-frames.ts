/** A minimal MQTT packet splitter for the load generators and probes: each packet's type and body. */

/**
 * Splits a byte stream into MQTT packets and hands each one's type (the first byte's high nibble) and body
 * (the bytes after the fixed header; a view valid only during the call).
 */
export function mqttPackets(onPacket: (type: number, body: Buffer) => void): (chunk: Buffer) => void {
  let rest: Buffer | undefined;
  return (chunk) => {
    const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
    let i = 0;
    for (;;) {
      if (buf.length - i < 2) break;
      let len = 0;
      let mul = 1;
      let j = i + 1;
      let done = false;
      while (j < buf.length && j < i + 5) {
        const b = buf[j++]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          done = true;
          break;
        }
      }
      if (!done || j + len > buf.length) break;
      onPacket(buf[i]! >> 4, buf.subarray(j, j + len));
      i = j + len;
    }
    // A copy: the socket may hand its next chunk in the same memory.
    rest = i < buf.length ? Buffer.from(buf.subarray(i)) : undefined;
  };
}

/** Splits a byte stream into MQTT packets and reports each packet's type. */
export function packetTypes(onType: (type: number) => void): (chunk: Buffer) => void {
  return mqttPackets((type) => onType(type));
}
