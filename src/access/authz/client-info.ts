/**
 * The client_info source: rules that came with the client's authentication (a JWT `acl` claim, an HTTP
 * authenticator's `acl`). v1 `{pub, sub, all}` lists allow those topics and deny everything else; v2 is a
 * list of raw rules and passes on when none matches. An `expire` in the past disables them.
 */
import type { AuthzAction, ClientInfo } from '../../broker/types.js';
import { epochSeconds } from '../coerce.js';
import { EVERYONE, firstMatch, type Permission, type Rule, rawRules, topicPattern } from './rules.js';

interface CompiledAcl {
  rules: Rule[];
  /** v1 denies what it does not list. */
  denyRest: boolean;
  /** Epoch seconds. */
  expire: number | undefined;
}

const cache = new WeakMap<object, CompiledAcl>();

function allowRules(action: Rule['action'], topics: unknown): Rule[] {
  const list = Array.isArray(topics) ? topics : topics === undefined ? [] : [topics];
  return list
    .filter((t): t is string => typeof t === 'string' && t !== '')
    .map((t) => ({
      permission: 'allow',
      who: EVERYONE,
      action,
      qos: undefined,
      retain: undefined,
      topics: [topicPattern(t)],
    }));
}

function compileAcl(acl: object): CompiledAcl {
  if (Array.isArray(acl))
    return { rules: rawRules(acl as Record<string, unknown>[]), denyRest: false, expire: undefined };
  const a = acl as Record<string, unknown>;
  const expire = epochSeconds(a.expire);
  if (Array.isArray(a.rules))
    return { rules: rawRules(a.rules as Record<string, unknown>[]), denyRest: false, expire };
  return {
    rules: [
      ...allowRules('publish', a.pub ?? a.publish),
      ...allowRules('subscribe', a.sub ?? a.subscribe),
      ...allowRules('all', a.all ?? a.pubsub),
    ],
    denyRest: true,
    expire,
  };
}

/** The permission the client's own ACL gives, or undefined when it has none or none applies. */
export function clientInfoAnswer(ci: ClientInfo, action: AuthzAction, topic: string): Permission | undefined {
  const acl = ci.acl;
  if (acl === null || typeof acl !== 'object') return undefined;
  let c = cache.get(acl);
  if (c === undefined) {
    c = compileAcl(acl);
    cache.set(acl, c);
  }
  if (c.expire !== undefined && c.expire * 1000 <= Date.now()) return undefined;
  return firstMatch(c.rules, ci, action, topic) ?? (c.denyRest ? 'deny' : undefined);
}
