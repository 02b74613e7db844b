/**
 * Users of built-in authenticators in the node's SQLite store, one group per authenticator
 * ('<chain>/<id>'). The secret columns differ by mechanism (password_hash/salt, or SCRAM keys).
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../../../store/db.js';
import type { UserInfo } from '../types.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS authn_users (
    user_group TEXT NOT NULL, user_id TEXT NOT NULL,
    password_hash TEXT NOT NULL, salt TEXT NOT NULL, is_superuser INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_group, user_id)
  );
  CREATE TABLE IF NOT EXISTS authn_scram_users (
    user_group TEXT NOT NULL, user_id TEXT NOT NULL,
    stored_key TEXT NOT NULL, server_key TEXT NOT NULL, salt TEXT NOT NULL, iterations INTEGER NOT NULL,
    is_superuser INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
    PRIMARY KEY (user_group, user_id)
  );
`;

export type UserRow = UserInfo & Record<string, string | number | boolean>;

/**
 * The most rows a group keeps for logins. A row is a few hundred bytes (a pbkdf2-sha512 hash is 128 hex
 * characters), so a full cache stays under ~2 MB; past it the oldest entry goes (a miss only costs the SELECT).
 */
const LOGIN_CACHE_MAX = 4096;

/**
 * Login rows per database and `table/group`, shared by every UserTable of that group: an authenticator being
 * replaced (a config update) and its successor see each other's writes, and a write through either forgets
 * the row in both.
 */
const loginCaches = new WeakMap<Db, Map<string, Map<string, Readonly<UserRow>>>>();

function loginCacheOf(db: Db, key: string): Map<string, Readonly<UserRow>> {
  let byGroup = loginCaches.get(db);
  if (byGroup === undefined) {
    byGroup = new Map();
    loginCaches.set(db, byGroup);
  }
  let cache = byGroup.get(key);
  if (cache === undefined) {
    cache = new Map();
    byGroup.set(key, cache);
  }
  return cache;
}

/** One group's rows in one table. */
export class UserTable {
  /**
   * The login lookup, compiled once: better-sqlite3's prepare() compiles the SQL on every call, which was
   * 5 % of the broker's CPU in a pbkdf2-authenticated CONNECT (--cpu-prof, 2026-12-04).
   */
  private readonly byId: Statement<[string, string]>;
  /** Rows read for logins, until a write to that user (see loginRow). */
  private readonly loginCache: Map<string, Readonly<UserRow>>;

  constructor(
    private readonly db: Db,
    private readonly table: 'authn_users' | 'authn_scram_users',
    private readonly group: string,
    private readonly secretColumns: readonly string[],
  ) {
    db.exec(SCHEMA);
    this.byId = db.prepare(`SELECT * FROM ${table} WHERE user_group = ? AND user_id = ?`);
    this.loginCache = loginCacheOf(db, `${table}/${group}`);
  }

  get(userId: string): UserRow | undefined {
    const r = this.byId.get(this.group, userId) as Record<string, string | number> | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  /**
   * A user's row for a login check, from memory when an earlier login read it. Every write goes through this
   * class (the node's store has no other writer) and forgets the row first, so a cached row is the stored one.
   * The SELECT and the row object cost 6.5–10 µs of broker CPU per CONNECT in a pbkdf2 login (--cpu-prof,
   * 2026-12-05), ~0.1 µs from the map. Unknown users are not kept (a stream of made-up names would only evict
   * known ones). The API's reads (get) stay on the table.
   */
  loginRow(userId: string): Readonly<UserRow> | undefined {
    const cached = this.loginCache.get(userId);
    if (cached !== undefined) return cached;
    const row = this.get(userId);
    if (row === undefined) return undefined;
    if (this.loginCache.size >= LOGIN_CACHE_MAX) {
      // Map iteration is insertion order: the first key is the oldest entry.
      for (const oldest of this.loginCache.keys()) {
        this.loginCache.delete(oldest);
        break;
      }
    }
    const frozen = Object.freeze(row);
    this.loginCache.set(userId, frozen);
    return frozen;
  }

  /** Users in insertion order; `like` matches a substring of the id. */
  list(filter: { like_user_id?: string; is_superuser?: boolean }): UserInfo[] {
    const rows = this.db
      .prepare(
        `SELECT user_id, is_superuser FROM ${this.table} WHERE user_group = ?
           AND (? IS NULL OR instr(user_id, ?) > 0) AND (? IS NULL OR is_superuser = ?)
         ORDER BY created_at, rowid`,
      )
      .all(
        this.group,
        filter.like_user_id ?? null,
        filter.like_user_id ?? null,
        filter.is_superuser === undefined ? null : 1,
        filter.is_superuser === true ? 1 : 0,
      ) as Array<{ user_id: string; is_superuser: number }>;
    return rows.map((r) => ({ user_id: r.user_id, is_superuser: r.is_superuser === 1 }));
  }

  /** Inserts or replaces a user's secrets (keeping its position when it existed). */
  put(userId: string, secrets: Record<string, string | number>, isSuperuser: boolean): void {
    const cols = this.secretColumns;
    const values = cols.map((c) => secrets[c] ?? '');
    this.loginCache.delete(userId);
    this.db
      .prepare(
        `INSERT INTO ${this.table} (user_group, user_id, ${cols.join(', ')}, is_superuser, created_at)
         VALUES (?, ?, ${cols.map(() => '?').join(', ')}, ?, ?)
         ON CONFLICT (user_group, user_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')},
           is_superuser = excluded.is_superuser`,
      )
      .run(this.group, userId, ...values, isSuperuser ? 1 : 0, Date.now());
  }

  setSuperuser(userId: string, isSuperuser: boolean): void {
    this.loginCache.delete(userId);
    this.db
      .prepare(`UPDATE ${this.table} SET is_superuser = ? WHERE user_group = ? AND user_id = ?`)
      .run(isSuperuser ? 1 : 0, this.group, userId);
  }

  delete(userId: string): boolean {
    this.loginCache.delete(userId);
    return (
      this.db
        .prepare(`DELETE FROM ${this.table} WHERE user_group = ? AND user_id = ?`)
        .run(this.group, userId).changes > 0
    );
  }

  /** Removes the whole group (the authenticator was deleted). */
  drop(): void {
    this.loginCache.clear();
    this.db.prepare(`DELETE FROM ${this.table} WHERE user_group = ?`).run(this.group);
  }

  /** Runs `fn` in one transaction (imports). */
  transaction<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn)();
    } finally {
      // A row read for a login inside the transaction may have been rolled back since.
      this.loginCache.clear();
    }
  }
}

function toRow(r: Record<string, string | number>): UserRow {
  const { user_group: _g, created_at: _c, ...rest } = r;
  return { ...rest, user_id: String(r.user_id), is_superuser: r.is_superuser === 1 } as UserRow;
}
