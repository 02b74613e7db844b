/** The user store of password_based:built_in_database: hashed passwords with the authenticator's algorithm. */
import { type HashAlgorithm, hashPassword } from '../../password-hash.js';
import type { ImportRecord, ImportSummary } from '../types.js';
import { importFlag } from './import.js';
import { TableUsers } from './table-users.js';
import type { UserTable } from './user-table.js';

export class PasswordUsers extends TableUsers {
  constructor(
    table: UserTable,
    private readonly alg: HashAlgorithm,
  ) {
    super(table);
  }

  protected async secretsFor(password: string): Promise<Record<string, string>> {
    return { ...(await hashPassword(this.alg, password)) };
  }

  /** Imports records; existing users are overwritten (counted as override), bad records as failed. */
  async import(type: 'hash' | 'plain', records: ImportRecord[], onlyNew = false): Promise<ImportSummary> {
    const sum: ImportSummary = { total: records.length, success: 0, override: 0, skipped: 0, failed: 0 };
    // Hash first (bcrypt is async), then write everything in one transaction.
    const ready: Array<{ id: string; secrets: { password_hash: string; salt: string }; superuser: boolean }> =
      [];
    const seen = new Set<string>();
    for (const r of records) {
      const id = r.user_id;
      const superuser = importFlag(r.is_superuser);
      if (typeof id !== 'string' || id === '' || superuser === undefined) {
        sum.failed++;
        continue;
      }
      if (seen.has(id) || (onlyNew && this.table.get(id) !== undefined)) {
        sum.skipped++;
        continue;
      }
      let secrets: { password_hash: string; salt: string };
      if (type === 'hash') {
        if (typeof r.password_hash !== 'string' || r.password_hash === '') {
          sum.failed++;
          continue;
        }
        secrets = { password_hash: r.password_hash, salt: typeof r.salt === 'string' ? r.salt : '' };
      } else {
        if (typeof r.password !== 'string' || r.password === '') {
          sum.failed++;
          continue;
        }
        secrets = await hashPassword(this.alg, r.password);
      }
      seen.add(id);
      ready.push({ id, secrets, superuser });
    }
    this.table.transaction(() => {
      for (const u of ready) {
        if (this.table.get(u.id) !== undefined) sum.override++;
        else sum.success++;
        this.table.put(u.id, u.secrets, u.superuser);
      }
    });
    return sum;
  }
}
