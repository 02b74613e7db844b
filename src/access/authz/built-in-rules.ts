/**
 * Rules of the built_in_database source: per username, per client id, and for all clients, kept in the
 * node's store and compiled in memory (the check runs on every uncached publish).
 */
import type { AuthzAction, ClientInfo } from '../../broker/types.js';
import type { Db } from '../../store/db.js';
import { AuthzError } from './errors.js';
import { firstMatch, type Permission, type Rule, rawRule } from './rules.js';

export type WhoType = 'username' | 'clientid' | 'all';

/** A rule as the API reads and writes it. */
export interface RuleItem {
  topic: string;
  permission: 'allow' | 'deny';
  action: 'publish' | 'subscribe' | 'all';
  qos: number[];
  retain: boolean | 'all';
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS authz_builtin_rules (
    who_type TEXT NOT NULL, who TEXT NOT NULL, rules TEXT NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (who_type, who)
  );
`;

export class BuiltInRules {
  private readonly compiled = new Map<string, Rule[]>();
  /** Rules allowed per user/client (the source's max_rules). */
  maxRules = 100;

  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
    const rows = db.prepare('SELECT who_type, who, rules FROM authz_builtin_rules').all() as Array<{
      who_type: WhoType;
      who: string;
      rules: string;
    }>;
    for (const r of rows)
      this.compiled.set(key(r.who_type, r.who), compile(JSON.parse(r.rules) as RuleItem[]));
  }

  /** The first matching rule among the client's username rules, client id rules, then rules for all. */
  check(ci: ClientInfo, action: AuthzAction, topic: string): Permission | undefined {
    for (const k of [
      ci.username === undefined ? undefined : key('username', ci.username),
      key('clientid', ci.clientid),
      key('all', ''),
    ]) {
      if (k === undefined) continue;
      const rules = this.compiled.get(k);
      if (rules === undefined) continue;
      const p = firstMatch(rules, ci, action, topic);
      if (p !== undefined) return p;
    }
    return undefined;
  }

  /** Entries of one kind, ordered by creation; `like` matches a substring of the name. */
  list(type: WhoType, like?: string): Array<{ who: string; rules: RuleItem[] }> {
    const rows = this.db
      .prepare(
        'SELECT who, rules FROM authz_builtin_rules WHERE who_type = ? AND (? IS NULL OR instr(who, ?) > 0) ORDER BY created_at, rowid',
      )
      .all(type, like ?? null, like ?? null) as Array<{ who: string; rules: string }>;
    return rows.map((r) => ({ who: r.who, rules: JSON.parse(r.rules) as RuleItem[] }));
  }

  get(type: WhoType, who: string): RuleItem[] | undefined {
    const r = this.db
      .prepare('SELECT rules FROM authz_builtin_rules WHERE who_type = ? AND who = ?')
      .get(type, who) as { rules: string } | undefined;
    return r === undefined ? undefined : (JSON.parse(r.rules) as RuleItem[]);
  }

  /** Sets (replaces) the rules of one user / client / all; validates every rule first. */
  set(type: WhoType, who: string, rules: readonly Partial<RuleItem>[]): RuleItem[] {
    if (rules.length > this.maxRules)
      throw new AuthzError('BAD_REQUEST', `too many rules (max_rules is ${this.maxRules})`);
    const items = rules.map(normalize);
    const compiledRules = compile(items);
    this.db
      .prepare(
        `INSERT INTO authz_builtin_rules (who_type, who, rules, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (who_type, who) DO UPDATE SET rules = excluded.rules`,
      )
      .run(type, who, JSON.stringify(items), Date.now());
    this.compiled.set(key(type, who), compiledRules);
    return items;
  }

  delete(type: WhoType, who: string): boolean {
    this.compiled.delete(key(type, who));
    return (
      this.db.prepare('DELETE FROM authz_builtin_rules WHERE who_type = ? AND who = ?').run(type, who)
        .changes > 0
    );
  }

  /** Removes every rule (of one kind, or all). */
  clear(type?: WhoType): void {
    if (type === undefined) {
      this.db.prepare('DELETE FROM authz_builtin_rules').run();
      this.compiled.clear();
      return;
    }
    this.db.prepare('DELETE FROM authz_builtin_rules WHERE who_type = ?').run(type);
    for (const k of [...this.compiled.keys()]) if (k.startsWith(`${type}\u0000`)) this.compiled.delete(k);
  }
}

function key(type: WhoType, who: string): string {
  return `${type}\u0000${who}`;
}

/** Fills the API defaults (qos [0,1,2], retain all) and checks the rule. */
function normalize(r: Partial<RuleItem>): RuleItem {
  const item: RuleItem = {
    topic: r.topic ?? '',
    permission: r.permission as 'allow' | 'deny',
    action: r.action as RuleItem['action'],
    qos: r.qos ?? [0, 1, 2],
    retain: r.retain ?? 'all',
  };
  try {
    rawRule(item as unknown as Record<string, unknown>);
  } catch (err) {
    throw new AuthzError('BAD_REQUEST', `bad rule ${JSON.stringify(r)}: ${(err as Error).message}`);
  }
  return item;
}

function compile(items: readonly RuleItem[]): Rule[] {
  return items.map((i) => rawRule(i as unknown as Record<string, unknown>));
}
