/**
 * The test device's own CoAP codec (RFC 7252 §3), independent of the gateway's: header, token, options
 * with extended deltas and lengths, payload marker. Enough for a LwM2M client; strict on what it reads.
 */

export type MsgType = 0 | 1 | 2 | 3; // CON, NON, ACK, RST
export const CON = 0;
export const NON = 1;
export const ACK = 2;
export const RST = 3;

export interface Msg {
  type: MsgType;
  /** class * 32 + detail: GET 1, POST 2, PUT 3, DELETE 4, 2.01 = 65, 2.05 = 69 … */
  code: number;
  mid: number;
  token: Buffer;
  options: Array<[number, Buffer]>;
  payload: Buffer;
}

export const OBSERVE = 6;
export const LOCATION_PATH = 8;
export const URI_PATH = 11;
export const CONTENT_FORMAT = 12;
export const URI_QUERY = 15;
export const ACCEPT = 17;

/** "2.05" ⇒ 69. */
export const code = (s: string): number => {
  const [c, d] = s.split('.');
  return Number(c) * 32 + Number(d);
};
/** 69 ⇒ "2.05". */
export const codeText = (n: number): string => `${n >> 5}.${String(n & 31).padStart(2, '0')}`;

function ext(n: number): { nibble: number; bytes: number[] } {
  if (n < 13) return { nibble: n, bytes: [] };
  if (n < 269) return { nibble: 13, bytes: [n - 13] };
  return { nibble: 14, bytes: [(n - 269) >> 8, (n - 269) & 0xff] };
}

export function encode(m: Msg): Buffer {
  const out: number[] = [0x40 | (m.type << 4) | m.token.length, m.code, m.mid >> 8, m.mid & 0xff, ...m.token];
  let last = 0;
  for (const [num, value] of [...m.options].sort((a, b) => a[0] - b[0])) {
    const d = ext(num - last);
    const l = ext(value.length);
    out.push((d.nibble << 4) | l.nibble, ...d.bytes, ...l.bytes, ...value);
    last = num;
  }
  if (m.payload.length > 0) out.push(0xff, ...m.payload);
  return Buffer.from(out);
}

export function decode(b: Buffer): Msg | undefined {
  if (b.length < 4 || b[0]! >> 6 !== 1) return undefined;
  const tkl = b[0]! & 15;
  const m: Msg = {
    type: ((b[0]! >> 4) & 3) as MsgType,
    code: b[1]!,
    mid: b.readUInt16BE(2),
    token: b.subarray(4, 4 + tkl),
    options: [],
    payload: Buffer.alloc(0),
  };
  let i = 4 + tkl;
  let num = 0;
  const more = (nibble: number): number | undefined => {
    if (nibble === 13) return i < b.length ? b[i++]! + 13 : undefined;
    if (nibble === 14) {
      if (i + 2 > b.length) return undefined;
      const v = b.readUInt16BE(i) + 269;
      i += 2;
      return v;
    }
    return nibble;
  };
  while (i < b.length) {
    if (b[i] === 0xff) {
      m.payload = b.subarray(i + 1);
      break;
    }
    const byte = b[i++]!;
    const delta = more(byte >> 4);
    const len = more(byte & 15);
    if (delta === undefined || len === undefined || i + len > b.length) return undefined;
    num += delta;
    m.options.push([num, b.subarray(i, i + len)]);
    i += len;
  }
  return m;
}

export const uint = (n: number): Buffer => {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes);
};
export const readUint = (b: Buffer): number => b.reduce((n, x) => n * 256 + x, 0);

export const opt = (m: Msg, n: number): Buffer | undefined => m.options.find((o) => o[0] === n)?.[1];
export const opts = (m: Msg, n: number): string[] =>
  m.options.filter((o) => o[0] === n).map((o) => o[1].toString());
