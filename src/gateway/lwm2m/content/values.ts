// Conversions of single resource values between the wire (TLV value bytes, text/plain) and EMQX's JSON
// (README.md, "Values on MQTT"): Integer/Time as numbers, Opaque as base64, Objlnk as "obj:inst".
import { ContentError, type JsonValue, type ResourceType } from './api.js';

/** The type a value is encoded with; `None` (executable resources) carries no value. */
export type ValueType = Exclude<ResourceType, 'None'>;

/** Data type names as the XML and EMQX's commands write them, by lower case. */
const TYPE_NAMES: ReadonlyMap<string, ValueType> = new Map(
  (
    [
      'String',
      'Integer',
      'Unsigned Integer',
      'Float',
      'Boolean',
      'Opaque',
      'Time',
      'Objlnk',
      'Corelnk',
    ] as const
  ).map((t) => [t.toLowerCase(), t]),
);

/** EMQX's type names of a write command (`Integer`, `Objlnk`…), case-insensitive; undefined when unknown. */
export function valueTypeOf(name: string): ValueType | undefined {
  return TYPE_NAMES.get(name.trim().toLowerCase());
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const OBJLNK = /^(\d{1,5}):(\d{1,5})$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

// ---------------------------------------------------------------------------------------------- TLV bytes

/** A TLV resource value as JSON, typed by the definition. */
export function tlvToJson(type: ResourceType, bytes: Buffer): JsonValue {
  switch (type) {
    case 'String':
    case 'Corelnk':
      return bytes.toString('utf8');
    case 'Integer':
    case 'Time':
      return readInt(bytes, true, type);
    case 'Unsigned Integer':
      return readInt(bytes, false, type);
    case 'Float':
      if (bytes.length === 4) return bytes.readFloatBE(0);
      if (bytes.length === 8) return bytes.readDoubleBE(0);
      throw new ContentError(`a Float value has ${bytes.length} bytes (4 or 8 expected)`);
    case 'Boolean':
      if (bytes.length === 1 && bytes[0]! <= 1) return bytes[0] === 1;
      throw new ContentError('a Boolean value is not a single byte 0 or 1');
    case 'Objlnk':
      if (bytes.length !== 4)
        throw new ContentError(`an Objlnk value has ${bytes.length} bytes (4 expected)`);
      return `${bytes.readUInt16BE(0)}:${bytes.readUInt16BE(2)}`;
    case 'Opaque':
    case 'None':
      return bytes.toString('base64');
  }
}

/** A write's value checked against its type, in the form both wire encodings start from. */
type Checked =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'int'; readonly n: bigint; readonly signed: boolean }
  | { readonly kind: 'float'; readonly n: number }
  | { readonly kind: 'bool'; readonly b: boolean }
  | { readonly kind: 'link'; readonly obj: number; readonly inst: number }
  | { readonly kind: 'bytes'; readonly bytes: Buffer };

function check(type: ValueType, value: JsonValue): Checked {
  switch (type) {
    case 'String':
    case 'Corelnk':
      return { kind: 'text', text: asText(value, type) };
    case 'Integer':
    case 'Time':
      return { kind: 'int', n: asBigInt(value, type, MIN_INT64, MAX_INT64), signed: true };
    case 'Unsigned Integer':
      return { kind: 'int', n: asBigInt(value, type, 0n, MAX_UINT64), signed: false };
    case 'Float':
      return { kind: 'float', n: asNumber(value, type) };
    case 'Boolean':
      return { kind: 'bool', b: asBoolean(value) };
    case 'Objlnk': {
      const [obj, inst] = asObjlnk(value);
      return { kind: 'link', obj, inst };
    }
    case 'Opaque':
      return { kind: 'bytes', bytes: asBase64(value) };
  }
}

/** A JSON value of a write as TLV value bytes. */
export function jsonToTlv(type: ValueType, value: JsonValue): Buffer {
  const v = check(type, value);
  switch (v.kind) {
    case 'text':
      return Buffer.from(v.text, 'utf8');
    case 'int':
      return writeInt(v.n, v.signed);
    case 'float': {
      // Always 8 bytes, as EMQX writes them: no precision is lost whatever the application sent.
      const out = Buffer.alloc(8);
      out.writeDoubleBE(v.n, 0);
      return out;
    }
    case 'bool':
      return Buffer.from([v.b ? 1 : 0]);
    case 'link': {
      const out = Buffer.alloc(4);
      out.writeUInt16BE(v.obj, 0);
      out.writeUInt16BE(v.inst, 2);
      return out;
    }
    case 'bytes':
      return v.bytes;
  }
}

/** Two's complement in 1, 2, 4 or 8 bytes, the only widths the TLV format allows. */
function readInt(bytes: Buffer, signed: boolean, type: string): number {
  switch (bytes.length) {
    case 1:
      return signed ? bytes.readInt8(0) : bytes.readUInt8(0);
    case 2:
      return signed ? bytes.readInt16BE(0) : bytes.readUInt16BE(0);
    case 4:
      return signed ? bytes.readInt32BE(0) : bytes.readUInt32BE(0);
    case 8:
      return Number(signed ? bytes.readBigInt64BE(0) : bytes.readBigUInt64BE(0));
    default:
      throw new ContentError(`an ${type} value has ${bytes.length} bytes (1, 2, 4 or 8 expected)`);
  }
}

/** The shortest of 1, 2, 4, 8 bytes that holds the value (signed: 128 needs 2 bytes, not 1). */
function writeInt(value: bigint, signed: boolean): Buffer {
  for (const width of [1, 2, 4, 8]) {
    const bits = BigInt(width * 8);
    const fits = signed
      ? value >= -(1n << (bits - 1n)) && value < 1n << (bits - 1n)
      : value >= 0n && value < 1n << bits;
    if (!fits) continue;
    const out = Buffer.alloc(width);
    let v = BigInt.asUintN(width * 8, value);
    for (let i = width - 1; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  }
  throw new ContentError(`integer ${value} does not fit in 64 bits`);
}

// ---------------------------------------------------------------------------------------------- text/plain

/** A text/plain payload as JSON, typed by the definition. */
export function textToJson(type: ResourceType, bytes: Buffer): JsonValue {
  switch (type) {
    case 'String':
    case 'Corelnk':
      return bytes.toString('utf8');
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time':
    case 'Float': {
      const text = bytes.toString('latin1').trim();
      if (!DECIMAL.test(text)) throw new ContentError(`"${clip(text)}" is not a ${type} value`);
      return Number(text);
    }
    case 'Boolean': {
      const text = bytes.toString('latin1').trim();
      // LwM2M writes 1/0; EMQX's tests also send true/false.
      if (text === '1' || text === 'true') return true;
      if (text === '0' || text === 'false') return false;
      throw new ContentError(`"${clip(text)}" is not a Boolean value`);
    }
    case 'Objlnk': {
      const text = bytes.toString('latin1').trim();
      asObjlnk(text);
      return text;
    }
    case 'Opaque':
    case 'None':
      return bytes.toString('base64');
  }
}

/** A JSON value as a text/plain payload (Boolean as 1/0, Opaque as the raw bytes). */
export function jsonToText(type: ValueType, value: JsonValue): Buffer {
  const v = check(type, value);
  switch (v.kind) {
    case 'text':
      return Buffer.from(v.text, 'utf8');
    case 'int':
      return Buffer.from(v.n.toString(), 'latin1');
    case 'float':
      return Buffer.from(Object.is(v.n, -0) ? '-0' : String(v.n), 'latin1');
    case 'bool':
      return Buffer.from(v.b ? '1' : '0', 'latin1');
    case 'link':
      return Buffer.from(`${v.obj}:${v.inst}`, 'latin1');
    case 'bytes':
      return v.bytes;
  }
}

// ---------------------------------------------------------------------------------------------- JSON input

function asText(value: JsonValue, type: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ContentError(`a ${type} value must be a string`);
}

/** Applications send numbers as JSON numbers or as strings ("12345", as in EMQX's examples). */
function asBigInt(value: JsonValue, type: string, min: bigint, max: bigint): bigint {
  let n: bigint;
  if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value)) n = BigInt(value.trim());
  else throw new ContentError(`${JSON.stringify(value)} is not an ${type} value`);
  if (n < min || n > max) throw new ContentError(`${n} is out of range for ${type}`);
  return n;
}

/** Exported for the JSON formats, which carry Integer/Float/Time as JSON numbers. */
export function asNumber(value: JsonValue, type: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && DECIMAL.test(value.trim())
        ? Number(value)
        : NaN;
  if (!Number.isFinite(n)) throw new ContentError(`${JSON.stringify(value)} is not a ${type} value`);
  return n;
}

export function asBoolean(value: JsonValue): boolean {
  if (value === true || value === 'true' || value === 1 || value === '1') return true;
  if (value === false || value === 'false' || value === 0 || value === '0') return false;
  throw new ContentError(`${JSON.stringify(value)} is not a Boolean value`);
}

export function asObjlnk(value: JsonValue): [number, number] {
  const m = typeof value === 'string' ? OBJLNK.exec(value.trim()) : null;
  if (m === null || Number(m[1]) > 65535 || Number(m[2]) > 65535) {
    throw new ContentError(`${JSON.stringify(value)} is not an Objlnk value ("<object>:<instance>")`);
  }
  return [Number(m[1]), Number(m[2])];
}

/** Opaque values travel as base64 on MQTT (EMQX decodes them the same way). */
export function asBase64(value: JsonValue): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new ContentError('an Opaque value must be a base64 string');
  }
  return Buffer.from(value, 'base64');
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
