/**
 * clientinfo_override: templates such as `${Packet.headers.login}` or `${ConnInfo.clientid}` rendered per
 * connection against the login's Packet, ConnInfo and ClientInfo; the results replace ClientInfo fields
 * before authentication (EMQX gateway `clientinfo_override`).
 */
import type { ClientInfo, ConnInfo } from '../broker/types.js';

const PLACEHOLDER = /\$\{([A-Za-z0-9_.-]+)\}/g;

/** The objects a template may read. */
export interface OverrideScope {
  Packet: Record<string, unknown>;
  ConnInfo: ConnInfo;
  ClientInfo: ClientInfo;
}

function lookup(scope: OverrideScope, path: string): string | undefined {
  const parts = path.split('.');
  const root = parts[0]!;
  let v: unknown;
  if (root === 'Packet' || root === 'ConnInfo' || root === 'ClientInfo') {
    v = scope[root];
    parts.shift();
  } else {
    // A bare `${clientid}` reads ClientInfo, as mountpoints do.
    v = scope.ClientInfo;
  }
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Renders one template. Missing values render as ''; a template whose every placeholder is missing and
 * that has no literal text yields undefined (so a STOMP CONNECT without `login` stays anonymous).
 */
export function renderOverride(template: string, scope: OverrideScope): string | undefined {
  let found = false;
  const out = template.replace(PLACEHOLDER, (_whole, path: string) => {
    const v = lookup(scope, path);
    if (v !== undefined) found = true;
    return v ?? '';
  });
  if (!found && out === '' && template !== '') return undefined;
  return out;
}

/** Applies `overrides` to the ClientInfo (and the matching ConnInfo fields); returns the password to use. */
export function applyOverride(
  overrides: { username?: string; password?: string; clientid?: string },
  scope: OverrideScope,
  password: Buffer | undefined,
): Buffer | undefined {
  const ci = scope.ClientInfo;
  const conn = scope.ConnInfo;
  // Render all three first: one override must not see another's result (EMQX renders against the original).
  const username = overrides.username === undefined ? null : renderOverride(overrides.username, scope);
  const pass = overrides.password === undefined ? null : renderOverride(overrides.password, scope);
  const clientid = overrides.clientid === undefined ? null : renderOverride(overrides.clientid, scope);
  if (username !== null) {
    ci.username = username;
    conn.username = username;
    ci.anonymous = username === undefined;
  }
  if (clientid !== null) {
    ci.clientid = clientid ?? '';
    conn.clientid = ci.clientid;
  }
  if (pass !== null) return pass === undefined ? undefined : Buffer.from(pass);
  return password;
}
