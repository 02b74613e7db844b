/**
 * HOCON meaning, first half: fields are applied in order into one tree, so a repeated key overrides or
 * merges exactly as the spec says, includes are spliced in place (relative to the including file), and
 * every key path remembers where it was last set. Substitutions stay unresolved here (resolve.ts).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { HoconSyntaxError, type Origin, type Position } from './errors.js';
import { type ArrayNode, type ObjectNode, parseDocument, type ValueNode } from './parser.js';

/** An object whose fields are known. */
export interface ObjV {
  k: 'obj';
  fields: Map<string, V>;
  origin: Origin;
}
/** An array (items may still hold substitutions). */
export interface ArrV {
  k: 'arr';
  items: V[];
  origin: Origin;
}
/** A string, number, boolean or null, with its text as written. */
export interface ScalarV {
  k: 'scalar';
  value: string | number | boolean | null;
  text: string;
  origin: Origin;
}
/** The previous value of the field a self-referential substitution sits in (`a = ${a} [x]`). */
export interface Prior {
  /** The value the field had before this assignment (undefined: it had none). */
  base: V | undefined;
  /** Path below `base` the substitution names. */
  rest: string[];
}
/** `${path}` or `${?path}`, resolved after the whole tree is built. */
export interface SubstV {
  k: 'subst';
  path: string[];
  optional: boolean;
  text: string;
  /** Path of the object the including file was included at: `${x}` there means `${prefix.x}` first. */
  includePrefix: string[];
  prior?: Prior;
  origin: Origin;
}
/** Values written next to each other on one line: a string, an array or an object, decided when resolved. */
export interface ConcatV {
  k: 'concat';
  parts: Array<V | { k: 'ws'; text: string }>;
  origin: Origin;
}
/** A later value over an earlier one whose kind is not known yet (objects merge, anything else wins). */
export interface MergeV {
  k: 'merge';
  /** Bottom (earliest) first. */
  layers: V[];
  origin: Origin;
}
/** A path inside a value whose kind is not known yet. */
export interface SelectV {
  k: 'select';
  base: V;
  path: string[];
  origin: Origin;
}
/** A value of the tree being built. */
export type V = ObjV | ArrV | ScalarV | SubstV | ConcatV | MergeV | SelectV;

/** Where the fields being applied come from and where they go. */
export interface BuildContext {
  /** The file's name as shown in messages. */
  file: string;
  /** Directory includes are relative to. */
  dir: string;
  /** Path of the object being filled, from the root. */
  prefix: string[];
  includePrefix: string[];
  /** Real paths of the files being included, to refuse cycles. */
  stack: string[];
  root: ObjV;
  origins: Map<string, Origin>;
  warnings: string[];
  display: (absPath: string) => string;
}

/** Reads a file and applies its fields into `ctx.root` (at `ctx.prefix`). */
export function applyDocument(target: ObjV, doc: ObjectNode, ctx: BuildContext): void {
  for (const item of doc.items) {
    if (item.type === 'include') includeFile(target, item.target, item.required, item.scheme, item.pos, ctx);
    else applyField(target, item.path, item.op, item.value, item.pos, ctx);
  }
}

function at(ctx: BuildContext, pos: Position): Origin {
  return { file: ctx.file, line: pos.line, col: pos.col };
}

/** Records where a key was set: the leaf always (later wins), its parents only the first time. */
function note(ctx: BuildContext, path: string[], origin: Origin): void {
  for (let n = 1; n < path.length; n++) {
    const key = path.slice(0, n).join('.');
    if (!ctx.origins.has(key)) ctx.origins.set(key, origin);
  }
  ctx.origins.set(path.join('.'), origin);
}

/** The value at `path` (from the root) before the current assignment, for self-references. */
function priorAt(root: ObjV, path: string[]): V | undefined {
  let node: V = root;
  for (let n = 0; n < path.length; n++) {
    if (node.k !== 'obj') return { k: 'select', base: node, path: path.slice(n), origin: node.origin };
    const next = node.fields.get(path[n]!);
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

function isUnresolved(v: V): boolean {
  return v.k === 'subst' || v.k === 'concat' || v.k === 'merge' || v.k === 'select';
}

/** Sets `key` of `obj` to `value` with HOCON's rule: a known non-object wins, anything unresolved layers. */
function setField(obj: ObjV, key: string, value: V): void {
  const existing = obj.fields.get(key);
  if (existing !== undefined && isUnresolved(value)) {
    obj.fields.set(key, { k: 'merge', layers: [existing, value], origin: value.origin });
  } else {
    obj.fields.set(key, value);
  }
}

/** The object `key` of `obj` that new fields go into, creating or layering one as needed. */
function childObject(obj: ObjV, key: string, origin: Origin): ObjV {
  const existing = obj.fields.get(key);
  if (existing?.k === 'obj') return existing;
  const fresh: ObjV = { k: 'obj', fields: new Map(), origin };
  if (existing !== undefined && isUnresolved(existing)) {
    obj.fields.set(key, { k: 'merge', layers: [existing, fresh], origin });
  } else {
    obj.fields.set(key, fresh);
  }
  return fresh;
}

function applyField(
  target: ObjV,
  path: string[],
  op: '=' | '+=',
  value: ValueNode,
  pos: Position,
  ctx: BuildContext,
): void {
  const origin = at(ctx, pos);
  const full = [...ctx.prefix, ...path];
  note(ctx, full, origin);
  const prior = priorAt(ctx.root, full);
  let container: ObjV | ArrV = target;
  for (let n = 0; n < path.length - 1; n++)
    container = childContainer(container, path[n]!, path[n + 1], origin);
  const leaf = path[path.length - 1]!;
  if (container.k === 'arr') {
    setElement(container, elementIndex(container, leaf)!, op, value, prior, full, { ...ctx, prefix: full });
    return;
  }
  const obj = container;
  if (op === '=' && value.type === 'object') {
    // Fill the existing object in place: repeated keys then merge in file order, and nested
    // self-references see the values set before them.
    applyDocument(childObject(obj, leaf, origin), value, { ...ctx, prefix: full });
    return;
  }
  let v = build(value, { ...ctx, prefix: full });
  if (op === '+=') {
    const self: SubstV = {
      k: 'subst',
      path: full,
      optional: true,
      text: `\${?${full.join('.')}}`,
      includePrefix: [],
      origin,
    };
    v = { k: 'concat', parts: [self, { k: 'arr', items: [v], origin }], origin };
  }
  markSelfReferences(v, full, prior);
  setField(obj, leaf, v);
}

/**
 * The 0-based element an EMQX-style 1-based path segment names (`authentication.1.enable`), or undefined
 * when `seg` is not an index within the array; HOCON then treats it as an ordinary key.
 */
function elementIndex(arr: ArrV, seg: string | undefined): number | undefined {
  if (seg === undefined || !/^[1-9][0-9]*$/.test(seg)) return undefined;
  const n = Number(seg);
  return n <= arr.items.length ? n - 1 : undefined;
}

/** Where the next path segment goes: an object field, or an array element addressed by its 1-based index. */
function childContainer(c: ObjV | ArrV, seg: string, next: string | undefined, origin: Origin): ObjV | ArrV {
  if (c.k === 'arr') {
    const i = elementIndex(c, seg)!;
    const item = c.items[i]!;
    if (item.k === 'obj' || (item.k === 'arr' && elementIndex(item, next) !== undefined)) return item;
    const fresh: ObjV = { k: 'obj', fields: new Map(), origin };
    c.items[i] = fresh;
    return fresh;
  }
  const existing = c.fields.get(seg);
  if (existing?.k === 'arr' && elementIndex(existing, next) !== undefined) return existing;
  return childObject(c, seg, origin);
}

/** Assigns to one array element in place: an object merges into an object element, anything else replaces it. */
function setElement(
  arr: ArrV,
  i: number,
  op: '=' | '+=',
  value: ValueNode,
  prior: V | undefined,
  full: string[],
  ctx: BuildContext,
): void {
  const item = arr.items[i]!;
  if (op === '=' && value.type === 'object' && item.k === 'obj') {
    applyDocument(item, value, ctx);
    return;
  }
  const v = build(value, ctx);
  markSelfReferences(v, full, prior);
  arr.items[i] = v;
}

/** Points substitutions of the field's own path (or below it) at the value the field had before. */
function markSelfReferences(v: V, full: string[], prior: V | undefined): void {
  const visit = (node: V): void => {
    switch (node.k) {
      case 'subst': {
        const abs = [...node.includePrefix, ...node.path];
        if (abs.length >= full.length && full.every((seg, n) => abs[n] === seg)) {
          node.prior = { base: prior, rest: abs.slice(full.length) };
        }
        return;
      }
      case 'concat':
        for (const p of node.parts) if (p.k !== 'ws') visit(p);
        return;
      case 'arr':
        node.items.forEach(visit);
        return;
      case 'merge':
        node.layers.forEach(visit);
        return;
      default:
    }
  };
  visit(v);
}

/** A value that is not applied in place: arrays, scalars, substitutions, concatenations. */
export function build(node: ValueNode, ctx: BuildContext): V {
  const origin = at(ctx, node.pos);
  switch (node.type) {
    case 'scalar':
      return { k: 'scalar', value: node.value, text: node.text, origin };
    case 'subst':
      return {
        k: 'subst',
        path: node.path,
        optional: node.optional,
        text: node.text,
        includePrefix: ctx.includePrefix,
        origin,
      };
    case 'array':
      return buildArray(node, ctx);
    case 'object': {
      const obj: ObjV = { k: 'obj', fields: new Map(), origin };
      applyDocument(obj, node, ctx);
      return obj;
    }
    case 'concat':
      return {
        k: 'concat',
        parts: node.parts.map((p) => (p.type === 'ws' ? { k: 'ws' as const, text: p.text } : build(p, ctx))),
        origin,
      };
  }
}

function buildArray(node: ArrayNode, ctx: BuildContext): ArrV {
  // Objects inside arrays are not addressable by path, so they get no origins of their own.
  const inner = { ...ctx, origins: new Map<string, Origin>() };
  return { k: 'arr', items: node.items.map((i) => build(i, inner)), origin: at(ctx, node.pos) };
}

function includeFile(
  target: ObjV,
  name: string,
  required: boolean,
  scheme: 'file' | 'url' | 'classpath',
  pos: Position,
  ctx: BuildContext,
): void {
  if (scheme !== 'file') {
    throw new HoconSyntaxError(ctx.file, pos, `include ${scheme}(…) is not supported; use include file("…")`);
  }
  const abs = isAbsolute(name) ? name : resolvePath(ctx.dir, name);
  if (!existsSync(abs)) {
    const shown = ctx.display(abs);
    if (required) throw new HoconSyntaxError(ctx.file, pos, `cannot include "${name}": ${shown} not found`);
    ctx.warnings.push(
      `${ctx.file}:${pos.line}: included file "${name}" not found (${shown}); ignored as HOCON specifies. ` +
        'Write include required("…") to make it an error.',
    );
    return;
  }
  const real = realpathSync(abs);
  if (ctx.stack.includes(real)) {
    throw new HoconSyntaxError(ctx.file, pos, `include cycle: "${name}" is already being included`);
  }
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new HoconSyntaxError(ctx.file, pos, `cannot include "${name}": ${(err as Error).message}`);
  }
  const file = ctx.display(abs);
  applyDocument(target, parseDocument(text, file), {
    ...ctx,
    file,
    dir: dirname(abs),
    includePrefix: ctx.prefix,
    stack: [...ctx.stack, real],
  });
}
