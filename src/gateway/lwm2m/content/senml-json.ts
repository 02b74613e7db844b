// SenML JSON (content format 110): an array of record objects; `vd` is base64url without padding (RFC 8428).
import { ContentError, type PathValue } from './api.js';
import { field, isBoolean, isFiniteNumber, isString } from './fields.js';
import type { LwPath } from './path.js';
import { contentToRecords, recordsToContent, type SenmlRecord, strip } from './senml.js';
import type { TypedValue } from './typed.js';

const FORMAT = 'SenML JSON';
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function senmlJsonToContent(payload: Buffer): PathValue[] {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new ContentError(`${FORMAT}: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new ContentError(`${FORMAT}: the payload is not an array of records`);
  return recordsToContent(doc.map(readRecord));
}

function readRecord(raw: unknown): SenmlRecord {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ContentError(`${FORMAT}: a record is not an object`);
  }
  const r = raw as Record<string, unknown>;
  const vd = field(r['vd'], 'vd', isString, 'a base64url string', FORMAT);
  if (vd !== undefined && (!BASE64URL.test(vd) || vd.length % 4 === 1)) {
    throw new ContentError(`${FORMAT}: "vd" is not base64url`);
  }
  return strip({
    bn: field(r['bn'], 'bn', isString, 'a string', FORMAT),
    n: field(r['n'], 'n', isString, 'a string', FORMAT),
    v: field(r['v'], 'v', isFiniteNumber, 'a number', FORMAT),
    vs: field(r['vs'], 'vs', isString, 'a string', FORMAT),
    vb: field(r['vb'], 'vb', isBoolean, 'a boolean', FORMAT),
    vd: vd === undefined ? undefined : Buffer.from(vd, 'base64url'),
    vlo: field(r['vlo'], 'vlo', isString, 'a string', FORMAT),
  });
}

export function contentToSenmlJson(base: LwPath, values: readonly TypedValue[]): Buffer {
  const records = contentToRecords(base, values).map(({ vd, ...rest }) =>
    vd === undefined ? rest : { ...rest, vd: vd.toString('base64url') },
  );
  return Buffer.from(JSON.stringify(records), 'utf8');
}
