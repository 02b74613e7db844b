/**
 * The redis source: HGETALL (or HMGET) of a hash whose fields are topics and whose values are the action
 * (`publish`, `subscribe`, `all`, or EMQX 4.x's 1, 2, 3) or a JSON object {action, qos, retain}. Rules found
 * here allow.
 */
import { clientLookup } from '../../../broker/placeholders.js';
import type { AuthzAction, ClientInfo } from '../../../broker/types.js';
import { legacyAccess } from '../../compat/acl-rows.js';
import { parseRedisCommand } from '../../resources/redis-command.js';
import { redisFields, sourceSchema } from '../../schema-parts.js';
import { firstMatch, rawRules } from '../rules.js';
import { type AuthzAnswer, defineSource } from '../types.js';

/** Turns a hash (topic → action or JSON) into raw rule rows. */
export function redisRows(fields: Array<[string, string]>): Record<string, unknown>[] {
  return fields.map(([topic, value]) => {
    if (value.trim().startsWith('{')) {
      try {
        return { permission: 'allow', topic, ...(JSON.parse(value) as Record<string, unknown>) };
      } catch {
        return { permission: 'allow', topic, action: value };
      }
    }
    // EMQX 4.x stored the access number: 1 subscribe, 2 publish, 3 both.
    return { permission: 'allow', topic, action: legacyAccess(value) ?? value };
  });
}

/** redis */
export const redisSource = defineSource({
  type: 'redis',
  schema: sourceSchema('redis', redisFields),
  secrets: ['password'],
  async create(cfg) {
    const cmd = parseRedisCommand(cfg.cmd, ['HGETALL', 'HMGET']);
    const { RedisClient } = await import('../../resources/redis.js');
    const client = new RedisClient(cfg);
    // HMGET names the topic fields in the command; HGETALL returns them with the values.
    const named = cmd.args.slice(1).map((t) => t.source);
    return {
      async authorize(ci: ClientInfo, action: AuthzAction, topic: string): Promise<AuthzAnswer> {
        const reply = await client.run(cmd, clientLookup(ci));
        const pairs: Array<[string, string]> = [];
        if (Array.isArray(reply)) {
          if (cmd.name === 'HMGET') {
            for (const [i, v] of reply.entries())
              if (v !== null && v !== undefined) pairs.push([named[i]!, String(v)]);
          } else
            for (let i = 0; i + 1 < reply.length; i += 2)
              pairs.push([String(reply[i]), String(reply[i + 1])]);
        }
        return firstMatch(rawRules(redisRows(pairs)), ci, action, topic) ?? 'nomatch';
      },
      status: () => client.status(),
      destroy: () => client.close(),
    };
  },
});
