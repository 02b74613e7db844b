/**
 * The request guard: every route needs credentials unless it says `config: { auth: false }`. Accepted are
 * `Bearer <login token>` and `Basic base64(api_key:api_secret)` (never a dashboard password). Failures are
 * EMQX's 401 bodies with `WWW-Authenticate: Basic Realm="emqx-dashboard"`. Once the caller is known, its
 * role must permit the route (403 UNAUTHORIZED_ROLE otherwise), so every route of every API scope is
 * covered by this one hook.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { Actor, MgmtPlane } from '../types.js';
import { forbidden, roleAllows } from './rbac.js';

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
      // The role is read per request, so a demotion applies to tokens already issued.
      const user = t.ok ? ctx.users.get(t.username) : undefined;
      if (t.ok && user !== undefined) {
        authorize(req, { kind: 'token', name: t.username, role: user.role, token: value });
        return;
      }
      if (t.ok) throw unauthorized('BAD_TOKEN', 'Get a token by POST /login');
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
      authorize(req, { kind: check.kind, name: check.key, role: check.role });
      return;
    }
    throw unauthorized('AUTHORIZATION_HEADER_ERROR', 'Support authorization: basic/bearer ');
  };
}

/** Records the caller and refuses the call when its role does not permit the route. */
function authorize(req: FastifyRequest, actor: Actor): void {
  req.actor = actor;
  const allowed = roleAllows(actor.role, {
    method: req.method,
    route: req.routeOptions.url ?? req.url,
    params: req.params as Record<string, string | undefined>,
    username: actor.kind === 'token' ? actor.name : undefined,
  });
  if (!allowed) throw forbidden();
}
