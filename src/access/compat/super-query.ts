/**
 * EMQX 3.x/4.x asked a second query whether a logged-in user is a superuser (`super_query = select
 * is_superuser from mqtt_user where username = '%u' limit 1`, Redis `super_cmd = HGET mqtt_user:%u
 * is_superuser`). Authenticators given one run it after a successful password check whose row did not
 * carry is_superuser itself; a failing superuser lookup leaves the client an ordinary user, as in 4.x.
 */
import type { AuthnResult } from '../../broker/types.js';
import { isSuperuser } from '../coerce.js';

/** `result` with is_superuser from `lookup` when the login succeeded and the row had no flag of its own. */
export async function withSuperuserLookup(
  result: AuthnResult,
  row: Record<string, unknown> | undefined,
  lookup: (() => Promise<unknown>) | undefined,
): Promise<AuthnResult> {
  if (lookup === undefined || result.kind !== 'ok') return result;
  if (row !== undefined && row.is_superuser !== undefined && row.is_superuser !== null) return result;
  try {
    return { ...result, is_superuser: isSuperuser(await lookup()) };
  } catch {
    return result;
  }
}
