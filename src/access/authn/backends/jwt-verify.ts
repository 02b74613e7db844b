/**
 * The jwt authenticator's verification (jose): loaded by ./jwt.ts when a jwt authenticator is created.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { clientAttrs, isSuperuser } from '../../coerce.js';
import { credentialLookup, Template } from '../../template.js';
import { JwksCache } from '../jwks.js';
import { type Authenticator, deny, IGNORE } from '../types.js';
import type { JwtConfig } from './jwt-schema.js';

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
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
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

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

type Verify = (token: string) => Promise<JWTPayload>;

function verifier(
  cfg: {
    use_jwks: boolean;
    algorithm: 'hmac-based' | 'public-key';
    secret: string;
    secret_base64_encoded: boolean;
    public_key: string;
  },
  jwks: JwksCache | undefined,
): Verify {
  if (jwks !== undefined) {
    return async (token) => {
      try {
        return (await jwtVerify(token, await jwks.getter(), { algorithms: PUBLIC_ALGS })).payload;
      } catch (err) {
        if (err instanceof joseErrors.JWKSNoMatchingKey && (await jwks.refetchForUnknownKey()))
          return (await jwtVerify(token, await jwks.getter(), { algorithms: PUBLIC_ALGS })).payload;
        throw err;
      }
    };
  }
  let key: KeyObject;
  let algorithms: string[];
  if (cfg.algorithm === 'hmac-based') {
    if (cfg.secret === '') throw new Error('jwt: secret is required for hmac-based');
    key = createSecretKey(
      cfg.secret_base64_encoded ? Buffer.from(cfg.secret, 'base64') : Buffer.from(cfg.secret),
    );
    algorithms = HMAC_ALGS;
  } else {
    if (cfg.public_key === '') throw new Error('jwt: public_key is required for public-key');
    key = createPublicKey(cfg.public_key);
    algorithms = PUBLIC_ALGS;
  }
  return async (token) => (await jwtVerify(token, key, { algorithms })).payload;
}

/** An authenticator for a decoded jwt config; throws for a config that cannot work. */
export function jwtAuthenticator(cfg: JwtConfig): Authenticator {
  const jwks = cfg.use_jwks
    ? (() => {
        if (cfg.endpoint === '') throw new Error('jwt: endpoint is required with use_jwks');
        new URL(cfg.endpoint);
        return new JwksCache(cfg.endpoint, cfg.headers, cfg.refresh_interval);
      })()
    : undefined;
  const verify = verifier(cfg, jwks);
  const claims = Object.entries(cfg.verify_claims).map(([k, v]) => [k, new Template(v)] as const);
  return {
    async authenticate(c: Credential): Promise<AuthnResult> {
      if (c.auth_method !== undefined) return IGNORE;
      const token = cfg.from === 'username' ? c.username : c.password?.toString('utf8');
      if (token === undefined || !JWT_SHAPE.test(token)) return IGNORE;
      let payload: JWTPayload;
      try {
        payload = await verify(token);
      } catch (err) {
        return deny(reasonOf(err));
      }
      const lookup = credentialLookup(c);
      for (const [name, expected] of claims) {
        const want = expected.text(lookup);
        const got = payload[name];
        if (got === undefined) return deny(`jwt claim ${name} missing`);
        if ((typeof got === 'string' ? got : JSON.stringify(got)) !== want)
          return deny(`jwt claim ${name} does not match`);
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
    },
    status: () => jwks?.status() ?? 'connected',
    destroy: () => jwks?.stop(),
  };
}
