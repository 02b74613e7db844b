/**
 * The password_based steps every backend shares: who it answers for, and checking a stored row
 * ({password_hash | password, salt, is_superuser}) against the client's password.
 */
import type { AuthnResult, Credential } from '../../broker/types.js';
import { isSuperuser, text } from '../coerce.js';
import { checkPassword, type HashAlgorithm } from '../password-hash.js';
import { deny, IGNORE } from './types.js';

/**
 * What a password_based authenticator answers before looking anything up: ignore for enhanced
 * authentication (another mechanism's business); undefined = go on. A missing password is refused once the
 * user is found (checkRow), so an unknown anonymous client is still ignored.
 */
export function precheck(c: Credential): AuthnResult | undefined {
  return c.auth_method !== undefined ? IGNORE : undefined;
}

/** Checks a stored row; an unknown user (no row) is ignored so the next authenticator may know it. */
export function checkRow(
  alg: HashAlgorithm,
  c: Credential,
  row: Record<string, unknown> | undefined,
): AuthnResult | Promise<AuthnResult> {
  if (row === undefined) return IGNORE;
  const stored = row.password_hash ?? row.password;
  if (stored === undefined || stored === null) return deny('the backend returned no password_hash');
  if (c.password === undefined) return deny('no password given');
  const ok = checkPassword(alg, c.password ?? Buffer.alloc(0), text(stored), text(row.salt));
  const finish = (good: boolean): AuthnResult =>
    good ? { kind: 'ok', is_superuser: isSuperuser(row.is_superuser) } : deny('bad password');
  return ok instanceof Promise ? ok.then(finish) : finish(ok);
}
