/** The jwt authenticator's config schema (./jwt.ts is the provider, ./jwt-verify.ts the verification). */
import { type StaticDecode, Type } from '@sinclair/typebox';
import { Bool, Duration, Enum, Str } from '../../../config/schema/fields.js';
import { ClientSsl } from '../../schema-parts.js';

export const jwtSchema = Type.Object(
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

/** A decoded jwt authenticator config. */
export type JwtConfig = StaticDecode<typeof jwtSchema>;
