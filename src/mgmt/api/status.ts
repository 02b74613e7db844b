/** `GET /status` and `/api/v5/status` (no auth): is the node up, as text or JSON; 503 while it is not. */
import { Type } from '@sinclair/typebox';
import { VERSION } from '../../version.js';
import type { Api, MgmtPlane } from '../types.js';

/** Registered twice: under /api/v5 (documented) and at the root (hidden), as EMQX serves both. */
export function statusRoutes(app: Api, ctx: MgmtPlane, root = false): void {
  app.get(
    '/status',
    {
      config: { auth: false },
      schema: {
        hide: root,
        tags: ['Status'],
        summary: 'Node status',
        querystring: Type.Object({
          format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('json')])),
        }),
      },
    },
    async (req, reply) => {
      const node = ctx.node;
      const running = node.listeners.size > 0 || node.db !== undefined;
      const code = running ? 200 : 503;
      if (!running) reply.header('retry-after', '15');
      if (req.query.format === 'json') {
        return reply.code(code).send({
          node_name: node.name,
          rel_vsn: VERSION,
          broker_status: running ? 'started' : 'stopped',
          app_status: running ? 'running' : 'not_running',
        });
      }
      const text = running
        ? `Node ${node.name} is started\nhermod is running`
        : `Node ${node.name} is stopped\nhermod is not_running`;
      return reply.code(code).type('text/plain; charset=utf-8').send(text);
    },
  );
}

/** The /api/v5 area. */
export function statusArea(app: Api, ctx: MgmtPlane): void {
  statusRoutes(app, ctx, false);
}
