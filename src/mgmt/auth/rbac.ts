/**
 * Role-based access to the REST API, as EMQX 5.8 decides it: an administrator may do anything; a viewer
 * may read (GET/HEAD) and use the few self-service calls (log out, change its own password); an API key
 * with the publisher role may only publish. Decided per route, before any handler or body parsing runs,
 * so a refused call changes nothing.
 */
import { ApiError } from '../errors.js';

export type Role = 'administrator' | 'viewer' | 'publisher';

/** What the decision needs to know about one request. */
export interface RbacRequest {
  method: string;
  /** The route pattern, e.g. '/api/v5/users/:username/change_pwd'. */
  route: string;
  params: Readonly<Record<string, string | undefined>>;
  /** The dashboard user making the call (undefined for API keys). */
  username: string | undefined;
}

const READ_METHODS = new Set(['GET', 'HEAD']);
const PREFIX = '/api/v5';
// Calls about the caller itself, open to a viewer: the route and the parameter naming the caller (if any).
const SELF_SERVICE: ReadonlyArray<{ method: string; route: string; self?: string }> = [
  { method: 'POST', route: `${PREFIX}/logout` },
  { method: 'POST', route: `${PREFIX}/users/:username/change_pwd`, self: 'username' },
];
const PUBLISH_ROUTES = new Set([`${PREFIX}/publish`, `${PREFIX}/publish/bulk`]);

/** True when `role` may make this call. */
export function roleAllows(role: string, req: RbacRequest): boolean {
  switch (role) {
    case 'administrator':
      return true;
    case 'viewer': {
      if (READ_METHODS.has(req.method)) return true;
      const own = SELF_SERVICE.find((s) => s.method === req.method && s.route === req.route);
      if (own === undefined) return false;
      return own.self === undefined || (req.username !== undefined && req.params[own.self] === req.username);
    }
    case 'publisher':
      return req.method === 'POST' && PUBLISH_ROUTES.has(req.route);
    default:
      // An unknown role (a hand-edited store) gets nothing rather than everything.
      return false;
  }
}

/** EMQX's answer when the role does not permit the call. */
export function forbidden(): ApiError {
  return new ApiError(403, 'UNAUTHORIZED_ROLE', "You don't have permission to access this resource");
}
