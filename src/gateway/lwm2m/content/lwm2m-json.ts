// OMA LwM2M JSON (content format 11543, 1543 in 1.0 drafts): `{"bn": "/3/0/", "e": [{"n": "0", "sv": …}]}`
// with values in `v` (number), `sv` (string, base64 for Opaque), `bv` (boolean) and `ov` (object link).
import { ContentError, type PathValue } from './api.js';
import { field, isBoolean, isFiniteNumber, isString } from './fields.js';
import { formatPath, type LwPath, parsePath, relativeName } from './path.js';
import type { TypedValue } from './typed.js';
import { asBoolean, asNumber, asObjlnk } from './values.js';

const FORMAT = 'LwM2M JSON';

/**
 * Paths are `bn` + `n`; without `bn` they are relative to the request path (absolute when `n` starts with
 * "/"). Elements without a value (EMQX renders them as null) are left out: the content has no null.
 */
export function lwm2mJsonToContent(requestPath: LwPath, payload: Buffer): PathValue[] {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new ContentError(`${FORMAT}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ContentError(`${FORMAT}: the payload is not an object`);
  }
  const d = doc as Record<string, unknown>;
  const bn = field(d['bn'], 'bn', isString, 'a string', FORMAT);
  const e = d['e'];
  if (!Array.isArray(e)) throw new ContentError(`${FORMAT}: "e" is not an array`);
  const out: PathValue[] = [];
  for (const raw of e) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ContentError(`${FORMAT}: an element is not an object`);
    }
    const el = raw as Record<string, unknown>;
    const n = field(el['n'], 'n', isString, 'a string', FORMAT) ?? '';
    const value = elementValue(el);
    if (value === undefined) continue;
    const base = bn ?? (n.startsWith('/') ? '' : formatPath(requestPath));
    out.push({ path: formatPath(parsePath(join(base, n))), value });
  }
  return out;
}

function elementValue(el: Record<string, unknown>): PathValue['value'] | undefined {
  const v = field(el['v'], 'v', isFiniteNumber, 'a number', FORMAT);
  if (v !== undefined) return v;
  const sv = field(el['sv'], 'sv', isString, 'a string', FORMAT);
  if (sv !== undefined) return sv;
  const bv = field(el['bv'], 'bv', isBoolean, 'a boolean', FORMAT);
  if (bv !== undefined) return bv;
  const ov = field(el['ov'], 'ov', isString, 'a string', FORMAT);
  if (ov !== undefined) {
    asObjlnk(ov);
    return ov;
  }
  return undefined;
}

function join(base: string, name: string): string {
  if (name === '') return base;
  return `${base.replace(/\/+$/, '')}/${name.replace(/^\/+/, '')}`;
}

export function contentToLwm2mJson(base: LwPath, values: readonly TypedValue[]): Buffer {
  const prefix = `${base.length === 0 ? '' : formatPath(base)}/`;
  const e = values.map((v) => {
    const n = relativeName(prefix, v.path);
    switch (v.type) {
      case 'Integer':
      case 'Unsigned Integer':
      case 'Time':
      case 'Float':
        return { n, v: asNumber(v.value, v.type) };
      case 'Boolean':
        return { n, bv: asBoolean(v.value) };
      case 'Objlnk': {
        const [obj, inst] = asObjlnk(v.value);
        return { n, ov: `${obj}:${inst}` };
      }
      default:
        return { n, sv: String(v.value) };
    }
  });
  return Buffer.from(JSON.stringify({ bn: prefix, e }), 'utf8');
}
