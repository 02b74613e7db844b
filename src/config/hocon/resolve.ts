/**
 * HOCON meaning, second half: substitutions are resolved against the whole tree (then the environment),
 * value concatenations become strings, arrays or merged objects, and layered values settle. The result is
 * plain JSON data.
 */

import type { ConcatV, MergeV, ObjV, SubstV, V } from './build.js';
import type { HoconError, Origin } from './errors.js';

/** Plain JSON data: what a resolved config is made of. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Marks a value that is not set (an optional substitution with nothing behind it). */
const UNSET = Symbol('unset');
/** Marks a value whose error is already reported, so the values built on it do not report it again. */
const FAILED = Symbol('failed');
type Out = Json | typeof UNSET | typeof FAILED;

class Cycle extends Error {}

/**
 * How many values may be resolved inside one another (substitution chains, `+=` layers, nesting). Real
 * configs stay far below; the bound turns a pathological file into an error instead of a stack overflow.
 */
export const MAX_RESOLVE_DEPTH = 1000;

class TooDeep extends Error {
  constructor(readonly origin: Origin) {
    super('too deep');
  }
}

/** Resolves one built tree; memoizes values and detects cycles. */
export class Resolver {
  private readonly memo = new Map<V, Out>();
  private readonly active = new Set<V>();
  private depth = 0;
  readonly errors: HoconError[] = [];

  constructor(
    private readonly root: ObjV,
    private readonly env: Record<string, string | undefined>,
  ) {}

  /** The whole tree as JSON; errors (unresolved or circular substitutions, bad concatenations) are collected. */
  resolveRoot(): { [key: string]: Json } {
    let out: Out;
    try {
      out = this.value(this.root);
    } catch (err) {
      if (!(err instanceof TooDeep)) throw err;
      this.fail(
        err.origin,
        `values nest more than ${MAX_RESOLVE_DEPTH} levels deep (substitutions, += or objects)`,
      );
      return {};
    }
    return typeof out === 'symbol' ? {} : (out as { [key: string]: Json });
  }

  private fail(origin: Origin, message: string): typeof FAILED {
    this.errors.push({ ...origin, message });
    return FAILED;
  }

  private value(v: V): Out {
    const known = this.memo.get(v);
    if (known !== undefined) return known;
    if (this.active.has(v)) throw new Cycle();
    if (this.depth >= MAX_RESOLVE_DEPTH) throw new TooDeep(v.origin);
    this.active.add(v);
    this.depth++;
    let out: Out;
    try {
      out = this.compute(v);
    } finally {
      this.active.delete(v);
      this.depth--;
    }
    this.memo.set(v, out);
    return out;
  }

  private compute(v: V): Out {
    switch (v.k) {
      case 'scalar':
        return v.value;
      case 'obj': {
        const out: { [key: string]: Json } = {};
        for (const [key, field] of v.fields) {
          const r = this.value(field);
          if (typeof r !== 'symbol') setOwn(out, key, r);
        }
        return out;
      }
      case 'arr': {
        const out: Json[] = [];
        for (const item of v.items) {
          const r = this.value(item);
          if (typeof r !== 'symbol') out.push(r);
        }
        return out;
      }
      case 'subst':
        return this.subst(v);
      case 'concat':
        return this.concat(v);
      case 'merge':
        return this.merge(v);
      case 'select': {
        const base = this.value(v.base);
        return typeof base === 'symbol' ? base : dig(base, v.path);
      }
    }
  }

  private subst(s: SubstV): Out {
    let found: Out = UNSET;
    try {
      if (s.prior !== undefined) {
        if (s.prior.base !== undefined) {
          const base = this.value(s.prior.base);
          found = typeof base === 'symbol' ? base : dig(base, s.prior.rest);
        }
      } else {
        // Inside an included file a path is first taken relative to where the file was included.
        if (s.includePrefix.length > 0) found = this.lookup([...s.includePrefix, ...s.path]);
        if (found === UNSET) found = this.lookup(s.path);
      }
    } catch (err) {
      if (!(err instanceof Cycle)) throw err;
      return this.fail(s.origin, `circular substitution ${s.text}`);
    }
    if (found !== UNSET) return found;
    const name = s.path.join('.');
    // Own keys only: with a plain object as the environment, ${constructor} must not find Object.
    const fromEnv = Object.hasOwn(this.env, name) ? this.env[name] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    if (s.optional) return UNSET;
    return this.fail(
      s.origin,
      `unresolved substitution ${s.text}: no such key and no environment variable ${name}`,
    );
  }

  /** Follows `path` from the root, resolving only what lies on the way (so an object may refer into itself). */
  private lookup(path: string[]): Out {
    let node: V = this.root;
    for (let n = 0; n < path.length; n++) {
      if (node.k !== 'obj') {
        const resolved = this.value(node);
        return typeof resolved === 'symbol' ? resolved : dig(resolved, path.slice(n));
      }
      const next = node.fields.get(path[n]!);
      if (next === undefined) return UNSET;
      node = next;
    }
    return this.value(node);
  }

  private concat(c: ConcatV): Out {
    const values: Array<{ v: Out; ws: boolean; text: string }> = c.parts.map((p) => {
      if (p.k === 'ws') return { v: p.text, ws: true, text: p.text };
      const v = this.value(p);
      return { v, ws: false, text: p.k === 'scalar' ? p.text : '' };
    });
    if (values.some((x) => x.v === FAILED)) return FAILED;
    const real = values.filter((x) => !x.ws && x.v !== UNSET);
    if (real.length === 0) return UNSET;
    const isObj = (x: Out) => x !== null && typeof x === 'object' && !Array.isArray(x);
    if (real.every((x) => Array.isArray(x.v))) return real.flatMap((x) => x.v as Json[]);
    if (real.every((x) => isObj(x.v))) {
      return real.reduce<Json>((acc, x) => mergeJson(acc, x.v as Json), {});
    }
    if (real.some((x) => Array.isArray(x.v) || isObj(x.v))) {
      return this.fail(c.origin, 'cannot concatenate an object or array with a string');
    }
    let out = '';
    for (const x of values) {
      if (x.ws) out += x.text;
      else if (x.v === UNSET || x.v === null) out += x.text === 'null' ? 'null' : '';
      else out += x.text !== '' ? x.text : String(x.v);
    }
    return out;
  }

  /** Topmost value wins; objects merge with the objects directly below them. */
  private merge(m: MergeV): Out {
    let acc: Out = UNSET;
    for (let n = m.layers.length - 1; n >= 0; n--) {
      const v = this.value(m.layers[n]!);
      if (v === FAILED) return FAILED;
      if (v === UNSET) continue;
      if (acc === UNSET) {
        acc = v;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return acc;
        continue;
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return acc;
      acc = mergeJson(v, acc);
    }
    return acc;
  }
}

/** `over` merged onto `base`: objects merge recursively, anything else replaces. */
export function mergeJson(base: Json, over: Json): Json {
  const isObj = (x: Json): x is { [key: string]: Json } =>
    x !== null && typeof x === 'object' && !Array.isArray(x);
  if (!isObj(base) || !isObj(over)) return over;
  const out: { [key: string]: Json } = { ...base };
  for (const [k, v] of Object.entries(over))
    setOwn(out, k, Object.hasOwn(out, k) ? mergeJson(out[k]!, v) : v);
  return out;
}

/**
 * Sets an own property: a config may name a key "__proto__", which a plain assignment would turn into a
 * prototype change (the key lost, inherited values appearing).
 */
function setOwn(obj: { [key: string]: Json }, key: string, value: Json): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

function dig(value: Json, path: string[]): Out {
  let cur: Json = value;
  for (const seg of path) {
    // Own keys only: `${a.constructor}` names nothing in the config.
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, seg))
      return UNSET;
    cur = cur[seg]!;
  }
  return cur;
}
