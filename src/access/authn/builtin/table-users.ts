/**
 * What the user stores of built-in authenticators share: users in a UserTable, secrets derived from the
 * password by the mechanism (a password hash, or SCRAM keys).
 */
import {
  AuthnError,
  type ImportRecord,
  type ImportSummary,
  type UserInfo,
  type UserStore,
} from '../types.js';
import type { UserTable } from './user-table.js';

export abstract class TableUsers implements UserStore {
  constructor(readonly table: UserTable) {}

  /** The stored secrets for a new password. */
  protected abstract secretsFor(password: string): Promise<Record<string, string | number>>;

  abstract import(type: 'hash' | 'plain', records: ImportRecord[]): Promise<ImportSummary>;

  list(filter: { like_user_id?: string; is_superuser?: boolean }): UserInfo[] {
    return this.table.list(filter);
  }

  get(userId: string): UserInfo | undefined {
    const r = this.table.get(userId);
    return r === undefined ? undefined : { user_id: r.user_id, is_superuser: r.is_superuser };
  }

  async add(u: { user_id: string; password: string; is_superuser?: boolean }): Promise<UserInfo> {
    if (this.table.get(u.user_id) !== undefined)
      throw new AuthnError('ALREADY_EXISTS', `user ${u.user_id} already exists`);
    this.table.put(u.user_id, await this.secretsFor(u.password), u.is_superuser === true);
    return { user_id: u.user_id, is_superuser: u.is_superuser === true };
  }

  async update(userId: string, change: { password?: string; is_superuser?: boolean }): Promise<UserInfo> {
    const cur = this.table.get(userId);
    if (cur === undefined) throw new AuthnError('NOT_FOUND', `user ${userId} not found`);
    const superuser = change.is_superuser ?? cur.is_superuser;
    if (change.password !== undefined)
      this.table.put(userId, await this.secretsFor(change.password), superuser);
    else this.table.setSuperuser(userId, superuser);
    return { user_id: userId, is_superuser: superuser };
  }

  delete(userId: string): boolean {
    return this.table.delete(userId);
  }
}
