/** The ExProto gateway module: socket events to a gRPC handler, which acts through the ConnectionAdapter. */
import type { GatewayModule } from '../types.js';
import { ExprotoChannel, RawCodec } from './channel.js';
import { type ExprotoConfig, exprotoDescriptor } from './schema.js';
import { ExprotoService, serviceOf } from './service.js';

/** The module the catalogue loads. */
export const exprotoGateway: GatewayModule<Buffer, ExprotoConfig> = {
  ...exprotoDescriptor,
  createCodec: () => new RawCodec(),
  createChannel: (ctx) => new ExprotoChannel(ctx),
  start: (rt) => ExprotoService.start(rt),
  // A device may never log in (a plain echo); UDP peers are still forgotten after idle_timeout (channel.ts).
  idleTimeoutEnds: 'first_frame',
  routes(app, api) {
    // The handler's reachability and call counts, so an operator sees why connections are being closed.
    app.get('/handler', async (_req, reply) => {
      const rt = api.runtime();
      const svc = rt === undefined ? undefined : serviceOf(rt.node);
      if (svc === undefined)
        return reply.code(404).send({ code: 'NOT_FOUND', message: 'Gateway exproto is not running' });
      return { ...svc.handler.snapshot(), adapter: { port: svc.port } };
    });
  },
};
