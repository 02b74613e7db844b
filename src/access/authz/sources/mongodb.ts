/**
 * The mongodb source: documents matching the filter are rules (permission, action, topics/topic, qos,
 * retain), or EMQX 4.x documents listing allowed topics under publish, subscribe, pubsub.
 */
import { clientLookup } from '../../../broker/placeholders.js';
import type { AuthzAction, ClientInfo } from '../../../broker/types.js';
import { Int } from '../../../config/schema/fields.js';
import { legacyAclDocuments } from '../../compat/mongo-forms.js';
import { mongoFields, sourceSchema } from '../../schema-parts.js';
import { renderMap } from '../../template.js';
import { firstMatch, rawRules } from '../rules.js';
import { type AuthzAnswer, defineSource } from '../types.js';

/** mongodb */
export const mongodbSource = defineSource({
  type: 'mongodb',
  schema: sourceSchema('mongodb', {
    ...mongoFields,
    limit: Int(1000, 'Most rule documents read per check.', { minimum: 1 }),
    skip: Int(0, 'Documents skipped.', { minimum: 0 }),
  }),
  secrets: ['password'],
  async create(cfg) {
    const { MongoBackend } = await import('../../resources/mongodb.js');
    const backend = new MongoBackend(cfg);
    return {
      async authorize(ci: ClientInfo, action: AuthzAction, topic: string): Promise<AuthzAnswer> {
        const filter = renderMap(cfg.filter, clientLookup(ci)) as Record<string, unknown>;
        const docs = await backend.find(filter, cfg.limit, cfg.skip);
        // EMQX 4.x documents (publish / subscribe / pubsub topic arrays) are read as allow rules.
        return firstMatch(rawRules(legacyAclDocuments(docs)), ci, action, topic) ?? 'nomatch';
      },
      status: () => backend.status(),
      destroy: () => backend.close(),
    };
  },
});
