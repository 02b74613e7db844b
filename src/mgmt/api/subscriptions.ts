/** `GET /subscriptions` with EMQX's filters: clientid, topic, match_topic, qos, share_group, durable, node. */
import { Type } from '@sinclair/typebox';
import { parseSubscriptionTopic, topicMatches } from '../../broker/topic.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';
import { MQTT } from './client-view.js';
import { formatSubscriptions } from './clients.js';

const Query = Type.Object({
  ...PageQuery,
  clientid: Type.Optional(Type.String()),
  topic: Type.Optional(Type.String({ description: 'Exact subscription topic' })),
  match_topic: Type.Optional(Type.String({ description: 'A filter the subscription topics must match' })),
  qos: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
  share_group: Type.Optional(Type.String()),
  durable: Type.Optional(Type.Boolean()),
  node: Type.Optional(Type.String()),
});

export function subscriptionsArea(app: Api, ctx: MgmtPlane): void {
  app.get(
    '/subscriptions',
    { schema: { tags: ['Subscriptions'], summary: 'List subscriptions', querystring: Query } },
    async (req) => {
      const q = req.query;
      const rows =
        (q.node !== undefined && q.node !== ctx.node.name) || q.durable === true
          ? []
          : [...ctx.node.broker.registry.records(MQTT)]
              .filter((r) => q.clientid === undefined || r.session.clientid === q.clientid)
              .flatMap((r) => formatSubscriptions(ctx, r))
              .filter((s) => {
                if (q.topic !== undefined && s.topic !== q.topic) return false;
                if (q.qos !== undefined && s.qos !== q.qos) return false;
                const parsed = parseSubscriptionTopic(s.topic);
                const filter = typeof parsed === 'string' ? s.topic : parsed.filter;
                const group = typeof parsed === 'string' ? undefined : parsed.group;
                if (q.share_group !== undefined && group !== q.share_group) return false;
                if (q.match_topic !== undefined && !topicMatches(q.match_topic, filter)) return false;
                return true;
              });
      return paginate(rows, q, (s) => ({ ...s, durable: false }));
    },
  );
}
