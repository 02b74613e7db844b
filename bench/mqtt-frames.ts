/** A minimal MQTT packet splitter for the load generators: they only need each packet's type. */

/** Splits a byte stream into MQTT packets and reports each packet's type (the first byte's high nibble). */
export function packetTypes(onType: (type: number) => void): (chunk: Buffer) => void {
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
      onType(buf[i]! >> 4);
      i = j + len;
    }
    // A copy: the socket may hand its next chunk in the same memory.
    rest = i < buf.length ? Buffer.from(buf.subarray(i)) : undefined;
  };
}
