// Typed reads of decoded JSON/CBOR fields, shared by the LwM2M JSON and SenML decoders.
import { ContentError } from './api.js';

/** A field that must have one JS type when present; throws ContentError naming the format and key. */
export function field<T>(
  value: unknown,
  key: string,
  check: (v: unknown) => v is T,
  what: string,
  format: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (!check(value)) throw new ContentError(`${format}: "${key}" must be ${what}`);
  return value;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
