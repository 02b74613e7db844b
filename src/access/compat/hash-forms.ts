/**
 * EMQX 3.x/4.x wrote an auth plugin's `password_hash` as one string: `sha256` (no salt), `salt sha256` or
 * `salt,sha256` (salt before the password), `sha256 salt` (after), `bcrypt`, `pbkdf2,sha256,1000,20`
 * (MAC, iterations, key length in bytes). An authenticator's `password_hash_algorithm` may be given that
 * way; it is read as the equivalent EMQX 5 object.
 */

const SIMPLE = new Set(['plain', 'md5', 'sha', 'sha256', 'sha512']);
const MACS = new Set(['sha', 'sha224', 'sha256', 'sha384', 'sha512']);

/** The EMQX 5 object of a 4.x password_hash string, or undefined when the string is not one. */
export function legacyHashAlgorithm(text: string): Record<string, unknown> | undefined {
  const parts = text
    .trim()
    .split(/[\s,]+/)
    .filter((p) => p !== '');
  if (parts[0] === 'pbkdf2') {
    const [, mac = 'sha256', iterations, dkLength] = parts;
    const out: Record<string, unknown> = {
      name: 'pbkdf2',
      mac_fun: mac,
      iterations: iterations === undefined ? 1000 : Number(iterations),
    };
    if (dkLength !== undefined) out.dk_length = Number(dkLength);
    return MACS.has(mac) ? out : undefined;
  }
  if (parts.includes('bcrypt') && parts.every((p) => p === 'bcrypt' || p === 'salt'))
    return { name: 'bcrypt' };
  if (parts.length === 1 && SIMPLE.has(parts[0]!)) return { name: parts[0], salt_position: 'disable' };
  if (parts.length === 2 && parts[0] === 'salt' && SIMPLE.has(parts[1]!))
    return { name: parts[1], salt_position: 'prefix' };
  if (parts.length === 2 && parts[1] === 'salt' && SIMPLE.has(parts[0]!))
    return { name: parts[0], salt_position: 'suffix' };
  return undefined;
}

/** An authenticator config with a 4.x string `password_hash_algorithm` read as its object form. */
export function withLegacyHash(raw: Record<string, unknown>): Record<string, unknown> {
  const alg = raw.password_hash_algorithm;
  if (typeof alg !== 'string') return raw;
  const translated = legacyHashAlgorithm(alg);
  // An unknown string is left for validation to report with the key's name.
  return translated === undefined ? raw : { ...raw, password_hash_algorithm: translated };
}
