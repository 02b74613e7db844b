/**
 * jwt: the token comes in the password (or username) and is verified with an HMAC secret, a public key
 * (PEM) or a JWKS endpoint. A value that is not shaped like a JWT is ignored, so a JWT authenticator can
 * share a chain with password ones; a JWT that fails (unsigned `none`, an algorithm the key does not
 * allow, a bad signature, expired, not yet valid, a verify_claims mismatch) is refused with the reason.
 */
import { createPublicKey, createSecretKey } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { Bool, Duration, Enum, Str } from '../../../config/schema/fields.js';
import { clientAttrs, isSuperuser } from '../../coerce.js';
import { ClientSsl } from '../../schema-parts.js';
import { credentialLookup, Template } from '../../template.js';
import { JwksCache } from '../jwks.js';
import { hmacChecks, type JwtVerdict, publicKeyChecks, verifyJwt } from '../jwt-verify.js';
import { type Authenticator, type AuthnProvider, defineProvider, deny, IGNORE } from '../types.js';

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

const schema = Type.Object(
  {
    mechanism: Type.Literal('jwt'),
    enable: Bool(true, 'Use this authenticator.'),
    from: Enum(['password', 'username'], 'password', 'Where the client puts the token.'),
    use_jwks: Bool(false, 'Fetch verification keys from a JWKS endpoint.'),
    algorithm: Enum(['hmac-based', 'public-key'], 'hmac-based', 'Key kind when use_jwks is false.'),
    secret: Str('', 'HMAC secret (hmac-based).'),
    secret_base64_encoded: Bool(false, 'The secret is base64 encoded.'),
    public_key: Str('', 'PEM public key or certificate (public-key).'),
    endpoint: Str('', 'JWKS URL (use_jwks).'),
    refresh_interval: Duration('300s', { description: 'How often the JWKS is fetched again.' }),
    headers: Type.Record(Type.String(), Type.String(), {
      default: { Accept: 'application/json' },
      description: 'Headers of the JWKS request.',
    }),
    pool_size: Type.Integer({ default: 8, description: 'Kept for compatibility.' }),
    ssl: ClientSsl,
    verify_claims: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'Claims that must equal these values (${clientid}, ${username} placeholders).',
    }),
    acl_claim_name: Str('acl', 'Claim holding ACL rules for the client_info authorization source.'),
    disconnect_after_expire: Bool(true, 'Disconnect the client when the token expires (exp).'),
  },
  { additionalProperties: false },
);

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
  jwks: JwksCache | undefined,
): Verify {
  if (jwks !== undefined) return (token) => verifyWithJwks(token, jwks);
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

/** Keys fetched from a JWKS endpoint go through jose (key selection by kid, JWK import). */
async function verifyWithJwks(token: string, jwks: JwksCache): Promise<JwtVerdict> {
  const once = async () => (await jwtVerify(token, await jwks.getter(), { algorithms: PUBLIC_ALGS })).payload;
  try {
    const payload = await once().catch(async (err: unknown) => {
      if (err instanceof joseErrors.JWKSNoMatchingKey && (await jwks.refetchForUnknownKey())) return once();
      throw err;
    });
    return { ok: true, payload };
  } catch (err) {
    return { ok: false, reason: reasonOf(err) };
  }
}

/** jwt */
export const jwtProvider: AuthnProvider = defineProvider({
  mechanism: 'jwt',
  schema,
  secrets: ['secret'],
  create(cfg): Authenticator {
    const jwks = cfg.use_jwks
      ? (() => {
          if (cfg.endpoint === '') throw new Error('jwt: endpoint is required with use_jwks');
          new URL(cfg.endpoint);
          return new JwksCache(cfg.endpoint, cfg.headers, cfg.refresh_interval);
        })()
      : undefined;
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
  },
});
