/**
 * jwt: the token comes in the password (or username) and is verified with an HMAC secret, a public key
 * (PEM) or a JWKS endpoint. A value that is not shaped like a JWT is ignored, so a JWT authenticator can
 * share a chain with password ones; a JWT that fails (unsigned `none`, an algorithm the key does not
 * allow, a bad signature, expired, not yet valid, a verify_claims mismatch) is refused with the reason.
 *
 * The provider loads the verification (./jwt-verify.ts, with jose) when a jwt authenticator is created, so
 * a node without one does not load jose (~50 ms of start-up module loading, 2026-12-04).
 */
import { type AuthnProvider, defineProvider } from '../types.js';
import { jwtSchema } from './jwt-schema.js';

/** jwt */
export const jwtProvider: AuthnProvider = defineProvider({
  mechanism: 'jwt',
  schema: jwtSchema,
  secrets: ['secret'],
  async create(cfg) {
    const { jwtAuthenticator } = await import('./jwt-verify.js');
    return jwtAuthenticator(cfg);
  },
});
