/**
 * SCRAM (RFC 5802 / RFC 7677) server-side arithmetic and message parsing, for SHA-256 and SHA-512.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramHash = 'sha256' | 'sha512';

/** What the server stores for a user (never the password). */
export interface ScramKeys {
  stored_key: string;
  server_key: string;
  /** base64 */
  salt: string;
  iterations: number;
}

const hmac = (h: ScramHash, key: Buffer, data: string | Buffer) => createHmac(h, key).update(data).digest();
const digest = (h: ScramHash, data: Buffer) => createHash(h).update(data).digest();

/** Derives the stored keys for a password (salt: 16 random bytes unless given). */
export function deriveKeys(
  h: ScramHash,
  password: string,
  iterations: number,
  salt = randomBytes(16),
): Promise<ScramKeys> {
  const len = h === 'sha256' ? 32 : 64;
  return new Promise((resolve, reject) =>
    pbkdf2(Buffer.from(password.normalize('NFKC')), salt, iterations, len, h, (err, salted) => {
      if (err) return reject(err);
      const clientKey = hmac(h, salted, 'Client Key');
      resolve({
        stored_key: digest(h, clientKey).toString('base64'),
        server_key: hmac(h, salted, 'Server Key').toString('base64'),
        salt: salt.toString('base64'),
        iterations,
      });
    }),
  );
}

/** Verifies a ClientProof against StoredKey; returns the server signature (base64) when it holds. */
export function verifyProof(
  h: ScramHash,
  keys: ScramKeys,
  authMessage: string,
  proofB64: string,
): string | undefined {
  const storedKey = Buffer.from(keys.stored_key, 'base64');
  const proof = Buffer.from(proofB64, 'base64');
  const signature = hmac(h, storedKey, authMessage);
  if (proof.length !== signature.length) return undefined;
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
  if (!timingSafeEqual(digest(h, clientKey), storedKey)) return undefined;
  return hmac(h, Buffer.from(keys.server_key, 'base64'), authMessage).toString('base64');
}

/** A fresh server nonce (printable, no comma). */
export function serverNonce(): string {
  return randomBytes(18).toString('base64');
}

/** `a=1,b=2` → {a:'1', b:'2'} (values may contain '='). */
export function attributes(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const i = part.indexOf('=');
    if (i === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

/** The client-first message split into its GS2 header and bare part. */
export function parseClientFirst(
  msg: string,
): { gs2: string; bare: string; user: string; nonce: string } | string {
  const m = /^([nyp](?:=[^,]*)?),([^,]*),(.*)$/s.exec(msg);
  if (m === null) return 'malformed client-first message';
  if (m[1]!.startsWith('p')) return 'channel binding is not supported';
  if (m[2] !== '') return 'authorization identity is not supported';
  const bare = m[3]!;
  const a = attributes(bare);
  const user = a.get('n');
  const nonce = a.get('r');
  if (user === undefined || nonce === undefined || nonce === '') return 'client-first message lacks n= or r=';
  if (/=(?!2C|3D)/.test(user)) return 'bad username encoding';
  return { gs2: `${m[1]},${m[2]},`, bare, user: user.replace(/=2C/g, ',').replace(/=3D/g, '='), nonce };
}
