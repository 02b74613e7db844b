/**
 * The http source: the server decides per request. 204 → allow; 200 with {result: allow|deny|ignore}
 * (JSON or form); any other status → nomatch. The action placeholders (${topic}, ${action}, ${qos},
 * ${retain}, ${access}, ${proto_name}, ${mountpoint}) are available besides the client's.
 */
import type { AuthzAction, ClientInfo } from '../../../broker/types.js';
import { HttpRequester } from '../../resources/http.js';
import { httpFields, sourceSchema } from '../../schema-parts.js';
import { actionLookup } from '../../template.js';
import { type AuthzAnswer, defineSource } from '../types.js';

/** http */
export const httpSource = defineSource({
  type: 'http',
  schema: sourceSchema('http', httpFields('30s')),
  create(cfg) {
    const req = new HttpRequester(cfg);
    return {
      async authorize(ci: ClientInfo, action: AuthzAction, topic: string): Promise<AuthzAnswer> {
        const proto = typeof ci.proto_name === 'string' ? ci.proto_name : ci.protocol.toUpperCase();
        const res = await req.send(actionLookup(ci, action, topic, proto));
        if (res.status === 204) return 'allow';
        if (res.status !== 200) return 'nomatch';
        const r = res.body?.result;
        return r === 'allow' || r === 'deny' ? r : 'nomatch';
      },
      status: () => req.status(),
    };
  },
});
