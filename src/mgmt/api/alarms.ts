/** `/alarms`: active or deactivated alarms, paged; DELETE forgets the deactivated ones. */
import { Type } from '@sinclair/typebox';
import type { Alarm } from '../../broker/alarms.js';
import { rfc3339, rfc3339OrInfinity } from '../format.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';

export function alarmsArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Alarms'];
  const format = (a: Alarm) => ({
    node: ctx.node.name,
    name: a.name,
    message: a.message,
    details: a.details,
    duration: (a.deactivate_at ?? Date.now()) - a.activate_at,
    activate_at: rfc3339(a.activate_at),
    deactivate_at: rfc3339OrInfinity(a.deactivate_at),
    activated: a.activated,
  });
  app.get(
    '/alarms',
    {
      schema: {
        tags,
        summary: 'List alarms',
        querystring: Type.Object({ ...PageQuery, activated: Type.Optional(Type.Boolean()) }),
      },
    },
    async (req) => {
      const q = req.query;
      const rows =
        q.activated === true
          ? ctx.alarms.activated()
          : q.activated === false
            ? ctx.alarms.deactivated()
            : [...ctx.alarms.activated(), ...ctx.alarms.deactivated()];
      return paginate(rows, q, format);
    },
  );
  app.delete(
    '/alarms',
    { schema: { tags, summary: 'Remove every deactivated alarm' } },
    async (_req, reply) => {
      ctx.alarms.clearDeactivated();
      return reply.code(204).send();
    },
  );
}
