/**
 * The `mqtt_acl` rows of EMQX 3.x/4.x's MySQL and PostgreSQL plugins: columns allow (1 allow, 0 deny),
 * ipaddr, username (`$all` = every client), clientid, access (1 subscribe, 2 publish, 3 both) and topic
 * (a filter, `eq <topic>` for an exact topic, `%u`/`%c` standing for the client's own values). A row applies
 * to a client when every one of ipaddr, username and clientid it fills matches; rows are tried in the order
 * the query returned them and the first that matches decides, as 4.x did.
 */
import {
  type ActionKind,
  compileRows,
  EVERYONE,
  fieldMatcher,
  ipMatcher,
  type Rule,
  topicPattern,
  type Who,
} from '../authz/rules.js';

/** True when the rows have 4.x's shape (allow and access columns) rather than EMQX 5's. */
export function isLegacyAclRows(rows: readonly Record<string, unknown>[]): boolean {
  const first = rows[0];
  return first !== undefined && 'allow' in first && 'access' in first && !('permission' in first);
}

const ACCESS: Readonly<Record<string, ActionKind>> = { '1': 'subscribe', '2': 'publish', '3': 'all' };

/** 4.x's access number (1 subscribe, 2 publish, 3 both) as an action; undefined for anything else. */
export function legacyAccess(value: unknown): ActionKind | undefined {
  const key = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  return Object.hasOwn(ACCESS, key) ? ACCESS[key] : undefined;
}

function filled(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  return s === '' ? undefined : s;
}

function whoOf(row: Record<string, unknown>): Who {
  const username = filled(row.username);
  if (username === '$all') return EVERYONE;
  const parts: Who[] = [];
  const ip = filled(row.ipaddr);
  if (ip !== undefined) parts.push(ipMatcher([ip]));
  if (username !== undefined) parts.push(fieldMatcher('username', username));
  const clientid = filled(row.clientid);
  if (clientid !== undefined) parts.push(fieldMatcher('clientid', clientid));
  if (parts.length === 0) throw new Error('the row names no ipaddr, username or clientid');
  return parts.length === 1 ? parts[0]! : (ci) => parts.every((w) => w(ci));
}

/** One 4.x row as a rule; throws (with the reason) on a row 4.x would have refused too. */
export function legacyAclRule(row: Record<string, unknown>): Rule {
  const allow = filled(row.allow);
  if (allow !== '0' && allow !== '1')
    throw new Error(`allow must be 0 or 1, got ${JSON.stringify(row.allow)}`);
  const action = legacyAccess(row.access);
  if (action === undefined) throw new Error(`access must be 1, 2 or 3, got ${JSON.stringify(row.access)}`);
  const topic = filled(row.topic);
  if (topic === undefined) throw new Error('the row has no topic');
  return {
    permission: allow === '1' ? 'allow' : 'deny',
    who: whoOf(row),
    action,
    qos: undefined,
    retain: undefined,
    topics: [topicPattern(topic)],
  };
}

/** The rules of 4.x rows, in row order; a bad row is reported and skipped. */
export function legacyAclRules(
  rows: readonly Record<string, unknown>[],
  onBad?: (row: unknown, err: Error) => void,
): Rule[] {
  return compileRows(rows, legacyAclRule, onBad);
}
