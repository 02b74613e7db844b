// Plain CBOR (content format 60): LwM2M 1.1's single-resource format. The item carries its own type;
// values render as everywhere else: numbers, strings, booleans, Opaque byte strings as base64.
import { Decoder, Encoder } from 'cbor-x';
import { ContentError, type JsonValue, type PathValue } from './api.js';
import { formatPath, type LwPath } from './path.js';
import type { TypedValue } from './typed.js';
import { asBase64, asBoolean, asNumber, asObjlnk } from './values.js';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

export function cborToContent(requestPath: LwPath, payload: Buffer): PathValue[] {
  if (requestPath.length < 3) {
    throw new ContentError(`CBOR answers only a resource, not ${formatPath(requestPath)}`);
  }
  let item: unknown;
  try {
    item = decoder.decode(payload);
  } catch (err) {
    throw new ContentError(`CBOR: ${(err as Error)?.message ?? 'undecodable'}`);
  }
  return [{ path: formatPath(requestPath), value: itemValue(item) }];
}

function itemValue(item: unknown): JsonValue {
  if (typeof item === 'number' && Number.isFinite(item)) return item;
  if (typeof item === 'bigint') return Number(item);
  if (typeof item === 'string' || typeof item === 'boolean') return item;
  if (item instanceof Uint8Array) return Buffer.from(item).toString('base64');
  // Time may come as tag 1 (epoch seconds), which cbor-x turns into a Date.
  if (item instanceof Date && Number.isFinite(item.getTime())) return item.getTime() / 1000;
  throw new ContentError('CBOR: the item is not a single LwM2M value');
}

export function contentToCbor(value: TypedValue): Buffer {
  let item: unknown;
  switch (value.type) {
    case 'Integer':
    case 'Unsigned Integer':
    case 'Time':
    case 'Float':
      item = asNumber(value.value, value.type);
      break;
    case 'Boolean':
      item = asBoolean(value.value);
      break;
    case 'Opaque':
      item = asBase64(value.value);
      break;
    case 'Objlnk': {
      const [obj, inst] = asObjlnk(value.value);
      item = `${obj}:${inst}`;
      break;
    }
    case 'String':
    case 'Corelnk':
      item = String(value.value);
      break;
  }
  return Buffer.from(encoder.encode(item));
}
