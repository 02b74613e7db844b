/**
 * Password hashing as EMQX's `password_hash_algorithm`: plain, md5, sha, sha256, sha512 with a salt before
 * or after the password; bcrypt; pbkdf2. Hashes are lowercase hex and every comparison is constant-time.
 * bcrypt (on worker threads) and pbkdf2 with costly settings (on libuv's threadpool) run off the event loop
 * since they are slow by design.
 */
import { createHash, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { bcryptCompare, bcryptHash } from './bcrypt-pool.js';

export type SimpleHashName = 'plain' | 'md5' | 'sha' | 'sha256' | 'sha512';
export type Pbkdf2Mac = 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** One of EMQX's password_hash_algorithm shapes. */
export type HashAlgorithm =
  | { name: SimpleHashName; salt_position: 'disable' | 'prefix' | 'suffix' }
  | { name: 'bcrypt'; salt_rounds?: number }
  | { name: 'pbkdf2'; mac_fun: Pbkdf2Mac; iterations: number; dk_length?: number };

const NODE_DIGEST: Record<string, string> = {
  md5: 'md5',
  sha: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
};

const BCRYPT_SALT_LENGTH = 29;

/** A stored hash and the salt it was made with. */
export interface HashedPassword {
  password_hash: string;
  salt: string;
}

/** 16 random bytes as 32 hex characters (EMQX's generated salt). */
export function generateSalt(): string {
  return randomBytes(16).toString('hex');
}

/** Hashes a new password, generating a salt when the algorithm uses one. */
export async function hashPassword(alg: HashAlgorithm, password: Buffer | string): Promise<HashedPassword> {
  const pw = typeof password === 'string' ? Buffer.from(password) : password;
  switch (alg.name) {
    case 'bcrypt': {
      const hash = await bcryptHash(pw.toString('utf8'), alg.salt_rounds ?? 10);
      // The hash begins with its salt: '$2b$' + cost + '$' + 22 characters.
      return { password_hash: hash, salt: hash.slice(0, BCRYPT_SALT_LENGTH) };
    }
    case 'pbkdf2': {
      const salt = generateSalt();
      return { password_hash: await pbkdf2Hex(alg, pw, salt), salt };
    }
    default: {
      const salt = alg.name === 'plain' || alg.salt_position === 'disable' ? '' : generateSalt();
      return { password_hash: simpleHash(alg, pw, salt), salt };
    }
  }
}

/** Hashes with a given salt (imports of hashed users, SQL rows). */
export function simpleHash(
  alg: { name: SimpleHashName; salt_position: 'disable' | 'prefix' | 'suffix' },
  password: Buffer,
  salt: string,
): string {
  if (alg.name === 'plain') return password.toString('utf8');
  const s = Buffer.from(salt);
  const input =
    alg.salt_position === 'prefix'
      ? Buffer.concat([s, password])
      : alg.salt_position === 'suffix'
        ? Buffer.concat([password, s])
        : password;
  return createHash(NODE_DIGEST[alg.name]!).update(input).digest('hex');
}

function pbkdf2Hex(
  alg: { mac_fun: Pbkdf2Mac; iterations: number; dk_length?: number },
  password: Buffer,
  salt: string,
): Promise<string> {
  const digest = NODE_DIGEST[alg.mac_fun]!;
  const len = alg.dk_length ?? digestLength(digest);
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, alg.iterations, len, digest, (err, key) =>
      err ? reject(err) : resolve(key.toString('hex')),
    ),
  );
}

const DIGEST_LENGTH = new Map<string, number>();

/** Output bytes of a digest (sha512: 64), computed once per digest. */
function digestLength(digest: string): number {
  let n = DIGEST_LENGTH.get(digest);
  if (n === undefined) {
    n = createHash(digest).digest().length;
    DIGEST_LENGTH.set(digest, n);
  }
  return n;
}

/**
 * The most PBKDF2 work (iterations × output blocks, each block one HMAC per iteration) checked synchronously.
 * The async pbkdf2 hops to libuv's threadpool and back (a thread wake-up, a callback, a promise), which adds a
 * third to the hash's CPU at small settings: Mosquitto's defaults (SHA-512, 101 iterations, 64 bytes) take
 * 65 µs of CPU in pbkdf2Sync against 87 µs through the threadpool, 0.5 ms against 0.67 ms at 1 000 iterations
 * (Node 20, this machine, 2026-12-04). Where the process has one core (a broker pinned to a CPU, as the
 * benchmark runs it, or a one-CPU container), the hop buys no parallelism, so cheap settings run on the event
 * loop: a pbkdf2 CONNECT took 228 µs of broker CPU async, 180–186 µs sync (5 000 connections, load 5–9). Up to
 * 1 000 rounds (≈ 0.5 ms) the loop may wait for the hash; costlier settings (EMQX examples use 4 096) go async.
 * With more cores the threadpool hashes beside the event loop, which then pays only the hop: async always.
 */
const PBKDF2_SYNC_MAX_ROUNDS = availableParallelism() > 1 ? 0 : 1000;

/** Verifies a pbkdf2 hash: synchronously for cheap settings, else through the threadpool. */
function pbkdf2Check(
  alg: { mac_fun: Pbkdf2Mac; iterations: number; dk_length?: number },
  password: Buffer,
  salt: string,
  storedHash: string,
): boolean | Promise<boolean> {
  const digest = NODE_DIGEST[alg.mac_fun]!;
  const hashLen = digestLength(digest);
  const len = alg.dk_length ?? hashLen;
  // The stored hash is hex of `len` bytes, else it cannot match (the length is the config's, not a secret).
  if (storedHash.length !== len * 2 || !HEX.test(storedHash)) return false;
  const want = Buffer.from(storedHash, 'hex');
  if (alg.iterations * Math.ceil(len / hashLen) <= PBKDF2_SYNC_MAX_ROUNDS) {
    return timingSafeEqual(pbkdf2Sync(password, salt, alg.iterations, len, digest), want);
  }
  return new Promise((resolve, reject) =>
    pbkdf2(password, salt, alg.iterations, len, digest, (err, key) =>
      err ? reject(err) : resolve(timingSafeEqual(key, want)),
    ),
  );
}

const HEX = /^[0-9a-fA-F]*$/;

/**
 * Checks a password against a stored hash. Synchronous for the simple hashes and cheap pbkdf2 settings;
 * a Promise for bcrypt and costly pbkdf2.
 */
export function checkPassword(
  alg: HashAlgorithm,
  password: Buffer,
  storedHash: string,
  salt: string,
): boolean | Promise<boolean> {
  switch (alg.name) {
    case 'bcrypt':
      // The bcrypt hash carries its own salt and cost.
      return bcryptCompare(password.toString('utf8'), storedHash);
    case 'pbkdf2':
      return pbkdf2Check(alg, password, salt, storedHash);
    case 'plain':
      return safeEqual(password, Buffer.from(storedHash));
    default:
      return hexEqual(simpleHash(alg, password, salt), storedHash);
  }
}

/** Case-insensitive, constant-time comparison of two hex strings. */
export function hexEqual(a: string, b: string): boolean {
  return safeEqual(Buffer.from(a.toLowerCase()), Buffer.from(b.toLowerCase()));
}

/**
 * Constant-time equality of two byte strings of any length: both are hashed first so the comparison time
 * does not reveal the length or the first differing byte.
 */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
