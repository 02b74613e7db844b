/**
 * mysql and postgresql sources: the query returns rule rows (permission, action, topic, qos, retain), or
 * EMQX 4.x's mqtt_acl rows, for the client; the first row that matches decides. Placeholders are bound
 * parameters.
 */
import { Type } from '@sinclair/typebox';
import { clientLookup } from '../../../broker/placeholders.js';
import type { AuthzAction, ClientInfo } from '../../../broker/types.js';
import { logger } from '../../../log.js';
import { isLegacyAclRows, legacyAclRules } from '../../compat/acl-rows.js';
import { sourceSchema, sqlFields } from '../../schema-parts.js';
import { compileSql } from '../../template.js';
import { firstMatch, rawRules } from '../rules.js';
import { type AuthzAnswer, type AuthzSource, defineSource } from '../types.js';

interface SqlClient {
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  status(): Promise<'connected' | 'disconnected' | 'connecting'>;
  close(): Promise<void>;
}

function sqlSource(
  type: string,
  client: SqlClient,
  query: string,
  style: 'mysql' | 'postgresql',
): AuthzSource {
  const stmt = compileSql(query, style);
  return {
    async authorize(ci: ClientInfo, action: AuthzAction, topic: string): Promise<AuthzAnswer> {
      const lookup = clientLookup(ci);
      const rows = await client.query(
        stmt.sql,
        stmt.params.map((p) => lookup(p) ?? null),
      );
      const onBad = (row: unknown, err: Error) =>
        logger.warn({ source: type, row, reason: err.message }, 'authorization: bad rule row skipped');
      // EMQX 4.x's mqtt_acl rows (allow, ipaddr, username, clientid, access, topic) are read as they are.
      const rules = isLegacyAclRows(rows) ? legacyAclRules(rows, onBad) : rawRules(rows, onBad);
      return firstMatch(rules, ci, action, topic) ?? 'nomatch';
    },
    status: () => client.status(),
    destroy: () => client.close(),
  };
}

const { query: _q, ...mysqlConn } = sqlFields(3306);
const { query: _p, ...pgConn } = sqlFields(5432);
const Query = Type.String({
  minLength: 1,
  description: 'Query returning permission, action, topic, qos, retain rows.',
});

/** mysql */
export const mysqlSource = defineSource({
  type: 'mysql',
  schema: sourceSchema('mysql', { ...mysqlConn, query: Query }),
  secrets: ['password'],
  async create(cfg) {
    const { MysqlClient } = await import('../../resources/mysql.js');
    return sqlSource('mysql', new MysqlClient(cfg), cfg.query, 'mysql');
  },
});

/** postgresql */
export const postgresqlSource = defineSource({
  type: 'postgresql',
  schema: sourceSchema('postgresql', { ...pgConn, query: Query }),
  secrets: ['password'],
  async create(cfg) {
    const { PostgresClient } = await import('../../resources/postgresql.js');
    return sqlSource('postgresql', new PostgresClient(cfg), cfg.query, 'postgresql');
  },
});
