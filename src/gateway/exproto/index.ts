/** The ExProto gateway module: socket events to a gRPC handler, which acts through the ConnectionAdapter. */
import type { GatewayModule } from '../types.js';
import { ExprotoChannel, RawCodec } from './channel.js';
import { exprotoRoutes } from './routes.js';
import { type ExprotoConfig, exprotoDescriptor } from './schema.js';
import { ExprotoService } from './service.js';

/** The module the catalogue loads. */
export const exprotoGateway: GatewayModule<Buffer, ExprotoConfig> = {
  ...exprotoDescriptor,
  createCodec: () => new RawCodec(),
  createChannel: (ctx) => new ExprotoChannel(ctx),
  start: (rt) => ExprotoService.start(rt),
  // A device may never log in (a plain echo); UDP peers are still forgotten after idle_timeout (channel.ts).
  idleTimeoutEnds: 'first_frame',
  routes: exprotoRoutes,
};
