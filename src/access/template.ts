/**
 * `${name}` placeholders in access-control templates (SQL, Redis commands, LDAP filters, HTTP bodies, JWT
 * claims). A template is parsed once; every backend then turns the values into bound parameters or escapes
 * them for its own syntax, so a client-chosen value never changes the shape of a query.
 */
import { clientLookup } from '../broker/placeholders.js';
import type { ClientInfo, Credential } from '../broker/types.js';
import { translateLegacyPlaceholders } from './compat/legacy-placeholders.js';

/** A literal piece of text or a placeholder name. */
export type Segment = string | { readonly var: string };

/** Looks a placeholder up; undefined when the client has no such value. */
export type Lookup = (name: string) => string | undefined;

const PLACEHOLDER = /\$\{([A-Za-z0-9_.]+)\}/g;

/** A parsed template. */
export class Template {
  readonly segments: readonly Segment[];
  readonly vars: readonly string[];

  constructor(readonly source: string) {
    const segments: Segment[] = [];
    // EMQX 4.x's `%u`-style placeholders are read as their `${username}` equivalents.
    const text = translateLegacyPlaceholders(source);
    let last = 0;
    for (const m of text.matchAll(PLACEHOLDER)) {
      if (m.index > last) segments.push(text.slice(last, m.index));
      segments.push({ var: m[1]! });
      last = m.index + m[0].length;
    }
    if (last < text.length) segments.push(text.slice(last));
    this.segments = segments;
    this.vars = segments.flatMap((s) => (typeof s === 'string' ? [] : [s.var]));
  }

  /** True when the template has no placeholder. */
  get constant(): boolean {
    return this.vars.length === 0;
  }

  /**
   * Renders with `encode` applied to every value (not to the literal text). A missing value renders as ''
   * unless `missing` says otherwise; returning undefined from `missing` makes the whole render undefined.
   */
  render(
    lookup: Lookup,
    encode: (v: string) => string = identity,
    missing: () => string | undefined = empty,
  ): string | undefined {
    let out = '';
    for (const s of this.segments) {
      if (typeof s === 'string') {
        out += s;
        continue;
      }
      const v = lookup(s.var);
      if (v === undefined) {
        const m = missing();
        if (m === undefined) return undefined;
        out += m;
      } else out += encode(v);
    }
    return out;
  }

  /** Renders, with '' for missing values. */
  text(lookup: Lookup): string {
    return this.render(lookup) ?? '';
  }
}

const identity = (v: string) => v;
const empty = () => '';

/** A SQL statement with its placeholders turned into driver parameters. */
export interface SqlStatement {
  sql: string;
  /** Placeholder names, in parameter order. */
  params: readonly string[];
}

/**
 * Compiles a SQL template to `?` (mysql) or `$n` (postgresql) parameters. A placeholder written inside
 * quotes ('${username}') is treated the same: the quotes are dropped, the value is still bound.
 */
export function compileSql(source: string, style: 'mysql' | 'postgresql'): SqlStatement {
  const segs = [...new Template(source).segments];
  let sql = '';
  const params: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (typeof s === 'string') {
      sql += s;
      continue;
    }
    const quote = sql.at(-1);
    const next = segs[i + 1];
    if ((quote === "'" || quote === '"') && typeof next === 'string' && next.startsWith(quote)) {
      sql = sql.slice(0, -1);
      segs[i + 1] = next.slice(1);
    }
    params.push(s.var);
    sql += style === 'mysql' ? '?' : `$${params.length}`;
  }
  return { sql, params };
}

/** The values an authentication template may use: client fields, the password, the certificate PEM. */
export function credentialLookup(c: Credential): Lookup {
  const base = clientLookup(c);
  return (name) => {
    if (name === 'password') return c.password?.toString('utf8');
    if (name === 'cert_pem') return typeof c.cert_pem === 'string' ? c.cert_pem : undefined;
    return base(name);
  };
}

/** The values an authorization template may use: client fields plus the action being checked. */
export function actionLookup(
  ci: ClientInfo,
  action: { action_type: 'publish' | 'subscribe'; qos: number; retain?: boolean },
  topic: string,
  protoName: string,
): Lookup {
  const base = clientLookup(ci);
  return (name) => {
    switch (name) {
      case 'topic':
        return topic;
      case 'action':
        return action.action_type;
      case 'qos':
        return String(action.qos);
      case 'retain':
        return String(action.retain === true);
      case 'access':
        // EMQX's legacy numbering: 1 = subscribe, 2 = publish.
        return action.action_type === 'subscribe' ? '1' : '2';
      case 'proto_name':
        return protoName;
      case 'mountpoint':
        return ci.mountpoint;
      case 'cert_pem':
        return typeof ci.cert_pem === 'string' ? ci.cert_pem : undefined;
      default:
        return base(name);
    }
  };
}

/**
 * Renders every string leaf of a map template (HTTP bodies, MongoDB filters, JWT verify_claims). Values
 * stay strings: a client cannot turn `${username}` into an object or an operator.
 */
export function renderMap(map: unknown, lookup: Lookup): unknown {
  if (typeof map === 'string') return new Template(map).text(lookup);
  if (Array.isArray(map)) return map.map((v) => renderMap(v, lookup));
  if (map !== null && typeof map === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(map)) out[k] = renderMap(v, lookup);
    return out;
  }
  return map;
}
