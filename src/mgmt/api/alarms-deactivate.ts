/** `POST /alarms/force_deactivate`: clears an active alarm by name, whoever raised it. */
import { Type } from '@sinclair/typebox';
import { ErrorBody, notFound } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

export function alarmsDeactivateArea(app: Api, ctx: MgmtPlane): void {
  app.post(
    '/alarms/force_deactivate',
    {
      schema: {
        tags: ['Alarms'],
        summary: 'Deactivate an active alarm',
        body: Type.Object({ name: Type.String({ minLength: 1 }), node: Type.Optional(Type.String()) }),
        response: { 204: Type.Null(), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { name, node } = req.body;
      if (node !== undefined && node !== ctx.node.name) throw notFound(`Node not found: ${node}`);
      if (!ctx.alarms.deactivate(name)) throw notFound(`Alarm not found or not active: ${name}`);
      return reply.code(204).send();
    },
  );
}
