/**
 * password_based:redis: HGET or HMGET on a hash. HMGET names the fields it wants (password_hash or
 * password, salt, is_superuser); HGET reads one field, which must be the password.
 */

import { Type } from '@sinclair/typebox';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { withSuperuserLookup } from '../../compat/super-query.js';
import type { HashAlgorithm } from '../../password-hash.js';
import { parseRedisCommand } from '../../resources/redis-command.js';
import { authenticatorSchema, PasswordHashAlgorithm, redisFields } from '../../schema-parts.js';
import { credentialLookup } from '../../template.js';
import { checkRow, precheck } from '../password-check.js';
import { type AuthnProvider, defineProvider } from '../types.js';

const FIELDS = ['password_hash', 'password', 'salt', 'is_superuser'];

const schema = authenticatorSchema('password_based', 'redis', {
  ...redisFields,
  password_hash_algorithm: PasswordHashAlgorithm,
  super_cmd: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'EMQX 4.x form: HGET (or HMGET) of is_superuser, run after a successful login whose reply lacks it.',
    }),
  ),
});

/** password_based:redis */
export const redisProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'redis',
  schema,
  secrets: ['password'],
  async create(cfg) {
    const cmd = parseRedisCommand(cfg.cmd, ['HGET', 'HMGET']);
    // Field names are fixed words of the command (placeholders in them would let a client pick fields).
    const fields = cmd.args.slice(1).map((t) => {
      if (!t.constant) throw new Error('redis field names cannot hold placeholders');
      return t.source;
    });
    for (const f of fields)
      if (!FIELDS.includes(f)) throw new Error(`unsupported field ${f}; use ${FIELDS.join(', ')}`);
    if (cmd.name === 'HGET' && fields.length !== 1) throw new Error('HGET reads exactly one field');
    if (!fields.includes('password_hash') && !fields.includes('password'))
      throw new Error('the command must read password_hash or password');
    const { RedisClient } = await import('../../resources/redis.js');
    const client = new RedisClient(cfg);
    const alg = cfg.password_hash_algorithm as HashAlgorithm;
    const superCmd =
      cfg.super_cmd === undefined ? undefined : parseRedisCommand(cfg.super_cmd, ['HGET', 'HMGET']);
    return {
      async authenticate(c: Credential): Promise<AuthnResult> {
        const pre = precheck(c);
        if (pre !== undefined) return pre;
        const lookup = credentialLookup(c);
        const reply = await client.run(cmd, lookup);
        const values = Array.isArray(reply) ? reply : [reply];
        if (values.every((v) => v === null || v === undefined)) return checkRow(alg, c, undefined);
        const row: Record<string, unknown> = {};
        fields.forEach((f, i) => {
          if (values[i] !== null && values[i] !== undefined) row[f] = values[i];
        });
        const superLookup =
          superCmd === undefined
            ? undefined
            : () => client.run(superCmd, lookup).then((v) => (Array.isArray(v) ? v[0] : v));
        return withSuperuserLookup(await checkRow(alg, c, row), row, superLookup);
      },
      status: () => client.status(),
      destroy: () => client.close(),
    };
  },
});
