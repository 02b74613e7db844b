/**
 * The http source: the server decides per request. 204 → allow; 200 with {result: allow|deny|ignore}
 * (JSON or form); any other status → nomatch. With EMQX 4.x's `params` the status alone decides (200 allow,
 * 4xx deny). The action placeholders (${topic}, ${action}, ${qos},
 * ${retain}, ${access}, ${proto_name}, ${mountpoint}) are available besides the client's.
 */
import type { AuthzAction, ClientInfo } from '../../../broker/types.js';
import { legacyRequestConfig, legacyVerdict } from '../../compat/http-params.js';
import { HttpRequester } from '../../resources/http.js';
import { httpFields, sourceSchema } from '../../schema-parts.js';
import { actionLookup } from '../../template.js';
import { type AuthzAnswer, defineSource } from '../types.js';

/** http */
export const httpSource = defineSource({
  type: 'http',
  schema: sourceSchema('http', httpFields('30s')),
  create(cfg) {
    const legacy = cfg.params !== undefined;
    const req = new HttpRequester(cfg.params === undefined ? cfg : legacyRequestConfig(cfg, cfg.params));
    return {
      async authorize(ci: ClientInfo, action: AuthzAction, topic: string): Promise<AuthzAnswer> {
        const proto = typeof ci.proto_name === 'string' ? ci.proto_name : ci.protocol.toUpperCase();
        const res = await req.send(actionLookup(ci, action, topic, proto));
        if (legacy) {
          const v = legacyVerdict(res.status);
          return v === 'ignore' ? 'nomatch' : v;
        }
        if (res.status === 204) return 'allow';
        if (res.status !== 200) return 'nomatch';
        const r = res.body?.result;
        return r === 'allow' || r === 'deny' ? r : 'nomatch';
      },
      status: () => req.status(),
    };
  },
});
