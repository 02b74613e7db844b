/**
 * Modes for what Hermod writes about its users: the store holds password hashes, sessions and retained
 * messages, the logs hold client ids and addresses, the override file holds config secrets. Nobody but the
 * broker's own user should read them, whatever the umask.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';

/** Mode of data files the broker creates. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of directories the broker creates. */
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `dir` (and missing parents) as 0700; an existing directory is left as the operator made it. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Narrows existing files to 0600 (files made by an older version, or by SQLite before the fix). */
export function restrictFiles(...paths: string[]): void {
  for (const p of paths) if (existsSync(p)) chmodSync(p, PRIVATE_FILE_MODE);
}
