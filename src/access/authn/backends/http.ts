/**
 * password_based:http: the HTTP server decides. 204 → allow; 200 with {result: allow|deny|ignore,
 * is_superuser, client_attrs, expire_at, acl} (JSON or form); anything else, or no answer in time → ignore.
 * With EMQX 4.x's `params` the status alone decides (200 allow, 4xx deny).
 */

import { Type } from '@sinclair/typebox';
import type { AuthnResult, Credential } from '../../../broker/types.js';
import { Enum, Str } from '../../../config/schema/fields.js';
import { clientAttrs, epochSeconds, isSuperuser } from '../../coerce.js';
import { legacyRequestConfig, legacyVerdict, superRequestConfig } from '../../compat/http-params.js';
import { withSuperuserLookup } from '../../compat/super-query.js';
import { HttpRequester } from '../../resources/http.js';
import { authenticatorSchema, httpFields } from '../../schema-parts.js';
import { credentialLookup } from '../../template.js';
import { type AuthnProvider, defineProvider, deny, IGNORE } from '../types.js';

const SuperReq = Type.Object(
  {
    url: Type.String({ minLength: 1, description: 'URL of the superuser check.' }),
    method: Enum(['get', 'post'], 'post', 'HTTP method.'),
    headers: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Request headers.' }),
    params: Str('clientid=%c,username=%u', 'Fields sent (query for GET, form for POST).'),
  },
  {
    additionalProperties: false,
    description:
      'EMQX 4.x auth.http.super_req: asked after a successful login; 200 makes the client a superuser, any other answer (or none) an ordinary user.',
  },
);

const schema = authenticatorSchema('password_based', 'http', {
  ...httpFields('5s'),
  super_req: Type.Optional(SuperReq),
});

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
    const superReq =
      cfg.super_req === undefined ? undefined : new HttpRequester(superRequestConfig(cfg, cfg.super_req));
    const answer = async (c: Credential): Promise<{ result: AuthnResult; row?: Record<string, unknown> }> => {
      const res = await req.send(credentialLookup(c));
      if (legacy) {
        const v = legacyVerdict(res.status);
        if (v === 'allow') return { result: { kind: 'ok', is_superuser: false } };
        return { result: v === 'deny' ? deny('denied by the HTTP server', 'not_authorized') : IGNORE };
      }
      if (res.status === 204) return { result: { kind: 'ok', is_superuser: false } };
      if (res.status === 200) return { result: httpAuthnResult(res.body), row: res.body };
      return { result: IGNORE };
    };
    return {
      async authenticate(c: Credential): Promise<AuthnResult> {
        // Enhanced authentication belongs to other mechanisms; the HTTP server sees every password login.
        if (c.auth_method !== undefined) return IGNORE;
        const { result, row } = await answer(c);
        if (superReq === undefined) return result;
        // 4.x: only a 200 from the superuser request makes a superuser (a 4xx or no answer does not).
        const lookup = () => superReq.send(credentialLookup(c)).then((r) => r.status === 200);
        return withSuperuserLookup(result, row, lookup);
      },
      status: () => req.status(),
    };
  },
});
