/**
 * The jwt authenticator's JWKS path: keys fetched from an endpoint are selected by `kid` and imported by
 * jose. Loaded by ./jwt.ts only for an authenticator with `use_jwks`, so a node without one does not load
 * jose (~50 ms of start-up module loading, 2026-12-04).
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import { JwksCache } from '../jwks.js';
import { type JwtVerdict, timeClaimsProblem } from '../jwt-verify.js';

const PUBLIC_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Why a verification failed, in words for the log and the reason string. */
function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'jwt expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed)
    return `jwt claim ${err.claim} invalid (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'jwt algorithm not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'jwt signature invalid';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'jwt signed by an unknown key';
  if (err instanceof joseErrors.JOSEError) return `jwt invalid (${err.code})`;
  return `jwt invalid (${(err as Error).message})`;
}

/** Verifies tokens against the keys an endpoint publishes, fetching again once for an unknown `kid`. */
export class JwksVerifier {
  private readonly jwks: JwksCache;

  constructor(endpoint: string, headers: Record<string, string>, refreshIntervalMs: number) {
    this.jwks = new JwksCache(endpoint, headers, refreshIntervalMs);
  }

  async verify(token: string): Promise<JwtVerdict> {
    const once = async () =>
      (await jwtVerify(token, await this.jwks.getter(), { algorithms: PUBLIC_ALGS })).payload;
    try {
      const payload = await once().catch(async (err: unknown) => {
        if (err instanceof joseErrors.JWKSNoMatchingKey && (await this.jwks.refetchForUnknownKey()))
          return once();
        throw err;
      });
      // jose accepts an iat in the future; the shared check refuses it as the configured-key path does.
      const timing = timeClaimsProblem(payload as Record<string, unknown>, Math.floor(Date.now() / 1000));
      return timing === undefined ? { ok: true, payload } : { ok: false, reason: timing };
    } catch (err) {
      return { ok: false, reason: reasonOf(err) };
    }
  }

  status(): ReturnType<JwksCache['status']> {
    return this.jwks.status();
  }

  stop(): void {
    this.jwks.stop();
  }
}
