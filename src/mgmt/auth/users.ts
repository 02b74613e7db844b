/** Dashboard administrators: username, scrypt password hash, role and description, kept in the store. */
import type { Db } from '../../store/db.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { hashPassword, randomToken, verifyPassword } from './secrets.js';

export const ROLES = ['administrator', 'viewer'] as const;

export interface DashboardUser {
  username: string;
  role: string;
  description: string;
  backend: 'local';
}

interface StoredUser {
  username: string;
  password: string;
  role: string;
  description: string;
  created_at: number;
}

const SCOPE = 'dashboard_users';
const USERNAME_RE = /^[A-Za-z0-9]+[A-Za-z0-9-_]*$/;

export class Users {
  constructor(private readonly db: Db) {}

  /** Creates the configured default administrator when there is no user at all (first boot). */
  async ensureDefault(username: string, password: string): Promise<void> {
    if (this.rows().length > 0) return;
    this.put({
      username,
      password: await hashPassword(password),
      role: 'administrator',
      description: 'administrator',
      created_at: Date.now(),
    });
  }

  list(): DashboardUser[] {
    return this.rows().map(publicView);
  }

  get(username: string): DashboardUser | undefined {
    const u = this.row(username);
    return u === undefined ? undefined : publicView(u);
  }

  /**
   * True when the credentials are right. An unknown user costs the same hash as a known one, so the
   * answer time does not tell which usernames exist.
   */
  async verify(username: string, password: string): Promise<boolean> {
    const u = this.row(username);
    if (u === undefined) {
      await verifyPassword(password, await dummyHash());
      return false;
    }
    return verifyPassword(password, u.password);
  }

  async create(
    username: string,
    password: string,
    role = 'administrator',
    description = '',
  ): Promise<DashboardUser> {
    if (username.length === 0 || username.length > 100 || !USERNAME_RE.test(username))
      throw badRequest(
        'Bad Username. Only upper and lower case letters, numbers and underscores are supported',
      );
    checkRole(role);
    checkPassword(password);
    if (this.row(username) !== undefined)
      throw badRequest(`username ${username} already exists`, 'ALREADY_EXISTS');
    const u: StoredUser = {
      username,
      password: await hashPassword(password),
      role,
      description,
      created_at: Date.now(),
    };
    this.put(u);
    return publicView(u);
  }

  async update(username: string, changes: { role?: string; description?: string }): Promise<DashboardUser> {
    const u = this.mustRow(username);
    if (changes.role !== undefined) checkRole(changes.role);
    const next = { ...u, role: changes.role ?? u.role, description: changes.description ?? u.description };
    this.put(next);
    return publicView(next);
  }

  /** Changes a password after checking the old one (`old` undefined: administrative reset, as `ctl admins passwd`). */
  async changePassword(username: string, old: string | undefined, next: string): Promise<void> {
    const u = this.mustRow(username);
    if (old !== undefined && !(await verifyPassword(old, u.password)))
      throw badRequest('Old password does not match', 'ERROR_PWD_NOT_MATCH');
    checkPassword(next);
    if (old === next)
      throw badRequest('The range of password length is 8~64 and must differ from the old one');
    this.put({ ...u, password: await hashPassword(next) });
  }

  delete(username: string): void {
    this.mustRow(username);
    if (
      this.rows().filter((r) => r.role === 'administrator').length <= 1 &&
      this.row(username)?.role === 'administrator'
    )
      throw new ApiError(400, 'NOT_ALLOWED', 'Cannot delete the last administrator');
    this.db.prepare('DELETE FROM kv WHERE scope = ? AND key = ?').run(SCOPE, username);
  }

  private mustRow(username: string): StoredUser {
    const u = this.row(username);
    if (u === undefined) throw notFound('User not found', 'USER_NOT_FOUND');
    return u;
  }

  private row(username: string): StoredUser | undefined {
    const r = this.db.prepare('SELECT value FROM kv WHERE scope = ? AND key = ?').get(SCOPE, username) as
      | { value: string }
      | undefined;
    return r === undefined ? undefined : (JSON.parse(r.value) as StoredUser);
  }

  private rows(): StoredUser[] {
    const rows = this.db.prepare('SELECT value FROM kv WHERE scope = ? ORDER BY key').all(SCOPE) as Array<{
      value: string;
    }>;
    return rows.map((r) => JSON.parse(r.value) as StoredUser);
  }

  private put(u: StoredUser): void {
    this.db
      .prepare('INSERT OR REPLACE INTO kv (scope, key, value) VALUES (?, ?, ?)')
      .run(SCOPE, u.username, JSON.stringify(u));
  }
}

let dummy: Promise<string> | undefined;

/** A hash of a random password made the same way as real ones (same algorithm and cost). */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomToken(16));
  return dummy;
}

function publicView(u: StoredUser): DashboardUser {
  return { username: u.username, role: u.role, description: u.description, backend: 'local' };
}

function checkRole(role: string): void {
  if (!(ROLES as readonly string[]).includes(role)) throw badRequest(`Role does not exist: ${role}`);
}

/** EMQX's rule: 8 to 64 characters of at least two kinds (letters, digits, other). */
function checkPassword(pw: string): void {
  if (pw.length < 8 || pw.length > 64) throw badRequest('The range of password length is 8~64');
  const kinds = [/[A-Za-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;
  if (kinds < 2)
    throw badRequest(
      'The password must contain at least two different kind of characters: letters, digits, special',
    );
}
