// The gateway's entry point to content formats: picks the codec by content format, types values from the
// object definitions, and turns write/create commands into the payload a device accepts.
import {
  type ContentCodec,
  ContentError,
  ContentFormat,
  type EncodedPayload,
  type ObjectRegistry,
  type PathValue,
  type TypedWrite,
} from './api.js';
import { cborToContent } from './cbor.js';
import { lwm2mJsonToContent } from './lwm2m-json.js';
import { opaqueToContent } from './opaque.js';
import { type LwPath, parsePath, parseRelative } from './path.js';
import { senmlCborToContent } from './senml-cbor.js';
import { senmlJsonToContent } from './senml-json.js';
import { textToContent } from './text.js';
import { contentToTlv, tlvToContent } from './tlv-content.js';
import { resourceDefinition, type TypedValue } from './typed.js';
import { type ValueType, valueTypeOf } from './values.js';

/** The codec the LwM2M gateway decodes answers and encodes writes with, typed by `registry`. */
export function createContentCodec(registry: ObjectRegistry): ContentCodec {
  return {
    decode(requestPath, contentFormat, payload) {
      return guard(() => decodeContent(registry, requestPath, contentFormat, payload));
    },
    encode(basePath, writes, _lwm2mVersion) {
      return guard(() => encodeWrites(registry, basePath, writes));
    },
  };
}

function decodeContent(
  registry: ObjectRegistry,
  requestPath: string,
  contentFormat: number | undefined,
  payload: Buffer,
): PathValue[] {
  const path = parsePath(stripQuery(requestPath));
  // No Content-Format option: EMQX reads it as text/plain; only a single resource can be text, so a
  // read of an instance or object without the option is taken as TLV (the 1.0 default for those).
  const format = contentFormat ?? (path.length >= 3 ? ContentFormat.TEXT : ContentFormat.TLV);
  switch (format) {
    case ContentFormat.TEXT:
      return textToContent(registry, path, payload);
    case ContentFormat.OPAQUE:
      return opaqueToContent(path, payload);
    case ContentFormat.TLV:
    case ContentFormat.TLV_LEGACY:
      return tlvToContent(registry, path, payload);
    case ContentFormat.LWM2M_JSON:
    case ContentFormat.LWM2M_JSON_LEGACY:
      return lwm2mJsonToContent(path, payload);
    case ContentFormat.SENML_JSON:
      return senmlJsonToContent(payload);
    case ContentFormat.SENML_CBOR:
      return senmlCborToContent(payload);
    case ContentFormat.CBOR:
      return cborToContent(path, payload);
    default:
      throw new ContentError(`content format ${format} is not supported`);
  }
}

/**
 * Writes and creates go out as TLV for every LwM2M version: 1.1 devices must accept TLV too, and EMQX sends
 * nothing else (README.md, "Encoding writes").
 */
function encodeWrites(
  registry: ObjectRegistry,
  basePath: string,
  writes: readonly TypedWrite[],
): EncodedPayload {
  const base = parseRelative(stripQuery(basePath));
  if (base.length === 0 && writes.length !== 1) {
    throw new ContentError('a write of several values needs a basePath');
  }
  const values = writes.map((w) => typedValue(registry, base, w));
  const target = base.length === 0 ? values[0]!.path : base;
  if (target.length > 4) throw new ContentError(`basePath "${basePath}" is deeper than a resource instance`);
  return { contentFormat: ContentFormat.TLV, payload: contentToTlv(target, values) };
}

function typedValue(registry: ObjectRegistry, base: LwPath, write: TypedWrite): TypedValue {
  const path = resolve(base, write.path);
  if (path.length < 3) throw new ContentError(`"${write.path}" does not name a resource`);
  return { path, type: writeType(registry, path, write), value: write.value };
}

/**
 * A write's path is relative to the base (`13`, `/6/0`), the base itself when empty or equal to it, and
 * absolute when there is no base or when only the absolute reading names a resource (`/3/0/13` on `/3/0`).
 */
function resolve(base: LwPath, text: string): LwPath {
  const rel = parseRelative(stripQuery(text));
  if (base.length === 0) return checked(rel, text);
  const same = rel.length === base.length && rel.every((id, i) => id === base[i]);
  if (same && text.startsWith('/')) return base;
  const joined = [...base, ...rel];
  if (joined.length > 4 && text.startsWith('/') && base.every((id, i) => id === rel[i]))
    return checked(rel, text);
  return checked(joined, text);
}

function checked(path: LwPath, text: string): LwPath {
  if (path.length === 0 || path.length > 4) throw new ContentError(`"${text}" is not a path to a resource`);
  return path;
}

/** The command's type name wins (as in EMQX); the definition's type fills in when the name is missing. */
function writeType(registry: ObjectRegistry, path: LwPath, write: TypedWrite): ValueType {
  const named = typeof write.type === 'string' ? valueTypeOf(write.type) : undefined;
  if (named !== undefined) return named;
  if (typeof write.type === 'string' && write.type.trim() !== '') {
    throw new ContentError(`"${write.type}" is not a LwM2M data type`);
  }
  const def = resourceDefinition(registry, path);
  if (def.type === 'None')
    throw new ContentError(`resource ${def.id} (${def.name}) is executable and has no value`);
  return def.type;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

/** The contract: nothing but ContentError leaves the codec, whatever the payload or command holds. */
function guard<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ContentError) throw err;
    throw new ContentError(`content cannot be processed: ${(err as Error)?.message ?? String(err)}`);
  }
}
