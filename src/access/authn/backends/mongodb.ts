/** password_based:mongodb: the first document matching the filter, with configurable field names. */
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { Str } from '../../../config/schema/fields.js';
import type { HashAlgorithm } from '../../password-hash.js';
import { authenticatorSchema, mongoFields, PasswordHashAlgorithm } from '../../schema-parts.js';
import { credentialLookup, renderMap } from '../../template.js';
import { checkRow, precheck } from '../password-check.js';
import { type AuthnProvider, defineProvider } from '../types.js';

const schema = authenticatorSchema('password_based', 'mongodb', {
  ...mongoFields,
  password_hash_algorithm: PasswordHashAlgorithm,
  password_hash_field: Str('password_hash', 'Field holding the password hash.'),
  salt_field: Str('salt', 'Field holding the salt.'),
  is_superuser_field: Str('is_superuser', 'Field holding the superuser flag.'),
});

/** password_based:mongodb */
export const mongodbProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'mongodb',
  schema,
  secrets: ['password'],
  async create(cfg) {
    const { MongoBackend } = await import('../../resources/mongodb.js');
    const backend = new MongoBackend(cfg);
    const alg = cfg.password_hash_algorithm as HashAlgorithm;
    return {
      async authenticate(c: Credential): Promise<AuthnResult> {
        const pre = precheck(c);
        if (pre !== undefined) return pre;
        const filter = renderMap(cfg.filter, credentialLookup(c)) as Record<string, unknown>;
        const [doc] = await backend.find(filter, 1);
        if (doc === undefined) return checkRow(alg, c, undefined);
        return checkRow(alg, c, {
          password_hash: doc[cfg.password_hash_field],
          salt: doc[cfg.salt_field],
          is_superuser: doc[cfg.is_superuser_field],
        });
      },
      status: () => backend.status(),
      destroy: () => backend.close(),
    };
  },
});
