/**
 * The factory password: EMQX (and Hermod) create the first administrator as admin/public, a password
 * shorter than the 8-character minimum every later change must meet. While it works, say so loudly.
 */
import { logger } from '../../log.js';
import type { Users } from './users.js';

export const FACTORY_DEFAULT_PASSWORD = 'public';

/** Logs a warning at boot when `username` still logs in with the factory password; true when it does. */
export async function warnIfDefaultPassword(users: Users, username: string): Promise<boolean> {
  if (users.get(username) === undefined) return false;
  if (!(await users.verify(username, FACTORY_DEFAULT_PASSWORD))) return false;
  logger.warn(
    { username },
    `dashboard user "${username}" still has the default password "${FACTORY_DEFAULT_PASSWORD}": anyone who can reach the management API can log in; change it (hermod ctl admins passwd ${username} <new password>)`,
  );
  return true;
}
