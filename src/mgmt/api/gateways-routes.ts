/**
 * Each gateway's own REST routes (LwM2M and CoAP commands, for instance), mounted under
 * `/gateways/<name>` in a Fastify scope of their own: behind the API's authentication and error handling,
 * with the gateway's hooks and decorators kept inside its scope.
 */
import type { FastifyInstance, FastifyTypeProviderDefault } from 'fastify';
import type { GatewayApi, GatewayModule, GatewayRuntime } from '../../gateway/types.js';
import type { Api } from '../types.js';

/** Finds a gateway's runtime by name while it runs. */
export type RuntimeLookup = (name: string) => GatewayRuntime | undefined;

/** Registers the routes of every module that has some; `runtimeOf` is asked per request. */
export async function mountGatewayRoutes(
  app: Api,
  modules: readonly Pick<GatewayModule, 'name' | 'routes'>[],
  runtimeOf: RuntimeLookup,
): Promise<void> {
  for (const m of modules) {
    const routes = m.routes;
    if (routes === undefined) continue;
    const api: GatewayApi = { name: m.name, runtime: () => runtimeOf(m.name) };
    await app.register(
      async (scope) => {
        // A gateway declares its own schemas: it gets Fastify's plain type provider.
        await routes(scope.withTypeProvider<FastifyTypeProviderDefault>() as FastifyInstance, api);
      },
      { prefix: `/gateways/${m.name}` },
    );
  }
}
