/**
 * Every REST API area, registered under /api/v5 in this order, each as its own Fastify plugin (an
 * encapsulated scope: what one area adds, such as a content-type parser, stays in it). Adding an area: write
 * one file exporting `(app, ctx) => void` that declares its routes with TypeBox schemas, and list it here.
 */
import type { FastifyInstance } from 'fastify';
import type { Api, ApiArea, MgmtPlane, TypeBoxProvider } from '../types.js';
import { alarmsArea } from './alarms.js';
import { alarmsDeactivateArea } from './alarms-deactivate.js';
import { apiKeysArea } from './api-keys.js';
import { authenticationArea } from './authentication.js';
import { authorizationArea } from './authorization.js';
import { autoSubscribeArea } from './auto-subscribe.js';
import { bannedArea } from './banned.js';
import { clientsArea } from './clients.js';
import { clusterArea } from './cluster.js';
import { clusterRpcArea } from './cluster-rpc.js';
import { configsArea } from './configs.js';
import { configsEmqxArea } from './configs-emqx.js';
import { errorCodesArea } from './error-codes.js';
import { exhooksArea } from './exhooks.js';
import { gatewaysArea } from './gateways.js';
import { listenersArea } from './listeners.js';
import { listenersStatusArea } from './listeners-status.js';
import { metricsArea } from './metrics.js';
import { monitorArea } from './monitor.js';
import { nodesArea } from './nodes.js';
import { pluginsArea } from './plugins.js';
import { prometheusArea } from './prometheus.js';
import { publishArea } from './publish.js';
import { retainerArea } from './retainer.js';
import { statusArea } from './status.js';
import { subscriptionsArea } from './subscriptions.js';
import { topicsArea } from './topics.js';
import { usersArea } from './users.js';

export const AREAS: ApiArea[] = [
  statusArea,
  usersArea,
  apiKeysArea,
  metricsArea,
  nodesArea,
  clusterArea,
  clientsArea,
  subscriptionsArea,
  topicsArea,
  publishArea,
  retainerArea,
  listenersArea,
  configsArea,
  bannedArea,
  alarmsArea,
  errorCodesArea,
  exhooksArea,
  gatewaysArea,
  authenticationArea,
  authorizationArea,
  configsEmqxArea,
  listenersStatusArea,
  alarmsDeactivateArea,
  prometheusArea,
  pluginsArea,
  autoSubscribeArea,
  monitorArea,
  clusterRpcArea,
];

/** Registers each area as its own plugin scope under /api/v5; hooks of `app` (the auth guard) apply to all. */
export async function registerAreas(
  app: FastifyInstance,
  ctx: MgmtPlane,
  areas: readonly ApiArea[] = AREAS,
): Promise<void> {
  for (const area of areas) {
    await app.register(async (scope) => area(scope.withTypeProvider<TypeBoxProvider>() as Api, ctx), {
      prefix: '/api/v5',
    });
  }
}
