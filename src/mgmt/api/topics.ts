/** Routes (`GET /topics`, `GET /topics/:topic`): every topic filter with subscribers on this node. */
import { Type } from '@sinclair/typebox';
import { ErrorBody, notFound } from '../errors.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';

const Route = Type.Object({ topic: Type.String(), node: Type.String() });

export function topicsArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Topics'];
  const routes = () =>
    [...ctx.node.broker.router.filters()]
      .map((e) => ({ topic: e.filter, node: ctx.node.name }))
      .sort((a, b) => (a.topic < b.topic ? -1 : 1));
  app.get(
    '/topics',
    {
      schema: {
        tags,
        summary: 'List routes',
        querystring: Type.Object({
          ...PageQuery,
          topic: Type.Optional(Type.String()),
          node: Type.Optional(Type.String()),
        }),
      },
    },
    async (req) => {
      const q = req.query;
      const rows = routes().filter(
        (r) => (q.topic === undefined || r.topic === q.topic) && (q.node === undefined || r.node === q.node),
      );
      return paginate(rows, q, (r) => r);
    },
  );
  app.get(
    '/topics/:topic',
    {
      schema: {
        tags,
        summary: 'Routes of one topic filter (URL-encoded)',
        params: Type.Object({ topic: Type.String() }),
        response: { 200: Type.Array(Route), 404: ErrorBody },
      },
    },
    async (req) => {
      if (ctx.node.broker.router.lookup(req.params.topic) === undefined)
        throw notFound('Topic not found', 'TOPIC_NOT_FOUND');
      return [{ topic: req.params.topic, node: ctx.node.name }];
    },
  );
}
