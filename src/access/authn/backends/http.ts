/**
 * password_based:http: the HTTP server decides. 204 → allow; 200 with {result: allow|deny|ignore,
 * is_superuser, client_attrs, expire_at, acl} (JSON or form); anything else, or no answer in time → ignore.
 * With EMQX 4.x's `params` the status alone decides (200 allow, 4xx deny).
 */
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { clientAttrs, epochSeconds, isSuperuser } from '../../coerce.js';
import { legacyRequestConfig, legacyVerdict } from '../../compat/http-params.js';
import { HttpRequester } from '../../resources/http.js';
import { authenticatorSchema, httpFields } from '../../schema-parts.js';
import { credentialLookup } from '../../template.js';
import { type AuthnProvider, defineProvider, deny, IGNORE } from '../types.js';

const schema = authenticatorSchema('password_based', 'http', httpFields('5s'));

/** Turns a 200 body into a result (EMQX emqx_authn_http semantics). */
export function httpAuthnResult(body: Record<string, unknown> | undefined): AuthnResult {
  const result = body?.result;
  if (result === 'allow') {
    const ok: Extract<AuthnResult, { kind: 'ok' }> = {
      kind: 'ok',
      is_superuser: isSuperuser(body?.is_superuser),
    };
    const attrs = clientAttrs(body?.client_attrs);
    if (attrs !== undefined) ok.client_attrs = attrs;
    const exp = epochSeconds(body?.expire_at);
    if (exp !== undefined) ok.expire_at = exp;
    if (body?.acl !== undefined) ok.acl = body.acl;
    return ok;
  }
  if (result === 'deny') return deny('denied by the HTTP server', 'not_authorized');
  return IGNORE;
}

/** password_based:http */
export const httpProvider: AuthnProvider = defineProvider({
  mechanism: 'password_based',
  backend: 'http',
  schema,
  create(cfg) {
    const legacy = cfg.params !== undefined;
    const req = new HttpRequester(cfg.params === undefined ? cfg : legacyRequestConfig(cfg, cfg.params));
    return {
      async authenticate(c: Credential): Promise<AuthnResult> {
        // Enhanced authentication belongs to other mechanisms; the HTTP server sees every password login.
        if (c.auth_method !== undefined) return IGNORE;
        const res = await req.send(credentialLookup(c));
        if (legacy) {
          const v = legacyVerdict(res.status);
          if (v === 'allow') return { kind: 'ok', is_superuser: false };
          return v === 'deny' ? deny('denied by the HTTP server', 'not_authorized') : IGNORE;
        }
        if (res.status === 204) return { kind: 'ok', is_superuser: false };
        if (res.status === 200) return httpAuthnResult(res.body);
        return IGNORE;
      },
      status: () => req.status(),
    };
  },
});
