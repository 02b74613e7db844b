/**
 * HPACK (RFC 7541) for Hermod's HTTP/2 client and server. Encoding is only what Hermod sends: literal
 * fields without indexing, no Huffman, so a header block can be built once (per method, per server) and
 * reused. Decoding is the whole format, because peers use all of it: indexed fields, the dynamic table with
 * its size updates, and Huffman-coded strings.
 */

/** RFC 7541 Appendix A: the static table, index 1 first. */
const STATIC: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** The static table index of a name (its first entry), for encoding. */
const STATIC_NAME = new Map<string, number>();
for (const [i, [name]] of STATIC.entries()) if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);

/**
 * RFC 7541 Appendix B: the code length of every symbol (0–255, then EOS). The code is canonical (codes of
 * one length are consecutive in symbol order, shorter codes first), so the lengths alone define it.
 */
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

/** The canonical decoding tables: per length, the first code, and the symbols of that length in order. */
interface HuffmanTables {
  /** firstCode[len]: the smallest code of that length (as an integer of `len` bits). */
  firstCode: number[];
  /** symbolsAt[len]: the symbols whose code has that length, in code order. */
  symbolsAt: number[][];
  /** The codes, for tests and for checking the table: codes[sym]. */
  codes: number[];
}

function buildHuffman(): HuffmanTables {
  const symbolsAt: number[][] = Array.from({ length: 31 }, () => []);
  for (const [sym, len] of HUFFMAN_LENGTHS.entries()) symbolsAt[len]!.push(sym);
  const firstCode: number[] = new Array(31).fill(0);
  const codes: number[] = new Array(257).fill(0);
  let code = 0;
  for (let len = 1; len <= 30; len++) {
    firstCode[len] = code;
    for (const sym of symbolsAt[len]!) codes[sym] = code++;
    code <<= 1;
  }
  return { firstCode, symbolsAt, codes };
}

const HUFFMAN = buildHuffman();

/** The Huffman code of a symbol (0–256) and its length: for tests. */
export function huffmanCode(sym: number): { code: number; length: number } {
  return { code: HUFFMAN.codes[sym]!, length: HUFFMAN_LENGTHS[sym]! };
}

/** A header block that cannot be decoded: a COMPRESSION_ERROR for the connection. */
export class HpackError extends Error {}

/** Decodes a Huffman-coded string (RFC 7541 §5.2): padding must be at most 7 one-bits, EOS never appears. */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  let out = '';
  let code = 0;
  let len = 0;
  const { firstCode, symbolsAt } = HUFFMAN;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      code = (code << 1) | ((byte >> b) & 1);
      len++;
      if (len < 5) continue;
      const at = symbolsAt[len]!;
      const k = code - firstCode[len]!;
      if (k >= 0 && k < at.length) {
        const sym = at[k]!;
        if (sym === 256) throw new HpackError('EOS in a Huffman-coded string');
        out += String.fromCharCode(sym);
        code = 0;
        len = 0;
      } else if (len >= 30) {
        throw new HpackError('invalid Huffman code');
      }
    }
  }
  // What is left must be a prefix of EOS (all ones), shorter than a byte.
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError('invalid Huffman padding');
  return out;
}

/** Encodes an integer with an N-bit prefix (RFC 7541 §5.1), the prefix byte's high bits set to `flags`. */
export function encodeInt(value: number, prefixBits: number, flags: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function encodeString(s: string, out: number[]): void {
  const bytes = Buffer.from(s, 'latin1');
  encodeInt(bytes.length, 7, 0, out);
  for (const b of bytes) out.push(b);
}

/**
 * A header field as a literal without indexing (RFC 7541 §6.2.2): the name by static index when it has one.
 * Names must be lower case; values are sent as latin1 bytes.
 */
export function encodeLiteral(name: string, value: string): Buffer {
  const out: number[] = [];
  const idx = STATIC_NAME.get(name);
  if (idx !== undefined) encodeInt(idx, 4, 0, out);
  else {
    out.push(0);
    encodeString(name, out);
  }
  encodeString(value, out);
  return Buffer.from(out);
}

/** A field of the static table by index (RFC 7541 §6.1), e.g. 3 for `:method: POST`. */
export function encodeIndexed(index: number): Buffer {
  const out: number[] = [];
  encodeInt(index, 7, 0x80, out);
  return Buffer.from(out);
}

/** Per entry overhead in the table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

/** The decoding side of one connection: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  /** Newest first. */
  private readonly table: Array<[string, string]> = [];
  private size = 0;

  /** The table's current size limit (the peer lowers it with size updates). */
  private limit: number;

  /** @param maxTableSize the SETTINGS_HEADER_TABLE_SIZE this side announced (the peer may not exceed it). */
  constructor(private readonly maxTableSize = 4096) {
    this.limit = maxTableSize;
  }

  /**
   * Decodes one header block into [name, value] pairs. The header list's size counts each field's name and
   * value plus 32 bytes, as SETTINGS_MAX_HEADER_LIST_SIZE does (RFC 9113 §6.5.2); when it exceeds
   * `maxListSize` the block is still decoded to its end, so the dynamic table stays in step with the peer's
   * and only the stream needs to fail, but its fields are dropped and the result is undefined. Throws
   * HpackError for a block that breaks HPACK: the connection must then be closed (its table is out of step).
   */
  decode(buf: Buffer, maxListSize = 65536): Array<[string, string]> | undefined {
    const fields: Array<[string, string]> = [];
    let pos = 0;
    let size = 0;
    const end = buf.length;
    const readInt = (prefixBits: number): number => {
      if (pos >= end) throw new HpackError('header block truncated');
      const max = (1 << prefixBits) - 1;
      let v = buf[pos++]! & max;
      if (v < max) return v;
      let shift = 0;
      for (;;) {
        if (pos >= end) throw new HpackError('header block truncated');
        const b = buf[pos++]!;
        v += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
        if (shift > 28) throw new HpackError('integer too large');
      }
      return v;
    };
    const readString = (): string => {
      if (pos >= end) throw new HpackError('header block truncated');
      const huffman = (buf[pos]! & 0x80) !== 0;
      const len = readInt(7);
      if (pos + len > end) throw new HpackError('string runs past the header block');
      const s = huffman ? huffmanDecode(buf, pos, pos + len) : buf.toString('latin1', pos, pos + len);
      pos += len;
      return s;
    };
    while (pos < end) {
      const b = buf[pos]!;
      let field: [string, string];
      if (b & 0x80) {
        field = this.entry(readInt(7));
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only at the start of a block.
        if (fields.length > 0) throw new HpackError('table size update after a field');
        const size = readInt(5);
        if (size > this.maxTableSize) throw new HpackError('table size update above the announced maximum');
        this.limit = size;
        this.evict(0);
        continue;
      } else {
        // 0x40: incremental indexing (6-bit index); 0x00 / 0x10: without / never indexed (4-bit index).
        const indexing = (b & 0xc0) === 0x40;
        const idx = readInt(indexing ? 6 : 4);
        const name = idx === 0 ? readString() : this.entry(idx)[0];
        const value = readString();
        field = [name, value];
        if (indexing) this.insert(name, value);
      }
      size += field[0].length + field[1].length + ENTRY_OVERHEAD;
      // Past the limit nothing more is kept: the rest is read only for the table.
      if (size <= maxListSize) fields.push(field);
    }
    return size <= maxListSize ? fields : undefined;
  }

  private entry(idx: number): [string, string] {
    if (idx === 0) throw new HpackError('index 0');
    if (idx <= STATIC.length) return STATIC[idx - 1] as [string, string];
    const e = this.table[idx - STATIC.length - 1];
    if (e === undefined) throw new HpackError(`index ${idx} is not in the table`);
    return e;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    this.evict(size);
    if (size <= this.limit) {
      this.table.unshift([name, value]);
      this.size += size;
    }
  }

  /** Evicts the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.table.length > 0 && this.size + room > this.limit) {
      const [n, v] = this.table.pop()!;
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
    }
  }
}
