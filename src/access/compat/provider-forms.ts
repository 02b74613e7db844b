/** EMQX 4.x forms in an authenticator or source config, read as EMQX 5's before validation. */
import { withLegacyHash } from './hash-forms.js';
import { withLegacyUserDn } from './ldap-user-dn.js';
import { withLegacyMongo } from './mongo-forms.js';

/**
 * `raw` with a string `password_hash_algorithm`, an LDAP `user_dn` and MongoDB's `selector`,
 * `password_field`, `super_field` read as their EMQX 5 forms.
 */
export function withLegacyForms(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return withLegacyHash(withLegacyMongo(withLegacyUserDn(raw as Record<string, unknown>)));
}
