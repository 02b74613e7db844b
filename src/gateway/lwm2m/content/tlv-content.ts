// TLV payloads as EMQX's `content` entries and back: walks the TLV tree along the request path, types each
// leaf from the object definitions, and builds the tree a write or create sends.
import { ContentError, type ObjectRegistry, type PathValue } from './api.js';
import { UnknownObjectError } from './errors.js';
import { formatPath, type LwPath } from './path.js';
import { decodeTlv, encodeTlv, KIND_NAMES, type TlvEntry, TlvKind } from './tlv.js';
import { resourceDefinition, type TypedValue } from './typed.js';
import { jsonToTlv, tlvToJson } from './values.js';

/** Position in a path that an entry's id fills: instance 1, resource 2, resource instance 3. */
const LEVEL: Readonly<Record<TlvKind, number>> = {
  [TlvKind.ObjectInstance]: 1,
  [TlvKind.MultipleResource]: 2,
  [TlvKind.Resource]: 2,
  [TlvKind.ResourceInstance]: 3,
};

/**
 * Decodes a TLV answer to a request on `requestPath`. The entries' kinds say where they sit (object
 * instances under an object, resources under an instance…), the request path supplies the ids above them.
 */
export function tlvToContent(registry: ObjectRegistry, requestPath: LwPath, payload: Buffer): PathValue[] {
  if (registry.get(requestPath[0]!) === undefined) throw new UnknownObjectError(requestPath[0]!);
  const entries = decodeTlv(payload);
  const out: PathValue[] = [];
  if (entries.length === 0) return out;
  const level = LEVEL[entries[0]!.kind];
  if (requestPath.length < level) {
    throw new ContentError(
      `TLV ${KIND_NAMES[entries[0]!.kind]} answers a request on ${formatPath(requestPath)}, which does not say its parent`,
    );
  }
  const prefix = requestPath.slice(0, level);
  for (const e of entries) {
    if (LEVEL[e.kind] !== level) throw new ContentError('TLV mixes entries of different levels at its top');
    walk(registry, prefix, e, out);
  }
  return out;
}

function walk(registry: ObjectRegistry, prefix: LwPath, entry: TlvEntry, out: PathValue[]): void {
  const path = [...prefix, entry.id];
  if ('children' in entry) {
    for (const child of entry.children) walk(registry, path, child, out);
    return;
  }
  const def = resourceDefinition(registry, path);
  out.push({ path: formatPath(path), value: tlvToJson(def.type, entry.value) });
}

/**
 * The TLV a write or create on `target` sends: a resource (or resource instance) itself, a multiple
 * resource's instances, an instance's resources, or an object's instances. Every value's path starts with
 * `target`; a later value for the same path replaces an earlier one in place.
 */
export function contentToTlv(target: LwPath, values: readonly TypedValue[]): Buffer {
  if (values.length === 0) throw new ContentError('nothing to write');
  const atTarget = values.filter((v) => v.path.length === target.length);
  if (atTarget.length > 0) {
    if (atTarget.length !== values.length) {
      throw new ContentError(`a write on ${formatPath(target)} mixes its own value with values below it`);
    }
    if (target.length < 3) throw new ContentError(`${formatPath(target)} is not a resource and has no value`);
    const last = atTarget[atTarget.length - 1]!;
    const kind = target.length === 3 ? TlvKind.Resource : TlvKind.ResourceInstance;
    return encodeTlv([{ kind, id: target[target.length - 1]!, value: jsonToTlv(last.type, last.value) }]);
  }
  if (target.length === 3) {
    return encodeTlv([{ kind: TlvKind.MultipleResource, id: target[2]!, children: build(values, 3) }]);
  }
  return encodeTlv(build(values, target.length));
}

/** Entries for the ids at `depth` of the values' paths, grouped in order of first appearance. */
function build(values: readonly TypedValue[], depth: number): TlvEntry[] {
  const groups = new Map<number, TypedValue[]>();
  for (const v of values) {
    const id = v.path[depth]!;
    const group = groups.get(id);
    if (group === undefined) groups.set(id, [v]);
    else group.push(v);
  }
  const out: TlvEntry[] = [];
  for (const [id, group] of groups) {
    if (depth === 1) {
      if (group.some((v) => v.path.length < 3))
        throw new ContentError('an object instance has no value of its own');
      out.push({ kind: TlvKind.ObjectInstance, id, children: build(group, 2) });
    } else if (depth === 2 && group.every((v) => v.path.length === 4)) {
      out.push({ kind: TlvKind.MultipleResource, id, children: build(group, 3) });
    } else if (group.every((v) => v.path.length === depth + 1)) {
      const last = group[group.length - 1]!;
      const kind = depth === 2 ? TlvKind.Resource : TlvKind.ResourceInstance;
      out.push({ kind, id, value: jsonToTlv(last.type, last.value) });
    } else {
      throw new ContentError(`resource ${id} is written both as a whole and by instance`);
    }
  }
  return out;
}
