/** The built_in_database source: rules per username, per client id and for all, managed through the API. */
import { Int } from '../../../config/schema/fields.js';
import { sourceSchema } from '../../schema-parts.js';
import { defineSource } from '../types.js';

const schema = sourceSchema('built_in_database', {
  max_rules: Int(100, 'Most rules one user or client may have.', { minimum: 1 }),
});

/** built_in_database */
export const builtInDbSource = defineSource({
  type: 'built_in_database',
  schema,
  create(cfg, env) {
    env.builtInRules.maxRules = cfg.max_rules;
    return { authorize: (ci, action, topic) => env.builtInRules.check(ci, action, topic) ?? 'nomatch' };
  },
});
