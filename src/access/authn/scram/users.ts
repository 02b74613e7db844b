/** The user store of scram:built_in_database: SCRAM keys derived from the password when it is set. */

import { importFlag } from '../builtin/import.js';
import { TableUsers } from '../builtin/table-users.js';
import type { UserTable } from '../builtin/user-table.js';
import type { ImportRecord, ImportSummary } from '../types.js';
import { deriveKeys, type ScramHash, type ScramKeys } from './crypto.js';

export class ScramUsers extends TableUsers {
  constructor(
    table: UserTable,
    private readonly hash: ScramHash,
    private readonly iterations: number,
  ) {
    super(table);
  }

  protected async secretsFor(password: string): Promise<Record<string, string | number>> {
    return { ...(await deriveKeys(this.hash, password, this.iterations)) };
  }

  /** The stored keys of a user, or undefined. */
  keys(userId: string): (ScramKeys & { is_superuser: boolean }) | undefined {
    const r = this.table.get(userId);
    if (r === undefined) return undefined;
    return {
      stored_key: String(r.stored_key),
      server_key: String(r.server_key),
      salt: String(r.salt),
      iterations: Number(r.iterations),
      is_superuser: r.is_superuser,
    };
  }

  /** Plain imports only: SCRAM keys cannot be made from another scheme's hash. */
  async import(type: 'hash' | 'plain', records: ImportRecord[]): Promise<ImportSummary> {
    const sum: ImportSummary = { total: records.length, success: 0, override: 0, skipped: 0, failed: 0 };
    for (const r of records) {
      const superuser = importFlag(r.is_superuser);
      if (
        type !== 'plain' ||
        typeof r.user_id !== 'string' ||
        r.user_id === '' ||
        typeof r.password !== 'string' ||
        superuser === undefined
      ) {
        sum.failed++;
        continue;
      }
      if (this.table.get(r.user_id) !== undefined) sum.override++;
      else sum.success++;
      this.table.put(r.user_id, await this.secretsFor(r.password), superuser);
    }
    return sum;
  }
}
