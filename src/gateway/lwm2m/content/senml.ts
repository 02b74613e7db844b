// SenML records as LwM2M 1.1 uses them (RFC 8428 with the `vlo` object-link value), shared by the JSON (110)
// and CBOR (112) codecs: names are base name + name, values carry their own type.
import type { PathValue } from './api.js';
import { formatPath, type LwPath, parsePath, relativeName } from './path.js';
import type { TypedValue } from './typed.js';
import { asBase64, asBoolean, asNumber, asObjlnk } from './values.js';

/** One record after its representation (JSON keys or CBOR labels) is read; bytes for `vd`. */
export interface SenmlRecord {
  bn?: string;
  n?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: Buffer;
  vlo?: string;
}

/**
 * Resolves names (a base name holds until the next one) and renders values as EMQX's JSON: numbers,
 * booleans, strings, Opaque as standard base64. Records without a value (base-only) add no entry.
 */
export function recordsToContent(records: readonly SenmlRecord[]): PathValue[] {
  const out: PathValue[] = [];
  let base = '';
  for (const r of records) {
    if (r.bn !== undefined) base = r.bn;
    const value = recordValue(r);
    if (value === undefined) continue;
    const name = base + (r.n ?? '');
    out.push({ path: formatPath(parsePath(name)), value });
  }
  return out;
}

function recordValue(r: SenmlRecord): PathValue['value'] | undefined {
  if (r.v !== undefined) return r.v;
  if (r.vs !== undefined) return r.vs;
  if (r.vb !== undefined) return r.vb;
  if (r.vd !== undefined) return r.vd.toString('base64');
  if (r.vlo !== undefined) {
    asObjlnk(r.vlo);
    return r.vlo;
  }
  return undefined;
}

/** Records for values under `base`: the first carries the base name, each the rest of its path. */
export function contentToRecords(base: LwPath, values: readonly TypedValue[]): SenmlRecord[] {
  const prefix = `${base.length === 0 ? '' : formatPath(base)}/`;
  return values.map((v, i) => {
    const record: SenmlRecord = i === 0 ? { bn: prefix } : {};
    const name = relativeName(prefix, v.path);
    if (name !== '') record.n = name;
    switch (v.type) {
      case 'Integer':
      case 'Unsigned Integer':
      case 'Time':
      case 'Float':
        record.v = asNumber(v.value, v.type);
        break;
      case 'Boolean':
        record.vb = asBoolean(v.value);
        break;
      case 'Opaque':
        record.vd = asBase64(v.value);
        break;
      case 'Objlnk': {
        const [obj, inst] = asObjlnk(v.value);
        record.vlo = `${obj}:${inst}`;
        break;
      }
      case 'String':
      case 'Corelnk':
        record.vs = String(v.value);
        break;
    }
    return record;
  });
}

/** Drops absent fields so records compare and serialize cleanly. */
export function strip(record: { [K in keyof SenmlRecord]: SenmlRecord[K] | undefined }): SenmlRecord {
  const out: SenmlRecord = {};
  for (const [k, v] of Object.entries(record)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
