/**
 * EMQX 3.x/4.x's MongoDB plugin: `selector = "username=%u"` (comma-separated field=value pairs) where EMQX 5
 * has a filter map, `password_field` / `super_field` for the field names, and mqtt_acl documents that list
 * allowed topics in `publish`, `subscribe` and `pubsub` arrays.
 */

/** `username=%u, clientid=%c` as a filter map (values keep their placeholders). */
export function selectorFilter(selector: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of selector.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A mongodb authenticator or source config with 4.x's selector and field names read as EMQX 5's keys. */
export function withLegacyMongo(raw: Record<string, unknown>): Record<string, unknown> {
  const isMongo = raw.backend === 'mongodb' || raw.type === 'mongodb';
  if (!isMongo) return raw;
  const { selector, password_field, super_field, ...rest } = raw;
  if (selector === undefined && password_field === undefined && super_field === undefined) return raw;
  const out: Record<string, unknown> = { ...rest };
  if (typeof selector === 'string') out.filter ??= selectorFilter(selector);
  else if (selector !== undefined) out.selector = selector;
  if (password_field !== undefined) out.password_hash_field ??= password_field;
  if (super_field !== undefined) out.is_superuser_field ??= super_field;
  return out;
}

const LISTS: ReadonlyArray<[string, string]> = [
  ['publish', 'publish'],
  ['subscribe', 'subscribe'],
  ['pubsub', 'all'],
];

/**
 * Rule documents as EMQX 5 rule rows: a 4.x document (no `permission`, topic arrays under publish,
 * subscribe, pubsub) becomes one allow row per non-empty array; other documents pass through unchanged.
 */
export function legacyAclDocuments(docs: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const doc of docs) {
    const legacy = !('permission' in doc) && LISTS.some(([k]) => Array.isArray(doc[k]));
    if (!legacy) {
      out.push(doc);
      continue;
    }
    for (const [key, action] of LISTS) {
      const topics = doc[key];
      if (Array.isArray(topics) && topics.length > 0) out.push({ permission: 'allow', action, topics });
    }
  }
  return out;
}
