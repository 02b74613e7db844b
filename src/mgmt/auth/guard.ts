/**
 * The request guard: every route needs credentials unless it says `config: { auth: false }`. Accepted are
 * `Bearer <login token>` and `Basic base64(api_key:api_secret)` (never a dashboard password). Failures are
 * EMQX's 401 bodies with `WWW-Authenticate: Basic Realm="emqx-dashboard"`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { MgmtPlane } from '../types.js';

const REALM = { 'WWW-Authenticate': 'Basic Realm="emqx-dashboard"' };

const unauthorized = (code: string, message: string) => new ApiError(401, code, message, REALM);

/** An onRequest hook enforcing authentication. */
export function authGuard(ctx: MgmtPlane) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    req.actor = undefined;
    // Unknown paths answer 404 whoever asks, as EMQX does.
    if (req.is404 || req.routeOptions.config.auth === false) return;
    const header = req.headers.authorization ?? '';
    const space = header.indexOf(' ');
    const scheme = space < 0 ? header.toLowerCase() : header.slice(0, space).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    if (scheme === 'bearer' && value.length > 0) {
      const t = ctx.tokens.check(value);
      if (t.ok) {
        req.actor = { kind: 'token', name: t.username, token: value };
        return;
      }
      if (t.reason === 'expired')
        throw unauthorized('TOKEN_TIME_OUT', 'Token expired, get new token by POST /login');
      throw unauthorized('BAD_TOKEN', 'Get a token by POST /login');
    }
    if (scheme === 'basic' && value.length > 0) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const check =
        colon < 0
          ? { ok: false as const }
          : ctx.apiKeys.check(decoded.slice(0, colon), decoded.slice(colon + 1));
      if (!check.ok) throw unauthorized('BAD_API_KEY_OR_SECRET', 'Check api_key/api_secret');
      // The ctl credential is the operator at the console: it may also manage users (ctl admins).
      if (check.kind === 'api_key' && req.routeOptions.config.apiKey === false) {
        throw unauthorized(
          'API_KEY_NOT_ALLOW',
          `Please use bearer Token instead, using API key/secret in ${req.routeOptions.url ?? req.url} path is not permitted`,
        );
      }
      req.actor = { kind: check.kind, name: check.key };
      return;
    }
    throw unauthorized('AUTHORIZATION_HEADER_ERROR', 'Support authorization: basic/bearer ');
  };
}
