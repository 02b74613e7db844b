/**
 * `GET /subscriptions` with EMQX's filters: clientid, topic, match_topic, qos, share_group, durable, node;
 * across every running node (each subscription carries its node).
 */
import { type Static, Type } from '@sinclair/typebox';
import { parseSubscriptionTopic, topicMatches } from '../../broker/topic.js';
import type { Slice, SliceRequest } from '../../cluster/mgmt-rpc.js';
import { PageQuery } from '../pagination.js';
import { pageAcross } from '../peers.js';
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

type Filters = Static<typeof Query>;

/** This node's part of a `/subscriptions` page. */
export function subscriptionSlice(ctx: MgmtPlane, req: SliceRequest): Slice {
  const q = req.query as Filters;
  const rows =
    q.durable === true
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
  return {
    count: rows.length,
    rows: rows.slice(req.offset, req.offset + req.limit).map((s) => ({ ...s, durable: false })),
  };
}

export function subscriptionsArea(app: Api, ctx: MgmtPlane): void {
  app.get(
    '/subscriptions',
    { schema: { tags: ['Subscriptions'], summary: 'List subscriptions', querystring: Query } },
    async (req) => {
      const { page, limit, node, ...query } = req.query;
      return pageAcross(ctx.peers, 'subscriptions', query, { page, limit }, node);
    },
  );
}
