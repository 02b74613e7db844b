/**
 * CRC-32 (the zlib / IEEE 802.3 polynomial) for the retained log's record checksums. node:zlib's crc32 came
 * with Node 20.15 while package.json accepts any Node 20, so older releases use the table version below; a
 * named import of `crc32` would fail to link there, hence the namespace import.
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** The same checksum computed in JavaScript, byte by byte through a 256-entry table. */
export function tableCrc32(data: Uint8Array): number {
  table ??= makeTable();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ (data[i] ?? 0)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native: ((data: Uint8Array) => number) | undefined = (zlib as { crc32?: (data: Uint8Array) => number })
  .crc32;

/** CRC-32 of `data`: zlib's where Node has it, else the table version. */
export const crc32: (data: Uint8Array) => number = native ?? tableCrc32;
