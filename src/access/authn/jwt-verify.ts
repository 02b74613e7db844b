/**
 * Synchronous verification of a compact JWS JWT against one configured key (an HMAC secret or a public
 * key), with node:crypto: the header, the algorithm the key allows, the signature, then the time claims.
 * It checks what `jose`'s jwtVerify checked before it (and gives the same verdicts), without a promise per
 * token: an HS256 login cost 264–490 µs of broker CPU through jose against ~100 µs without authentication
 * (2026-12-04 curves), where the HMAC itself is a few µs. Never throws: a token it cannot use is a reason.
 */
import crypto, {
  constants,
  createHmac,
  type KeyObject,
  timingSafeEqual,
  verify as verifySignature,
} from 'node:crypto';

/** The verdict on a token: its claims, or why it is refused (words for the log and the reason string). */
export type JwtVerdict = { ok: true; payload: Record<string, unknown> } | { ok: false; reason: string };

/** How one algorithm checks a signature over `header.payload` with the configured key. */
type SignatureCheck = (signingInput: string, signature: Buffer) => boolean;

const HMAC_HASH: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
const RSA_HASH: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };
const PSS_HASH: Record<string, string> = { PS256: 'sha256', PS384: 'sha384', PS512: 'sha512' };
/** ECDSA algorithms with their hash and the one curve each may use (RFC 7518 §3.4). */
const EC_ALG: Record<string, { hash: string; curve: string }> = {
  ES256: { hash: 'sha256', curve: 'prime256v1' },
  ES384: { hash: 'sha384', curve: 'secp384r1' },
  ES512: { hash: 'sha512', curve: 'secp521r1' },
};
/** RSA keys below this size are refused for the RS and PS algorithms (as jose did: RFC 7518 §3.3 asks for 2048 bits). */
const RSA_MIN_BITS = 2048;

const FAIL = (reason: string): JwtVerdict => ({ ok: false, reason });
const BAD_SIGNATURE = FAIL('jwt signature invalid');
const NOT_ALLOWED = FAIL('jwt algorithm not allowed');

/** The algorithms an HMAC secret verifies, each with its check. */
export function hmacChecks(secret: KeyObject): Map<string, SignatureCheck> {
  const checks = new Map<string, SignatureCheck>();
  for (const [alg, hash] of Object.entries(HMAC_HASH)) {
    const mac = hmacOf(hash, secret);
    checks.set(alg, (input, sig) => {
      const want = mac(input);
      // The length of a correct signature is the algorithm's, not a secret.
      return sig.length === want.length && timingSafeEqual(sig, want);
    });
  }
  return checks;
}

type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;
/** node:crypto's one-shot digest, crypto.hash (Node 20.12 and later; older releases use createHmac). */
const oneShotHash = (crypto as unknown as { hash?: OneShotHash }).hash;
/** Input block size of SHA-256 (64 bytes) and of SHA-384/512 (128 bytes): the HMAC key pads to it. */
const BLOCK: Record<string, number> = { sha256: 64, sha384: 128, sha512: 128 };
/** Longest signing input hashed in place; longer tokens (rare, at most an MQTT password) use createHmac. */
const SCRATCH_BYTES = 2048;

/**
 * HMAC-`hash` with `secret` (RFC 2104): H(K ^ opad ‖ H(K ^ ipad ‖ input)), with the padded key blocks made
 * once and two one-shot digests per token. createHmac builds a native HMAC object and its key schedule for
 * every token: 8.3 µs of broker CPU per HS256 CONNECT against 2.4 µs this way (--cpu-prof, 25 000
 * CONNECTs, 2026-12-05), 2.3 against 1.85 µs in a tight loop.
 */
function hmacOf(hash: string, secret: KeyObject): (input: string) => Buffer {
  const viaHmac = (input: string) => createHmac(hash, secret).update(input).digest();
  const h = oneShotHash;
  if (h === undefined) return viaHmac;
  const block = BLOCK[hash]!;
  const raw = secret.export();
  const key = raw.length > block ? h(hash, raw, 'buffer') : raw;
  const inner = Buffer.alloc(block + SCRATCH_BYTES);
  const outer = Buffer.alloc(block + 64);
  for (let i = 0; i < block; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  return (input) => {
    const n = Buffer.byteLength(input);
    if (n > SCRATCH_BYTES) return viaHmac(input);
    inner.write(input, block);
    const digest = h(hash, inner.subarray(0, block + n), 'buffer');
    digest.copy(outer, block);
    return h(hash, outer.subarray(0, block + digest.length), 'buffer');
  };
}

/**
 * The algorithms a public key verifies, each with its check: decided once from the key's type (and curve or
 * size), so a token naming another algorithm (HS256 signed with the PEM text, ES256 for an RSA key) is
 * refused before any crypto runs.
 */
export function publicKeyChecks(key: KeyObject): Map<string, SignatureCheck> {
  const checks = new Map<string, SignatureCheck>();
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      if ((details?.modulusLength ?? 0) < RSA_MIN_BITS) break;
      if (key.asymmetricKeyType === 'rsa') {
        for (const [alg, hash] of Object.entries(RSA_HASH))
          checks.set(alg, (input, sig) => verifySignature(hash, Buffer.from(input), key, sig));
      }
      for (const [alg, hash] of Object.entries(PSS_HASH)) {
        const options = {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        };
        checks.set(alg, (input, sig) => verifySignature(hash, Buffer.from(input), options, sig));
      }
      break;
    }
    case 'ec':
      for (const [alg, { hash, curve }] of Object.entries(EC_ALG)) {
        if (details?.namedCurve !== curve) continue;
        // JWS carries ECDSA signatures as r‖s (IEEE P1363), not DER.
        const options = { key, dsaEncoding: 'ieee-p1363' as const };
        checks.set(alg, (input, sig) => verifySignature(hash, Buffer.from(input), options, sig));
      }
      break;
    case 'ed25519':
    case 'ed448': {
      const check: SignatureCheck = (input, sig) => verifySignature(null, Buffer.from(input), key, sig);
      checks.set('EdDSA', check);
      if (key.asymmetricKeyType === 'ed25519') checks.set('Ed25519', check);
      break;
    }
  }
  return checks;
}

/**
 * Verifies `token` (already known to be three base64url segments) with one of `checks`, then its time
 * claims at `now` (seconds since the epoch).
 */
export function verifyJwt(
  token: string,
  checks: ReadonlyMap<string, SignatureCheck>,
  now: number,
): JwtVerdict {
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0)
    return FAIL('jwt invalid (not three segments)');
  const check = headerCheck(token.slice(0, dot1), checks);
  if (typeof check !== 'function') return check;
  const sigText = token.slice(dot2 + 1);
  if (!isBase64url(sigText)) return FAIL('jwt invalid (the signature is not base64url)');
  let good: boolean;
  try {
    good = check(token.slice(0, dot2), Buffer.from(sigText, 'base64url'));
  } catch {
    // OpenSSL refuses some malformed signatures outright instead of answering false.
    good = false;
  }
  if (!good) return BAD_SIGNATURE;
  const payload = jsonObject(token.slice(dot1 + 1, dot2));
  if (payload === undefined) return FAIL('jwt invalid (the claims are not a base64url JSON object)');
  const timing = timeClaimsProblem(payload, now);
  return timing === undefined ? { ok: true, payload } : FAIL(timing);
}

/** What a header segment decides: the signature check its algorithm selects, or why the token is refused. */
type HeaderOutcome = SignatureCheck | JwtVerdict;

/**
 * Header segments already judged, per set of checks (one per configured key). A fleet's tokens come from a
 * few issuers, each writing the same header on every token, so the header is decoded, parsed and judged once:
 * that was ~2 µs of the ~25 µs an HS256 login adds to a CONNECT (--cpu-prof, 2026-12-05). The outcome
 * depends only on the segment's text and the checks, so reusing it changes no verdict.
 */
const headerMemos = new WeakMap<ReadonlyMap<string, SignatureCheck>, Map<string, HeaderOutcome>>();
/** Headers kept per key; past that the memo starts over (made-up headers cannot grow it without bound). */
const HEADER_MEMO_MAX = 64;
/** Longer header segments are judged every time instead of kept (a usual one is 36–120 characters). */
const HEADER_MEMO_CHARS = 512;

function headerCheck(segment: string, checks: ReadonlyMap<string, SignatureCheck>): HeaderOutcome {
  if (segment.length > HEADER_MEMO_CHARS) return judgeHeader(segment, checks);
  let memo = headerMemos.get(checks);
  if (memo === undefined) {
    memo = new Map();
    headerMemos.set(checks, memo);
  }
  let outcome = memo.get(segment);
  if (outcome === undefined) {
    outcome = judgeHeader(segment, checks);
    if (memo.size >= HEADER_MEMO_MAX) memo.clear();
    memo.set(segment, outcome);
  }
  return outcome;
}

/** Parses a header segment and picks the check its `alg` names (as jose did: crit after the algorithm). */
function judgeHeader(segment: string, checks: ReadonlyMap<string, SignatureCheck>): HeaderOutcome {
  const header = jsonObject(segment);
  if (header === undefined) return FAIL('jwt invalid (the header is not a base64url JSON object)');
  const alg = header.alg;
  if (typeof alg !== 'string') return FAIL('jwt invalid (the header has no alg)');
  const check = checks.get(alg);
  if (check === undefined) return NOT_ALLOWED;
  const crit = critProblem(header);
  return crit === undefined ? check : FAIL(crit);
}

/**
 * The time claims, checked as EMQX checks them (no leeway): iat, nbf and exp must be numbers when present;
 * iat and nbf must not be in the future; exp must be in the future. A token issued "later" than now comes
 * from a clock that is ahead or a forged claim, and EMQX refuses it, so a fleet moving over sees no change.
 */
export function timeClaimsProblem(payload: Record<string, unknown>, now: number): string | undefined {
  const { iat, nbf, exp } = payload;
  if (iat !== undefined && typeof iat !== 'number') return 'jwt claim iat invalid (invalid)';
  if (typeof iat === 'number' && iat > now) return 'jwt claim iat invalid (check_failed)';
  if (nbf !== undefined && typeof nbf !== 'number') return 'jwt claim nbf invalid (invalid)';
  if (typeof nbf === 'number' && nbf > now) return 'jwt claim nbf invalid (check_failed)';
  if (exp !== undefined && typeof exp !== 'number') return 'jwt claim exp invalid (invalid)';
  if (typeof exp === 'number' && exp <= now) return 'jwt expired';
  return undefined;
}

/** `crit` may only name extensions this verifier understands: `b64`, and then not an unencoded payload. */
function critProblem(header: Record<string, unknown>): string | undefined {
  const crit = header.crit;
  if (crit === undefined) return undefined;
  if (!Array.isArray(crit) || crit.length === 0) return 'jwt invalid (crit is not a list of names)';
  for (const name of crit) {
    if (name !== 'b64') return `jwt invalid (critical extension ${String(name)} not supported)`;
    if (!('b64' in header)) return 'jwt invalid (critical extension b64 missing)';
  }
  return header.b64 === false ? 'jwt invalid (unencoded payload)' : undefined;
}

/** A base64url segment decoded and parsed as a JSON object, or undefined. */
function jsonObject(segment: string): Record<string, unknown> | undefined {
  if (!isBase64url(segment)) return undefined;
  try {
    const v: unknown = JSON.parse(UTF8.decode(Buffer.from(segment, 'base64url')));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Invalid UTF-8 is refused rather than replaced (as jose did). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Unpadded base64url: its alphabet, and no length that leaves a lone 6-bit digit (n mod 4 = 1). */
function isBase64url(s: string): boolean {
  return s.length % 4 !== 1 && BASE64URL.test(s);
}
