/**
 * `GET|PUT /prometheus`: the exporter settings as EMQX 5.8 has them (kept, and shown with EMQX's defaults;
 * Hermod does not push to a gateway), and `GET /prometheus/auth`: the authentication and authorization
 * counters in the Prometheus text format (JSON with Accept: application/json).
 */
import { Type } from '@sinclair/typebox';
import { emqxRootWithDefaults } from '../../config/compat/emqx-keys.js';
import type { Json } from '../../config/hocon/index.js';
import type { RootKey } from '../../config/service.js';
import { ErrorBody } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';
import { updateSection } from './configs.js';
import { promLines } from './metrics.js';

const ROOT = 'prometheus' as RootKey;

function settings(ctx: MgmtPlane): Json {
  return emqxRootWithDefaults('prometheus', ctx.node.configService.getAllRaw().prometheus);
}

export function prometheusArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Monitor'];
  app.get('/prometheus', { schema: { tags, summary: 'Prometheus exporter settings' } }, async () =>
    settings(ctx),
  );
  app.put(
    '/prometheus',
    {
      schema: {
        tags,
        summary: 'Change the Prometheus exporter settings',
        body: Type.Object({}, { additionalProperties: true }),
        response: { 400: ErrorBody },
      },
    },
    async (req) => {
      await updateSection(ctx, ROOT, req.body);
      return settings(ctx);
    },
  );
  app.get(
    '/prometheus/auth',
    { schema: { tags, summary: 'Authentication and authorization counters (Prometheus text)' } },
    async (req, reply) => {
      const counters = Object.entries(ctx.node.metrics.snapshot()).filter(
        ([k]) => k.startsWith('authentication.') || k.startsWith('authorization.'),
      );
      if ((req.headers.accept ?? '').includes('application/json')) return Object.fromEntries(counters);
      const lines = promLines('counter', counters);
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${lines.join('\n')}\n`);
    },
  );
}
