// The contract between the LwM2M gateway (registration, commands, queue mode) and the data layer
// (content formats and object definitions). Two parts of one gateway, built side by side: the gateway
// only ever calls what this file declares, so each side can change its internals freely.

/** CoAP Content-Format numbers LwM2M devices use, with the pre-registration numbers of LwM2M 1.0 devices. */
export const ContentFormat = {
  TEXT: 0,
  LINK_FORMAT: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  TLV: 11542,
  LWM2M_JSON: 11543,
  /** Numbers used by LwM2M 1.0 drafts and still sent by older devices. */
  TLV_LEGACY: 1542,
  LWM2M_JSON_LEGACY: 1543,
} as const;

/** Resource data types of the OMA object definitions (the `<Type>` element). */
export type ResourceType =
  | 'String'
  | 'Integer'
  | 'Unsigned Integer'
  | 'Float'
  | 'Boolean'
  | 'Opaque'
  | 'Time'
  | 'Objlnk'
  | 'Corelnk'
  | 'None';

export interface ResourceDefinition {
  readonly id: number;
  readonly name: string;
  /** `R`, `W`, `RW`, `E` or empty, as the XML says. */
  readonly operations: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly type: ResourceType;
  readonly units?: string;
  readonly rangeEnumeration?: string;
  readonly description?: string;
}

export interface ObjectDefinition {
  readonly id: number;
  readonly name: string;
  readonly urn?: string;
  readonly objectVersion?: string;
  readonly lwm2mVersion?: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly description?: string;
  readonly resources: ReadonlyMap<number, ResourceDefinition>;
}

/** Object definitions loaded from the shipped XML plus `xml_dir` (which adds or overrides by object id). */
export interface ObjectRegistry {
  get(objectId: number): ObjectDefinition | undefined;
  resource(objectId: number, resourceId: number): ResourceDefinition | undefined;
  all(): Iterable<ObjectDefinition>;
}

/**
 * A value as it appears in EMQX's JSON on MQTT: numbers for Integer/Float/Time, booleans, strings for
 * String, `"<obj>:<inst>"` for Objlnk, base64 for Opaque (see the data layer's README for each rule).
 */
export type JsonValue = string | number | boolean;

/** One entry of a response/notify `content` array: `{path: "/3/0/0", value: ...}`. */
export interface PathValue {
  readonly path: string;
  readonly value: JsonValue;
}

/** One entry of a write/create command as MQTT applications send it: `{path, type, value}`. */
export interface TypedWrite {
  /** Relative to the command's `basePath` when it has one (e.g. `/0` or `0`), else absolute. */
  readonly path: string;
  /** `Integer`, `Float`, `Time`, `String`, `Boolean`, `Opaque`, `Objlnk` (EMQX's names). */
  readonly type: string;
  readonly value: JsonValue;
}

/** A decode or encode that cannot be done; the gateway answers the command with `message` as the error. */
export class ContentError extends Error {
  override readonly name = 'ContentError';
}

export interface EncodedPayload {
  readonly contentFormat: number;
  readonly payload: Buffer;
}

export interface ContentCodec {
  /**
   * Decodes a device's answer (read, observe notification) for `requestPath` (`/3`, `/3/0`, `/3/0/1`,
   * `/3/0/1/2`) into EMQX's `content` entries, values typed from the object definitions.
   * Throws ContentError for malformed payloads or unsupported formats; never anything else.
   */
  decode(requestPath: string, contentFormat: number | undefined, payload: Buffer): PathValue[];
  /**
   * Encodes the values of a write (single or batch) or create for `basePath`, in TLV for LwM2M 1.0
   * devices and TLV (or SenML when the device asks for it) for 1.1. Throws ContentError.
   */
  encode(basePath: string, writes: readonly TypedWrite[], lwm2mVersion: string): EncodedPayload;
}

/** One link of a CoRE link-format document (registration payload, discover answer). */
export interface Link {
  readonly target: string;
  readonly params: ReadonlyMap<string, string | true>;
}
