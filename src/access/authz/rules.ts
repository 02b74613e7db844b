/**
 * Authorization rules, compiled once and matched per request: who (all, username, clientid, ipaddr,
 * client_attr, and/or), what (publish, subscribe, all, with qos/retain conditions) and which topics
 * (filters with placeholders, `eq` exact topics, or `all`). The first matching rule decides.
 */
import { BlockList, isIP } from 'node:net';
import { clientLookup } from '../../broker/placeholders.js';
import type { AuthzAction, ClientInfo } from '../../broker/types.js';
import { Template } from '../template.js';
import { isSysTopic } from './sys-publish.js';

export type Permission = 'allow' | 'deny';
export type ActionKind = 'publish' | 'subscribe' | 'all';

/** Decides whether a rule applies to a client. */
export type Who = (ci: ClientInfo) => boolean;

export interface TopicPattern {
  /** `eq`: the topic must be exactly this text (wildcards are literal). */
  eq: boolean;
  template: Template;
}

export interface Rule {
  permission: Permission;
  who: Who;
  action: ActionKind;
  /** Allowed QoS levels; undefined = any. */
  qos: readonly number[] | undefined;
  /** Retain flag a publish must have; undefined = any. Subscriptions ignore it. */
  retain: boolean | undefined;
  /** Topic patterns, or 'all' (every topic, $-topics included). */
  topics: readonly TopicPattern[] | 'all';
}

export const EVERYONE: Who = () => true;

/** The permission of the first rule that matches, or undefined. */
export function firstMatch(
  rules: readonly Rule[],
  ci: ClientInfo,
  action: AuthzAction,
  topic: string,
): Permission | undefined {
  let lookup: ((k: string) => string | undefined) | undefined;
  const sysPublish = action.action_type === 'publish' && isSysTopic(topic);
  for (const r of rules) {
    if (r.action !== 'all' && r.action !== action.action_type) continue;
    // A $SYS publish is granted only by an allow rule written for it (see sys-publish.ts).
    const explicitOnly = sysPublish && r.permission === 'allow';
    if (explicitOnly && (r.action !== 'publish' || r.topics === 'all')) continue;
    if (r.qos !== undefined && !r.qos.includes(action.qos)) continue;
    if (r.retain !== undefined && action.action_type === 'publish' && r.retain !== (action.retain === true))
      continue;
    if (!r.who(ci)) continue;
    if (r.topics === 'all') return r.permission;
    for (const t of r.topics) {
      let filter = t.template.source;
      if (!t.template.constant) {
        lookup ??= topicSafeLookup(ci);
        // A placeholder the client has no value for makes the pattern match nothing.
        const rendered = t.template.render(lookup, undefined, () => undefined);
        if (rendered === undefined) continue;
        filter = rendered;
      }
      if (explicitOnly && !isSysTopic(filter)) continue;
      if (t.eq ? filter === topic : aclTopicMatch(filter, topic)) return r.permission;
    }
  }
  return undefined;
}

/**
 * Client values for topic placeholders. A value that is empty or holds '/', '+', '#' or NUL counts as
 * missing: rendered into a filter it would widen the rule (a username '+' turning `${username}/#` into
 * `+/#`) or reach into another client's subtree.
 */
function topicSafeLookup(ci: ClientInfo): (k: string) => string | undefined {
  const base = clientLookup(ci);
  return (k) => {
    const v = base(k);
    return v === undefined || v === '' || /[/+#]/.test(v) || v.includes('\u0000') ? undefined : v;
  };
}

/**
 * Whether a rule filter covers a requested topic. The request may itself be a filter (SUBSCRIBE): its
 * wildcards count as literal words that only an equal or wider rule wildcard covers ('+' by '+' or '#',
 * '#' by '#'), so `allow subscribe a/+` does not grant `a/#`. Rule wildcards at the start do not cover
 * `$`-topics.
 */
export function aclTopicMatch(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const fw = f[i]!;
    if (fw === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    const tw = t[i]!;
    if (fw === '+') {
      if (tw === '#') return false;
      continue;
    }
    if (fw !== tw) return false;
  }
  return f.length === t.length;
}

/** A topic written in a rule: `eq t/#` (or {eq, "t/#"}) is exact; others are filters with placeholders. */
export function topicPattern(text: string, eq = false): TopicPattern {
  if (!eq && text.startsWith('eq ')) return { eq: true, template: new Template(text.slice(3)) };
  return { eq, template: new Template(text) };
}

/** Who-matcher for a username / clientid: exact text or a regular expression. */
export function fieldMatcher(field: 'username' | 'clientid', value: string | RegExp): Who {
  return (ci) => {
    const v = ci[field];
    if (typeof v !== 'string') return false;
    return typeof value === 'string' ? v === value : value.test(v);
  };
}

/** Who-matcher for a client attribute. */
export function attrMatcher(name: string, value: string | RegExp): Who {
  return (ci) => {
    const v = ci.client_attrs[name];
    if (v === undefined) return false;
    return typeof value === 'string' ? v === value : value.test(v);
  };
}

/** Who-matcher for peer addresses ("10.0.0.0/8", "127.0.0.1", "::1"). Throws on a bad address. */
export function ipMatcher(cidrs: readonly string[]): Who {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.trim().split('/');
    const family = isIP(addr ?? '');
    if (family === 0) throw new Error(`bad address ${JSON.stringify(c)}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr!, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
        throw new Error(`bad prefix in ${c}`);
      list.addSubnet(addr!, prefix, type);
    }
  }
  return (ci) => {
    // IPv4 clients of a dual-stack socket show up as ::ffff:a.b.c.d.
    const host =
      ci.peerhost.startsWith('::ffff:') && isIP(ci.peerhost.slice(7)) === 4
        ? ci.peerhost.slice(7)
        : ci.peerhost;
    const family = isIP(host);
    return family !== 0 && list.check(host, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** Parses a `qos` value of a raw rule: 1, [0,1], "0,1", "[0, 1]"; undefined/"" = any. */
export function parseQos(v: unknown): number[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const list = Array.isArray(v)
    ? v
    : typeof v === 'string'
      ? v
          .replace(/[[\]\s]/g, '')
          .split(',')
          .filter((x) => x !== '')
      : [v];
  const out = list.map((x) => Number(x));
  if (out.length === 0 || out.some((q) => !(q === 0 || q === 1 || q === 2)))
    throw new Error(`bad qos ${JSON.stringify(v)}`);
  return out;
}

/** Parses a `retain` value of a raw rule: true/false, 1/0, "true"/"false", "all"; undefined = any. */
export function parseRetain(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '' || v === 'all') return undefined;
  if (v === true || v === 1 || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === '0' || v === 'false') return false;
  throw new Error(`bad retain ${JSON.stringify(v)}`);
}

/** Parses an action name: publish, subscribe, all (and EMQX's short pub/sub). */
export function parseAction(v: unknown): ActionKind {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if (s === 'publish' || s === 'pub') return 'publish';
  if (s === 'subscribe' || s === 'sub') return 'subscribe';
  if (s === 'all' || s === 'pubsub') return 'all';
  throw new Error(`bad action ${JSON.stringify(v)}`);
}

/**
 * A rule from a database row, a built-in rule or a JWT claim: {permission, action, topic | topics, qos,
 * retain}. It applies to whoever the row was selected for.
 */
export function rawRule(row: Record<string, unknown>): Rule {
  const permission =
    typeof row.permission === 'string' ? row.permission.trim().toLowerCase() : row.permission;
  if (permission !== 'allow' && permission !== 'deny')
    throw new Error(`bad permission ${JSON.stringify(row.permission)}`);
  const topicsRaw = row.topics ?? row.topic;
  const list = Array.isArray(topicsRaw) ? topicsRaw : [topicsRaw];
  if (list.length === 0 || list.some((t) => typeof t !== 'string' || t === ''))
    throw new Error('a rule needs a topic');
  return {
    permission,
    who: EVERYONE,
    action: parseAction(row.action),
    qos: parseQos(row.qos),
    retain: parseRetain(row.retain),
    topics: (list as string[]).map((t) => topicPattern(t)),
  };
}

/** Compiles rows with `compile`, in row order, skipping (and reporting) the ones it refuses. */
export function compileRows(
  rows: readonly Record<string, unknown>[],
  compile: (row: Record<string, unknown>) => Rule,
  onBad?: (row: unknown, err: Error) => void,
): Rule[] {
  const out: Rule[] = [];
  for (const row of rows) {
    try {
      out.push(compile(row));
    } catch (err) {
      onBad?.(row, err as Error);
    }
  }
  return out;
}

/** Compiles rows of today's shape, skipping (and reporting) the bad ones. */
export function rawRules(
  rows: readonly Record<string, unknown>[],
  onBad?: (row: unknown, err: Error) => void,
): Rule[] {
  return compileRows(rows, rawRule, onBad);
}
