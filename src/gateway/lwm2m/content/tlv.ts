// OMA-TLV (content format 11542, and 1542 of LwM2M 1.0 drafts): the binary tree of object instances,
// resources, multiple resources and resource instances. This module knows only the framing; typing the
// leaf values is values.ts's job and mapping the tree onto paths is tlv-content.ts's.
//
// Header byte: bits 7-6 kind, bit 5 id width (0: 8 bits, 1: 16 bits), bits 4-3 length width (0: the length
// is bits 2-0 of this byte, 1/2/3: an 8/16/24-bit length follows the id).
import { ContentError } from './api.js';

export const TlvKind = { ObjectInstance: 0, ResourceInstance: 1, MultipleResource: 2, Resource: 3 } as const;
export type TlvKind = (typeof TlvKind)[keyof typeof TlvKind];

/** A leaf (resource, resource instance) carries bytes; a container (instance, multiple resource) children. */
export type TlvEntry = TlvLeaf | TlvContainer;
export interface TlvLeaf {
  readonly kind: typeof TlvKind.Resource | typeof TlvKind.ResourceInstance;
  readonly id: number;
  readonly value: Buffer;
}
export interface TlvContainer {
  readonly kind: typeof TlvKind.ObjectInstance | typeof TlvKind.MultipleResource;
  readonly id: number;
  readonly children: readonly TlvEntry[];
}

const MAX_LENGTH = 0xffffff;

/** Decodes a whole payload; throws ContentError when a length overruns or a container holds the wrong kind. */
export function decodeTlv(payload: Buffer): TlvEntry[] {
  return decodeRange(payload, 0, payload.length, undefined);
}

function decodeRange(buf: Buffer, start: number, end: number, parent: TlvKind | undefined): TlvEntry[] {
  const out: TlvEntry[] = [];
  let at = start;
  while (at < end) {
    const type = buf[at]!;
    const kind = (type >> 6) as TlvKind;
    const idBytes = type & 0x20 ? 2 : 1;
    const lengthBytes = (type >> 3) & 0x03;
    const headerEnd = at + 1 + idBytes + lengthBytes;
    if (headerEnd > end) throw new ContentError(`TLV header at byte ${at} is cut short`);
    const id = idBytes === 2 ? buf.readUInt16BE(at + 1) : buf[at + 1]!;
    const length = lengthBytes === 0 ? type & 0x07 : buf.readUIntBE(at + 1 + idBytes, lengthBytes);
    const valueEnd = headerEnd + length;
    if (valueEnd > end) {
      throw new ContentError(
        `TLV entry ${id} at byte ${at} claims ${length} bytes, ${end - headerEnd} remain`,
      );
    }
    checkNesting(parent, kind, id);
    if (kind === TlvKind.ObjectInstance || kind === TlvKind.MultipleResource) {
      out.push({ kind, id, children: decodeRange(buf, headerEnd, valueEnd, kind) });
    } else {
      out.push({ kind, id, value: buf.subarray(headerEnd, valueEnd) });
    }
    at = valueEnd;
  }
  return out;
}

/** An instance holds resources; a multiple resource holds resource instances; nothing else nests. */
function checkNesting(parent: TlvKind | undefined, kind: TlvKind, id: number): void {
  if (parent === TlvKind.ObjectInstance && kind !== TlvKind.Resource && kind !== TlvKind.MultipleResource) {
    throw new ContentError(`TLV: an object instance contains ${KIND_NAMES[kind]} ${id}`);
  }
  if (parent === TlvKind.MultipleResource && kind !== TlvKind.ResourceInstance) {
    throw new ContentError(`TLV: a multiple resource contains ${KIND_NAMES[kind]} ${id}`);
  }
}

export const KIND_NAMES: Readonly<Record<TlvKind, string>> = {
  [TlvKind.ObjectInstance]: 'object instance',
  [TlvKind.ResourceInstance]: 'resource instance',
  [TlvKind.MultipleResource]: 'multiple resource',
  [TlvKind.Resource]: 'resource',
};

/** Encodes entries with the shortest id and length fields (lengths up to 24 bits). */
export function encodeTlv(entries: readonly TlvEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) encodeEntry(e, parts);
  return Buffer.concat(parts);
}

function encodeEntry(entry: TlvEntry, parts: Buffer[]): void {
  if (!Number.isInteger(entry.id) || entry.id < 0 || entry.id > 0xffff) {
    throw new ContentError(`TLV id ${entry.id} is out of 0..65535`);
  }
  const body = 'value' in entry ? entry.value : encodeTlv(entry.children);
  if (body.length > MAX_LENGTH)
    throw new ContentError(`TLV value of ${body.length} bytes exceeds 24-bit lengths`);
  const wideId = entry.id > 0xff;
  const lengthBytes = body.length < 8 ? 0 : body.length <= 0xff ? 1 : body.length <= 0xffff ? 2 : 3;
  const header = Buffer.alloc(1 + (wideId ? 2 : 1) + lengthBytes);
  header[0] =
    (entry.kind << 6) | (wideId ? 0x20 : 0) | (lengthBytes << 3) | (lengthBytes === 0 ? body.length : 0);
  if (wideId) header.writeUInt16BE(entry.id, 1);
  else header[1] = entry.id;
  if (lengthBytes > 0) header.writeUIntBE(body.length, wideId ? 3 : 2, lengthBytes);
  parts.push(header, body);
}
