/**
 * JSON as EMQX's LwM2M gateway writes it on MQTT: object keys in byte order at every level (applications
 * and EMQX's own tests compare the encoded strings), arrays in their order.
 */

/** A JSON value this gateway publishes. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };

/** Encodes with object keys sorted (undefined members are left out, as JSON.stringify does). */
export function sortedJson(v: Json | undefined): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: Json | undefined): Json | undefined {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x) ?? null);
  if (v === null || typeof v !== 'object') return v;
  const out: { [key: string]: Json } = {};
  for (const k of Object.keys(v).sort(byteOrder)) {
    const x = sortKeys(v[k]);
    if (x !== undefined) out[k] = x;
  }
  return out;
}

/**
 * Byte order of the UTF-8 encodings, which is code point order. Plain string comparison (UTF-16 code
 * units) agrees except when one key has a character above U+FFFF where the other has U+E000–U+FFFF: only
 * then are the bytes compared.
 */
function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const NON_ASCII = /[^ -~\t\n\r]/;

/** Parses a command payload: a JSON object, or the reason it is not one. */
export function parseObject(payload: Buffer): { [key: string]: Json } | string {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return `malformed JSON: ${(err as Error).message}`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'the command is not a JSON object';
  return v as { [key: string]: Json };
}
