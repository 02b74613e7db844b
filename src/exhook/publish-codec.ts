/**
 * OnMessagePublish's request (emqx.exhook.v3/v2 MessagePublishRequest) encoded by hand: sizes first, then one
 * buffer of exactly that size. protobufjs's serializer (fromObject, then a Writer that grows a list of
 * operations and copies them out) was ~15 % of the broker's CPU on a hooked publish and a large part of its
 * garbage (bench/exhook.ts --profile); this is the one request sent per message. Field numbers are those of
 * proto/exhook.proto; v1 (exhook_v1.proto) differs and keeps the generic serializer.
 *
 * Empty strings, zero numbers and empty lists are left out (proto3's defaults: a decoder reads them back the
 * same). Message.headers is a map<string,string>: one length-delimited entry {1: key, 2: value} per pair.
 */
import type { PbMessage, PbProperty, PbRequestMeta } from './wire.js';

/** The request as the callbacks build it. */
interface PublishRequest {
  message: PbMessage;
  meta?: PbRequestMeta;
  props?: PbProperty[];
  user_props?: PbProperty[];
}

const utf8Len = (s: string): number => Buffer.byteLength(s, 'utf8');

function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Size of a length-delimited field (1-byte tag) holding `len` bytes; 0 when empty. */
const fieldLen = (len: number): number => (len === 0 ? 0 : 1 + varintLen(len) + len);
/** Size of a varint field (1-byte tag); 0 when zero. */
const numLen = (n: number): number => (n === 0 ? 0 : 1 + varintLen(n));

class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    const b = this.buf;
    // Numbers up to 2^53 (timestamps): division, since bit operators stop at 32 bits.
    while (n >= 128) {
      b[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    b[this.pos++] = n;
  }

  /** Tag of a length-delimited field and its length. */
  head(field: number, len: number): void {
    this.buf[this.pos++] = (field << 3) | 2;
    this.varint(len);
  }

  str(field: number, s: string, len: number): void {
    if (len === 0) return;
    this.head(field, len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  bytes(field: number, v: Buffer): void {
    if (v.length === 0) return;
    this.head(field, v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  num(field: number, n: number): void {
    if (n === 0) return;
    this.buf[this.pos++] = field << 3;
    this.varint(n);
  }
}

/** Byte lengths of the strings of one Property (name, value) and of its body. */
function propLens(p: PbProperty): [number, number, number] {
  const n = utf8Len(p.name);
  const v = utf8Len(p.value);
  return [n, v, fieldLen(n) + fieldLen(v)];
}

let lastMeta: PbRequestMeta | undefined;
let lastMetaBytes: Buffer = Buffer.alloc(0);

/** The meta's encoding: the same four strings on every call of a node, so encoded when they change. */
function metaBytes(m: PbRequestMeta): Buffer {
  const l = lastMeta;
  if (
    l !== undefined &&
    l.node === m.node &&
    l.version === m.version &&
    l.sysdescr === m.sysdescr &&
    l.cluster_name === m.cluster_name
  )
    return lastMetaBytes;
  const lens = [m.node, m.version, m.sysdescr, m.cluster_name].map(utf8Len) as [
    number,
    number,
    number,
    number,
  ];
  const out = new Out(Buffer.allocUnsafe(lens.reduce((a, n) => a + fieldLen(n), 0)));
  out.str(1, m.node, lens[0]);
  out.str(2, m.version, lens[1]);
  out.str(3, m.sysdescr, lens[2]);
  out.str(4, m.cluster_name, lens[3]);
  lastMeta = { ...m };
  lastMetaBytes = out.buf;
  return out.buf;
}

/** Encodes a MessagePublishRequest (v3 or v2: a v2 request comes without props and user_props). */
export function encodePublishRequest(request: object): Buffer {
  const r = request as PublishRequest;
  const m = r.message;
  const nodeLen = utf8Len(m.node);
  const idLen = utf8Len(m.id);
  const fromLen = utf8Len(m.from);
  const topicLen = utf8Len(m.topic);
  const headers = Object.keys(m.headers);
  const headerLens: number[] = [];
  let headersSize = 0;
  for (const k of headers) {
    const kl = utf8Len(k);
    const vl = utf8Len(m.headers[k]!);
    headerLens.push(kl, vl);
    const entry = fieldLen(kl) + fieldLen(vl);
    headersSize += 1 + varintLen(entry) + entry;
  }
  const msgSize =
    fieldLen(nodeLen) +
    fieldLen(idLen) +
    numLen(m.qos) +
    fieldLen(fromLen) +
    fieldLen(topicLen) +
    fieldLen(m.payload.length) +
    numLen(m.timestamp) +
    headersSize;
  const meta = r.meta === undefined ? undefined : metaBytes(r.meta);
  const props = r.props ?? [];
  const userProps = r.user_props ?? [];
  const propSizes = props.map(propLens);
  const userSizes = userProps.map(propLens);
  let size = 1 + varintLen(msgSize) + msgSize + (meta === undefined ? 0 : fieldLen(meta.length));
  for (const [, , n] of propSizes) size += 1 + varintLen(n) + n;
  for (const [, , n] of userSizes) size += 1 + varintLen(n) + n;

  const out = new Out(Buffer.allocUnsafe(size));
  out.head(1, msgSize);
  out.str(1, m.node, nodeLen);
  out.str(2, m.id, idLen);
  out.num(3, m.qos);
  out.str(4, m.from, fromLen);
  out.str(5, m.topic, topicLen);
  out.bytes(6, m.payload);
  out.num(7, m.timestamp);
  for (let i = 0; i < headers.length; i++) {
    const kl = headerLens[2 * i]!;
    const vl = headerLens[2 * i + 1]!;
    // An entry is written even when key and value are empty: the map still has the key.
    out.head(8, fieldLen(kl) + fieldLen(vl));
    out.str(1, headers[i]!, kl);
    out.str(2, m.headers[headers[i]!]!, vl);
  }
  if (meta !== undefined) out.bytes(2, meta);
  writeProps(out, 3, props, propSizes);
  writeProps(out, 4, userProps, userSizes);
  return out.buf;
}

function writeProps(out: Out, field: number, props: PbProperty[], sizes: [number, number, number][]): void {
  for (let i = 0; i < props.length; i++) {
    const [nl, vl, n] = sizes[i]!;
    // A Property with both strings empty is still one list element: written as an empty message.
    out.head(field, n);
    out.str(1, props[i]!.name, nl);
    out.str(2, props[i]!.value, vl);
  }
}
