/** password_based:mysql and password_based:postgresql: one query, placeholders bound as parameters. */

import { Type } from '@sinclair/typebox';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { withSuperuserLookup } from '../../compat/super-query.js';
import type { HashAlgorithm } from '../../password-hash.js';
import { authenticatorSchema, PasswordHashAlgorithm, sqlFields } from '../../schema-parts.js';
import { compileSql, credentialLookup } from '../../template.js';
import { checkRow, precheck } from '../password-check.js';
import { type Authenticator, type AuthnProvider, defineProvider } from '../types.js';

interface SqlClient {
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  status(): Promise<'connected' | 'disconnected' | 'connecting'>;
  close(): Promise<void>;
}

function sqlAuthenticator(
  client: SqlClient,
  query: string,
  style: 'mysql' | 'postgresql',
  alg: HashAlgorithm,
  superQuery: string | undefined,
): Authenticator {
  const stmt = compileSql(query, style);
  const superStmt = superQuery === undefined ? undefined : compileSql(superQuery, style);
  return {
    authenticate(c: Credential): AuthnResult | Promise<AuthnResult> {
      const pre = precheck(c);
      if (pre !== undefined) return pre;
      const lookup = credentialLookup(c);
      // A missing value binds NULL, which matches no row (rather than '' which might).
      const bind = (s: { params: readonly string[] }) => s.params.map((p) => lookup(p) ?? null);
      return client.query(stmt.sql, bind(stmt)).then(async (rows) => {
        const result = await checkRow(alg, c, rows[0]);
        const superLookup =
          superStmt === undefined
            ? undefined
            : () => client.query(superStmt.sql, bind(superStmt)).then((r) => r[0]?.is_superuser);
        return withSuperuserLookup(result, rows[0], superLookup);
      });
    },
    status: () => client.status(),
    destroy: () => client.close(),
  };
}

const SuperQuery = Type.Optional(
  Type.String({
    minLength: 1,
    description:
      'EMQX 4.x form: a second query returning is_superuser, run after a successful login whose row lacks it.',
  }),
);
const mysqlSchema = authenticatorSchema('password_based', 'mysql', {
  ...sqlFields(3306),
  password_hash_algorithm: PasswordHashAlgorithm,
  super_query: SuperQuery,
});
const pgSchema = authenticatorSchema('password_based', 'postgresql', {
  ...sqlFields(5432),
  password_hash_algorithm: PasswordHashAlgorithm,
  super_query: SuperQuery,
});

/** password_based:mysql */
export const mysqlProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'mysql',
  schema: mysqlSchema,
  secrets: ['password'],
  create: async (cfg) => {
    // Drivers load on first use, so a node without SQL authenticators never pays for them.
    const { MysqlClient } = await import('../../resources/mysql.js');
    return sqlAuthenticator(
      new MysqlClient(cfg),
      cfg.query,
      'mysql',
      cfg.password_hash_algorithm as HashAlgorithm,
      cfg.super_query,
    );
  },
});

/** password_based:postgresql */
export const postgresqlProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'postgresql',
  schema: pgSchema,
  secrets: ['password'],
  create: async (cfg) => {
    const { PostgresClient } = await import('../../resources/postgresql.js');
    return sqlAuthenticator(
      new PostgresClient(cfg),
      cfg.query,
      'postgresql',
      cfg.password_hash_algorithm as HashAlgorithm,
      cfg.super_query,
    );
  },
});
