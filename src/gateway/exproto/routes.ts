/**
 * ExProto's REST route under `/api/v5/gateways/exproto`: `GET /handler`, the gRPC handler's reachability and
 * call counts, so an operator sees why connections are being closed. Apart from the gateway's code so the
 * management API mounts it without loading gRPC; the service module it reads is loaded once the gateway runs.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayApi } from '../types.js';

export function exprotoRoutes(app: FastifyInstance, api: GatewayApi): void {
  app.get('/handler', async (_req, reply) => {
    const rt = api.runtime();
    const svc = rt === undefined ? undefined : (await import('./service.js')).serviceOf(rt.node);
    if (svc === undefined)
      return reply.code(404).send({ code: 'NOT_FOUND', message: 'Gateway exproto is not running' });
    return { ...svc.handler.snapshot(), adapter: { port: svc.port } };
  });
}
