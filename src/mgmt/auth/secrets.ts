/**
 * Password and secret hashing with node:crypto. Dashboard passwords use scrypt (slow on purpose, salted);
 * API secrets are random and high-entropy, so a salted SHA-256 is enough and keeps Basic auth cheap on
 * every request.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEYLEN, { N: n, r, p }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64 parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches a hash made by hashPassword. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || hash === undefined || salt === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Salted SHA-256 of an API secret as `sha256$salt$hash`. */
export function hashSecret(secret: string, salt = randomBytes(16).toString('base64')): string {
  const h = createHash('sha256').update(salt).update(secret).digest('base64');
  return `sha256$${salt}$${h}`;
}

/** True when `secret` matches a hash made by hashSecret. */
export function verifySecret(secret: string, stored: string): boolean {
  const [kind, salt] = stored.split('$');
  if (kind !== 'sha256' || salt === undefined) return false;
  const a = Buffer.from(hashSecret(secret, salt));
  const b = Buffer.from(stored);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A random string of `bytes` bytes, URL-safe. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
