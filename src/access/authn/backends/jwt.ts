/**
 * jwt: the token comes in the password (or username) and is verified with an HMAC secret, a public key
 * (PEM) or a JWKS endpoint. A value that is not shaped like a JWT is ignored, so a JWT authenticator can
 * share a chain with password ones; a JWT that fails (unsigned `none`, an algorithm the key does not
 * allow, a bad signature, expired, not yet valid, a verify_claims mismatch) is refused with the reason.
 *
 * A configured key (HMAC secret or PEM) is checked synchronously with node:crypto (../jwt-verify.ts); the
 * JWKS path (./jwt-jwks.ts, with jose) is loaded only by an authenticator that uses it, so a node without
 * one does not load jose (~50 ms of start-up module loading, 2026-12-04).
 */
import { createPublicKey, createSecretKey } from 'node:crypto';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { clientAttrs, isSuperuser } from '../../coerce.js';
import { credentialLookup, Template } from '../../template.js';
import { hmacChecks, type JwtVerdict, publicKeyChecks, verifyJwt } from '../jwt-verify.js';
import { type Authenticator, type AuthnProvider, defineProvider, deny, IGNORE } from '../types.js';
import type { JwksVerifier } from './jwt-jwks.js';
import { type JwtConfig, jwtSchema } from './jwt-schema.js';

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Verifies a token: synchronously with a configured key, asynchronously with keys from a JWKS endpoint. */
type Verify = (token: string) => JwtVerdict | Promise<JwtVerdict>;

function verifier(
  cfg: {
    use_jwks: boolean;
    algorithm: 'hmac-based' | 'public-key';
    secret: string;
    secret_base64_encoded: boolean;
    public_key: string;
  },
  jwks: JwksVerifier | undefined,
): Verify {
  if (jwks !== undefined) return (token) => jwks.verify(token);
  let checks: ReturnType<typeof hmacChecks>;
  if (cfg.algorithm === 'hmac-based') {
    if (cfg.secret === '') throw new Error('jwt: secret is required for hmac-based');
    checks = hmacChecks(
      createSecretKey(
        cfg.secret_base64_encoded ? Buffer.from(cfg.secret, 'base64') : Buffer.from(cfg.secret),
      ),
    );
  } else {
    if (cfg.public_key === '') throw new Error('jwt: public_key is required for public-key');
    checks = publicKeyChecks(createPublicKey(cfg.public_key));
  }
  return (token) => verifyJwt(token, checks, Math.floor(Date.now() / 1000));
}

/** jwt */
export const jwtProvider: AuthnProvider = defineProvider({
  mechanism: 'jwt',
  schema: jwtSchema,
  secrets: ['secret'],
  create(cfg): Authenticator | Promise<Authenticator> {
    if (!cfg.use_jwks) return jwtAuthenticator(cfg, undefined);
    if (cfg.endpoint === '') throw new Error('jwt: endpoint is required with use_jwks');
    new URL(cfg.endpoint);
    return import('./jwt-jwks.js').then(({ JwksVerifier }) =>
      jwtAuthenticator(cfg, new JwksVerifier(cfg.endpoint, cfg.headers, cfg.refresh_interval)),
    );
  },
});

/** An authenticator for a decoded config, with the JWKS verifier when the config uses one. */
function jwtAuthenticator(cfg: JwtConfig, jwks: JwksVerifier | undefined): Authenticator {
  const verify = verifier(cfg, jwks);
  const claims = Object.entries(cfg.verify_claims).map(([k, v]) => [k, new Template(v)] as const);
  const checkClaims = (c: Credential, payload: Record<string, unknown>): AuthnResult => {
    if (claims.length > 0) {
      const lookup = credentialLookup(c);
      for (const [name, expected] of claims) {
        const want = expected.text(lookup);
        const got = payload[name];
        if (got === undefined) return deny(`jwt claim ${name} missing`);
        if ((typeof got === 'string' ? got : JSON.stringify(got)) !== want)
          return deny(`jwt claim ${name} does not match`);
      }
    }
    const ok: Extract<AuthnResult, { kind: 'ok' }> = {
      kind: 'ok',
      is_superuser: isSuperuser(payload.is_superuser),
    };
    if (cfg.disconnect_after_expire && typeof payload.exp === 'number') ok.expire_at = payload.exp;
    const attrs = clientAttrs(payload.client_attrs);
    if (attrs !== undefined) ok.client_attrs = attrs;
    const acl = payload[cfg.acl_claim_name];
    if (acl !== undefined) ok.acl = acl;
    return ok;
  };
  const conclude = (c: Credential, v: JwtVerdict): AuthnResult =>
    v.ok ? checkClaims(c, v.payload) : deny(v.reason);
  return {
    // Synchronous with a configured key: no promise per login unless the JWKS path needs one.
    authenticate(c: Credential): AuthnResult | Promise<AuthnResult> {
      if (c.auth_method !== undefined) return IGNORE;
      const token = cfg.from === 'username' ? c.username : c.password?.toString('utf8');
      if (token === undefined || !JWT_SHAPE.test(token)) return IGNORE;
      const v = verify(token);
      return v instanceof Promise ? v.then((r) => conclude(c, r)) : conclude(c, v);
    },
    status: () => jwks?.status() ?? 'connected',
    destroy: () => jwks?.stop(),
  };
}
