// The value of one resource (or resource instance) with the type it is encoded with: what every encoder takes.
import type { JsonValue, ObjectRegistry, ResourceDefinition } from './api.js';
import { UnknownObjectError, UnknownResourceError } from './errors.js';
import type { LwPath } from './path.js';
import type { ValueType } from './values.js';

export interface TypedValue {
  /** 3 ids (resource) or 4 (resource instance). */
  readonly path: LwPath;
  readonly type: ValueType;
  readonly value: JsonValue;
}

/** The definition of the resource a path of 3 or 4 ids names; throws when the registry has none. */
export function resourceDefinition(registry: ObjectRegistry, path: LwPath): ResourceDefinition {
  const object = registry.get(path[0]!);
  if (object === undefined) throw new UnknownObjectError(path[0]!);
  const resource = object.resources.get(path[2]!);
  if (resource === undefined) throw new UnknownResourceError(path[0]!, path[2]!);
  return resource;
}
