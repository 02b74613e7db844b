// SenML CBOR (content format 112): an array of maps keyed by RFC 8428's integer labels (bn -2, n 0, v 2,
// vs 3, vb 4, vd 8 as a byte string) and LwM2M 1.1's text label "vlo".
import { Decoder, Encoder } from 'cbor-x';
import { ContentError, type PathValue } from './api.js';
import { field, isBoolean, isFiniteNumber, isString } from './fields.js';
import type { LwPath } from './path.js';
import { contentToRecords, recordsToContent, type SenmlRecord, strip } from './senml.js';
import type { TypedValue } from './typed.js';

const FORMAT = 'SenML CBOR';
const LABEL = { bn: -2, n: 0, v: 2, vs: 3, vb: 4, vd: 8, vlo: 'vlo' } as const;

// Maps stay Maps (integer labels), no cbor-x record extension: the wire format is plain RFC 8949.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false });

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

export function senmlCborToContent(payload: Buffer): PathValue[] {
  let doc: unknown;
  try {
    doc = decoder.decode(payload);
  } catch (err) {
    throw new ContentError(`${FORMAT}: ${(err as Error)?.message ?? 'undecodable'}`);
  }
  if (!Array.isArray(doc)) throw new ContentError(`${FORMAT}: the payload is not an array of records`);
  return recordsToContent(doc.map(readRecord));
}

function readRecord(raw: unknown): SenmlRecord {
  if (!(raw instanceof Map)) throw new ContentError(`${FORMAT}: a record is not a map`);
  const vd = field(raw.get(LABEL.vd), 'vd', isBytes, 'a byte string', FORMAT);
  return strip({
    bn: field(raw.get(LABEL.bn), 'bn', isString, 'a text string', FORMAT),
    n: field(raw.get(LABEL.n), 'n', isString, 'a text string', FORMAT),
    v: field(raw.get(LABEL.v), 'v', isFiniteNumber, 'a number', FORMAT),
    vs: field(raw.get(LABEL.vs), 'vs', isString, 'a text string', FORMAT),
    vb: field(raw.get(LABEL.vb), 'vb', isBoolean, 'a boolean', FORMAT),
    vd: vd === undefined ? undefined : Buffer.from(vd),
    vlo: field(raw.get(LABEL.vlo), 'vlo', isString, 'a text string', FORMAT),
  });
}

export function contentToSenmlCbor(base: LwPath, values: readonly TypedValue[]): Buffer {
  const maps = contentToRecords(base, values).map((r) => {
    const m = new Map<number | string, unknown>();
    for (const key of Object.keys(LABEL) as (keyof typeof LABEL)[]) {
      if (r[key] !== undefined) m.set(LABEL[key], r[key]);
    }
    return m;
  });
  return Buffer.from(encoder.encode(maps));
}
