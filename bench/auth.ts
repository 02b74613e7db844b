/**
 * Authenticated CONNECT for the connection curves: which login each broker checks and what clients send.
 * One user (`bench`) for the whole fleet, so setting up a point costs one hash, not N; every CONNECT still
 * pays the full check (a hash, or a signature), which is what the curve measures.
 *
 * - pbkdf2: Hermod's built-in database with Mosquitto's own default parameters (PBKDF2-HMAC-SHA512, 101
 *   iterations, 64-byte key, what `mosquitto_passwd` writes as `$7$101$…`), so both do the same work.
 * - bcrypt: Hermod's built-in database, bcrypt at EMQX's default cost (salt_rounds 10). Mosquitto has no
 *   bcrypt, Aedes no built-in user store.
 * - jwt: Hermod's JWT authenticator, HS256, the token as password. Mosquitto and Aedes have none built in.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';

export type AuthKind = 'none' | 'pbkdf2' | 'bcrypt' | 'jwt';

export const AUTH_KINDS: readonly AuthKind[] = ['none', 'pbkdf2', 'bcrypt', 'jwt'];

export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench-password-1';
/** The HS256 secret of the jwt kind (only the benchmark knows it). */
export const JWT_SECRET = 'hermod-bench-jwt-secret-32-bytes!';

/** The authentication the environment asks of a Hermod bench server (BENCH_AUTH). */
export function authFromEnv(): AuthKind {
  const v = process.env.BENCH_AUTH ?? 'none';
  if (!(AUTH_KINDS as readonly string[]).includes(v)) {
    throw new Error(`BENCH_AUTH=${v}: expected one of ${AUTH_KINDS.join(', ')}`);
  }
  return v as AuthKind;
}

/** Hermod's `authentication` list for `kind` (empty: anonymous, the default). */
export function hermodAuthentication(kind: AuthKind): Record<string, unknown>[] {
  switch (kind) {
    case 'none':
      return [];
    case 'pbkdf2':
      return [
        {
          mechanism: 'password_based',
          backend: 'built_in_database',
          password_hash_algorithm: { name: 'pbkdf2', mac_fun: 'sha512', iterations: 101, dk_length: 64 },
        },
      ];
    case 'bcrypt':
      return [
        {
          mechanism: 'password_based',
          backend: 'built_in_database',
          password_hash_algorithm: { name: 'bcrypt', salt_rounds: 10 },
        },
      ];
    case 'jwt':
      return [
        {
          mechanism: 'jwt',
          algorithm: 'hmac-based',
          secret: Buffer.from(JWT_SECRET).toString('base64'),
          secret_base64_encoded: true,
          from: 'password',
        },
      ];
  }
}

/** An HS256 token for `clientId`, valid for a day. */
function jwtFor(clientId: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({
    sub: clientId,
    exp: Math.floor(Date.now() / 1000) + 86_400,
  })}`;
  return `${body}.${createHmac('sha256', JWT_SECRET).update(body).digest('base64url')}`;
}

/** What client `clientId` sends in CONNECT under `kind`. */
export function credentialsFor(
  kind: AuthKind,
  clientId: string,
): { username: string; password: string } | undefined {
  if (kind === 'none') return undefined;
  if (kind === 'jwt') return { username: BENCH_USER, password: jwtFor(clientId) };
  return { username: BENCH_USER, password: BENCH_PASSWORD };
}

/** Writes a Mosquitto password file with the bench user (hashed by mosquitto_passwd itself). */
export function writeMosquittoPasswordFile(path: string): void {
  execFileSync('mosquitto_passwd', ['-c', '-b', path, BENCH_USER, BENCH_PASSWORD], { stdio: 'ignore' });
}
