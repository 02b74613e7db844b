import { Encoder } from 'cbor-x';

/**
 * The test device's data: typed resource values and their encodings, written from the LwM2M TS
 * (§7.4.3 TLV, §7.4.7 SenML JSON) independently of the gateway's codecs.
 */

export type Kind = 'String' | 'Integer' | 'Float' | 'Boolean' | 'Time' | 'Opaque' | 'Objlnk';
export type Scalar = string | number | boolean | Buffer;
export interface Value {
  kind: Kind;
  v: Scalar;
}
/** A resource: one value, or instances of a multiple resource. */
export type Resource = Value | Map<number, Value>;
/** Object id ⇒ instance id ⇒ resource id ⇒ resource. */
export type Tree = Map<number, Map<number, Map<number, Resource>>>;

// ---------------------------------------------------------------- TLV

function valueBytes(x: Value): Buffer {
  switch (x.kind) {
    case 'String':
      return Buffer.from(String(x.v), 'utf8');
    case 'Integer':
    case 'Time': {
      const n = BigInt(Math.trunc(Number(x.v)));
      for (const size of [1, 2, 4, 8]) {
        const lim = 1n << BigInt(size * 8 - 1);
        if (n >= -lim && n < lim) return Buffer.from(bigBytes(n, size));
      }
      throw new Error('integer too large');
    }
    case 'Float': {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(Number(x.v));
      return b;
    }
    case 'Boolean':
      return Buffer.from([x.v ? 1 : 0]);
    case 'Opaque':
      return Buffer.isBuffer(x.v) ? x.v : Buffer.from(String(x.v));
    case 'Objlnk': {
      const [o, i] = String(x.v).split(':').map(Number);
      const b = Buffer.alloc(4);
      b.writeUInt16BE(o!, 0);
      b.writeUInt16BE(i!, 2);
      return b;
    }
  }
}

function bigBytes(n: bigint, size: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(size * 8, n);
  for (let i = 0; i < size; i++) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** One TLV entry: type 0 object instance, 1 resource instance, 2 multiple resource, 3 resource value. */
function tlv(type: number, id: number, body: Buffer): Buffer {
  const head: number[] = [];
  let t = type << 6;
  if (id > 255) t |= 0x20;
  const len = body.length;
  let lenBytes: number[] = [];
  if (len < 8) t |= len;
  else if (len < 0x100) {
    t |= 0x08;
    lenBytes = [len];
  } else if (len < 0x10000) {
    t |= 0x10;
    lenBytes = [len >> 8, len & 0xff];
  } else {
    t |= 0x18;
    lenBytes = [len >> 16, (len >> 8) & 0xff, len & 0xff];
  }
  head.push(t, ...(id > 255 ? [id >> 8, id & 0xff] : [id]), ...lenBytes);
  return Buffer.concat([Buffer.from(head), body]);
}

function resourceTlv(id: number, r: Resource): Buffer {
  if (!(r instanceof Map)) return tlv(3, id, valueBytes(r));
  const parts = [...r].map(([i, v]) => tlv(1, i, valueBytes(v)));
  return tlv(2, id, Buffer.concat(parts));
}

function instanceTlv(inst: Map<number, Resource>): Buffer {
  return Buffer.concat([...inst].map(([id, r]) => resourceTlv(id, r)));
}

/** TLV of a read on `/o`, `/o/i` or `/o/i/r`. */
export function encodeTlv(tree: Tree, ids: number[]): Buffer | undefined {
  const obj = tree.get(ids[0]!);
  if (obj === undefined) return undefined;
  if (ids.length === 1) return Buffer.concat([...obj].map(([i, inst]) => tlv(0, i, instanceTlv(inst))));
  const inst = obj.get(ids[1]!);
  if (inst === undefined) return undefined;
  if (ids.length === 2) return instanceTlv(inst);
  const r = inst.get(ids[2]!);
  return r === undefined ? undefined : resourceTlv(ids[2]!, r);
}

/** One decoded TLV entry (for writes and creates the device receives). */
export interface TlvEntry {
  type: number;
  id: number;
  value: Buffer;
  children: TlvEntry[];
}

export function decodeTlv(b: Buffer): TlvEntry[] {
  const out: TlvEntry[] = [];
  let i = 0;
  while (i < b.length) {
    const t = b[i++]!;
    const type = t >> 6;
    const id = t & 0x20 ? b.readUInt16BE((i += 2) - 2) : b[i++]!;
    const lt = (t >> 3) & 3;
    let len = t & 7;
    if (lt === 1) len = b[i++]!;
    else if (lt === 2) len = b.readUInt16BE((i += 2) - 2);
    else if (lt === 3) {
      len = (b[i]! << 16) | b.readUInt16BE(i + 1);
      i += 3;
    }
    if (i + len > b.length) throw new Error('TLV overruns');
    const value = b.subarray(i, i + len);
    i += len;
    out.push({ type, id, value, children: type === 0 || type === 2 ? decodeTlv(value) : [] });
  }
  return out;
}

/** A TLV value read as the resource's kind. */
export function readTlvValue(kind: Kind, b: Buffer): Value {
  switch (kind) {
    case 'String':
      return { kind, v: b.toString('utf8') };
    case 'Integer':
    case 'Time': {
      let n = 0n;
      for (const x of b) n = (n << 8n) | BigInt(x);
      return { kind, v: Number(BigInt.asIntN(b.length * 8, n)) };
    }
    case 'Float':
      return { kind, v: b.length === 4 ? b.readFloatBE(0) : b.readDoubleBE(0) };
    case 'Boolean':
      return { kind, v: b[0] === 1 };
    case 'Opaque':
      return { kind, v: Buffer.from(b) };
    case 'Objlnk':
      return { kind, v: `${b.readUInt16BE(0)}:${b.readUInt16BE(2)}` };
  }
}

// ---------------------------------------------------------------- SenML JSON

/** SenML JSON (LwM2M 1.1) of a read: one record per resource (instance), names relative to `bn`. */
export function encodeSenml(tree: Tree, ids: number[]): Buffer | undefined {
  const records: Array<Record<string, unknown>> = [];
  const push = (name: string, x: Value) => {
    const rec: Record<string, unknown> = { n: name };
    if (x.kind === 'String') rec.vs = x.v;
    else if (x.kind === 'Boolean') rec.vb = x.v;
    else if (x.kind === 'Opaque') rec.vd = (x.v as Buffer).toString('base64url');
    else if (x.kind === 'Objlnk') rec.vlo = x.v;
    else rec.v = x.v;
    records.push(rec);
  };
  const addResource = (prefix: string, r: Resource) => {
    if (r instanceof Map) for (const [i, v] of r) push(`${prefix}/${i}`, v);
    else push(prefix, r);
  };
  const obj = tree.get(ids[0]!);
  if (obj === undefined) return undefined;
  for (const [i, inst] of obj) {
    if (ids.length > 1 && i !== ids[1]) continue;
    for (const [r, res] of inst) {
      if (ids.length > 2 && r !== ids[2]) continue;
      addResource(`/${ids[0]}/${i}/${r}`, res);
    }
  }
  if (records.length === 0) return undefined;
  const bn = `/${ids.join('/')}`;
  const out = records.map((rec, k) => {
    const n = (rec.n as string).slice(bn.length);
    return k === 0 ? { bn, ...rec, n } : { ...rec, n };
  });
  return Buffer.from(JSON.stringify(out));
}

/** SenML CBOR (LwM2M 1.1, RFC 8428 §6): the same records as SenML JSON with RFC 8428's integer labels. */
export function encodeSenmlCbor(tree: Tree, ids: number[]): Buffer | undefined {
  const json = encodeSenml(tree, ids);
  if (json === undefined) return undefined;
  const labels: Record<string, number | string> = { bn: -2, n: 0, v: 2, vs: 3, vb: 4, vd: 8, vlo: 'vlo' };
  const records = (JSON.parse(json.toString()) as Array<Record<string, unknown>>).map(
    (r) =>
      new Map(
        Object.entries(r).map(([k, x]) => [labels[k]!, k === 'vd' ? Buffer.from(String(x), 'base64url') : x]),
      ),
  );
  return Buffer.from(cborEncoder.encode(records));
}

const cborEncoder = new Encoder({ mapsAsObjects: false, useRecords: false });
