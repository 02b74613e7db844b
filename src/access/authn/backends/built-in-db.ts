/**
 * password_based:built_in_database: users in the node's own store, by username or client id, managed
 * through the users API, imports and an optional bootstrap file read when the authenticator starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { Enum, Str } from '../../../config/schema/fields.js';
import { logger } from '../../../log.js';
import type { HashAlgorithm } from '../../password-hash.js';
import { authenticatorSchema, PasswordHashAlgorithm } from '../../schema-parts.js';
import { parseUsersFile } from '../builtin/import.js';
import { PasswordUsers } from '../builtin/password-users.js';
import { UserTable } from '../builtin/user-table.js';
import { checkRow, precheck } from '../password-check.js';
import { type AuthnEnv, type AuthnProvider, defineProvider } from '../types.js';

const schema = authenticatorSchema('password_based', 'built_in_database', {
  user_id_type: Enum(['username', 'clientid'], 'username', 'Which client field is the user id.'),
  password_hash_algorithm: PasswordHashAlgorithm,
  bootstrap_file: Str('', 'CSV or JSON file of users added at start (existing users are kept).'),
  bootstrap_type: Enum(['plain', 'hash'], 'plain', 'Whether the bootstrap file holds passwords or hashes.'),
});

const table = (env: AuthnEnv) =>
  new UserTable(env.db, 'authn_users', env.userGroup, ['password_hash', 'salt']);

/** password_based:built_in_database */
export const builtInDbProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'built_in_database',
  schema,
  async create(cfg, env) {
    const alg = cfg.password_hash_algorithm as HashAlgorithm;
    const users = new PasswordUsers(table(env), alg);
    if (cfg.bootstrap_file !== '' && existsSync(cfg.bootstrap_file)) {
      const records = parseUsersFile(readFileSync(cfg.bootstrap_file, 'utf8'), cfg.bootstrap_file);
      const sum = await users.import(cfg.bootstrap_type, records, true);
      logger.info(
        { authenticator: env.id, file: cfg.bootstrap_file, ...sum },
        'authentication: bootstrap users loaded',
      );
    }
    return {
      users,
      authenticate(c: Credential): AuthnResult | Promise<AuthnResult> {
        const pre = precheck(c);
        if (pre !== undefined) return pre;
        const id = cfg.user_id_type === 'clientid' ? c.clientid : c.username;
        if (id === undefined) return checkRow(alg, c, undefined);
        return checkRow(alg, c, users.table.loginRow(id));
      },
    };
  },
  dropData: (env) => table(env).drop(),
});
