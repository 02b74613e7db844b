/** `mqtt/retainer`: the retainer config (through ConfigService), the retained messages, one by topic. */
import { Type } from '@sinclair/typebox';
import type { Message } from '../../broker/message.js';
import { ErrorBody, NoContent, notFound } from '../errors.js';
import { rfc3339 } from '../format.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';
import { encodedSection, updateSection } from './configs.js';

function summary(m: Message): Record<string, unknown> {
  return {
    msgid: m.id,
    topic: m.topic,
    qos: m.qos,
    publish_at: rfc3339(m.timestamp),
    from_clientid: m.from,
    from_username: m.headers.username ?? '',
  };
}

export function retainerArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Retainer'];
  const TopicParam = Type.Object({ topic: Type.String() });
  app.get('/mqtt/retainer', { schema: { tags, summary: 'Retainer config' } }, async () =>
    encodedSection(ctx, 'retainer'),
  );
  app.put(
    '/mqtt/retainer',
    {
      schema: {
        tags,
        summary: 'Update the retainer config',
        body: Type.Object({}, { additionalProperties: true }),
      },
    },
    async (req) => updateSection(ctx, 'retainer', req.body),
  );
  app.get(
    '/mqtt/retainer/messages',
    {
      schema: {
        tags,
        summary: 'Retained messages (optionally matching a topic filter)',
        querystring: Type.Object({ ...PageQuery, topic: Type.Optional(Type.String()) }),
      },
    },
    async (req) => {
      const r = ctx.node.retainer;
      const msgs =
        req.query.topic === undefined
          ? r.all()
          : r.match(req.query.topic).sort((a, b) => (a.topic < b.topic ? -1 : 1));
      return paginate(msgs, req.query, summary);
    },
  );
  app.delete(
    '/mqtt/retainer/messages',
    { schema: { tags, summary: 'Delete every retained message' } },
    async (_req, reply) => {
      ctx.node.retainer.clean();
      return reply.code(204).send();
    },
  );
  app.get(
    '/mqtt/retainer/message/:topic',
    {
      schema: {
        tags,
        summary: 'One retained message (topic URL-encoded)',
        params: TopicParam,
        response: { 404: ErrorBody },
      },
    },
    async (req) => {
      const m = ctx.node.retainer.get(req.params.topic);
      if (m === undefined) throw notFound('Viewed message not found');
      return { ...summary(m), payload: m.payload.toString('base64') };
    },
  );
  app.delete(
    '/mqtt/retainer/message/:topic',
    {
      schema: {
        tags,
        summary: 'Delete one retained message',
        params: TopicParam,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      if (!ctx.node.retainer.delete(req.params.topic)) throw notFound('The message does not exist');
      return reply.code(204).send();
    },
  );
}
