/**
 * Gateways (EMQX `emqx_gateway_api`): list with status and connection counts, one gateway's config, load
 * or update (PUT), unload, enable/disable, plus Hermod's registry and metrics views for `hermod ctl`.
 * Listeners, authentication and clients live in the sibling gateways-*.ts files; this area registers all of them.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticatorId } from '../../access/authn/types.js';
import type { GatewayDescriptor } from '../../gateway/types.js';
import { ApiError, ErrorBody, NoContent } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';
import { gatewayAuthnRoutes } from './gateways-authn.js';
import { gatewayClientRoutes } from './gateways-clients.js';
import {
  change,
  encodedConfig,
  listenerArray,
  listenerMap,
  listenerStatus,
  loadedOf,
  moduleOf,
  type Raw,
  registry,
  route,
  time,
} from './gateways-common.js';
import { gatewayListenerRoutes } from './gateways-listeners.js';
import { mountGatewayRoutes } from './gateways-routes.js';

const NameParam = Type.Object({ name: Type.String() });
const StatusQuery = Type.Object({
  status: Type.Optional(
    Type.Union([Type.Literal('running'), Type.Literal('stopped'), Type.Literal('unloaded')], {
      description: 'Only gateways in this state.',
    }),
  ),
});
const AnyBody = Type.Object({}, { additionalProperties: true });

type NameReq = FastifyRequest<{ Params: { name: string } }>;

/** The overview entry of one gateway (GET /gateways). */
function overview(ctx: MgmtPlane, name: string): Raw {
  const g = registry(ctx).get(name);
  if (g === undefined) return { name, status: 'unloaded' };
  const conf = encodedConfig(g);
  let max: number | 'infinity' = 0;
  const listeners = listenerArray(name, conf).map((l) => {
    const m = l.max_connections;
    if (m === 'infinity' || max === 'infinity') max = 'infinity';
    else max += Number(m);
    return {
      id: l.id,
      type: l.type,
      name: l.name,
      running: g.listeners.get(String(l.id))?.transport?.running ?? false,
    };
  });
  const current = g.currentConnections;
  return {
    name,
    status: g.status,
    created_at: time(g.createdAt),
    started_at: time(g.startedAt),
    stopped_at: time(g.stoppedAt),
    max_connections: max,
    current_connections: current,
    listeners,
    node_status: [
      { node: ctx.node.name, status: g.status, max_connections: max, current_connections: current },
    ],
  };
}

/** GET /gateways/:name for a loaded gateway: the config with defaults, listeners as an array, and timestamps. */
function details(ctx: MgmtPlane, name: string): Raw {
  const g = registry(ctx).get(name);
  if (g === undefined) return { name, status: 'unloaded' };
  const conf = encodedConfig(g);
  const listeners = listenerArray(name, conf).map((l) => ({
    ...l,
    status: listenerStatus(g, String(l.id), l.max_connections),
  }));
  return {
    name,
    ...conf,
    listeners,
    status: g.status,
    created_at: time(g.createdAt),
    started_at: time(g.startedAt),
    stopped_at: time(g.stoppedAt),
    current_connections: g.currentConnections,
  };
}

/**
 * What a form needs to set up or edit a gateway without knowing it: the JSON Schema of `gateway.<name>`
 * (defaults, descriptions, `x-kind` hints; listeners by type inside) and the schemas of the authenticators
 * it can use. A new gateway gets its forms from here, with no dashboard change.
 */
function gatewaySchema(ctx: MgmtPlane, m: GatewayDescriptor): Raw {
  const allowed = m.authnBackends;
  const authentication = ctx.node.authn
    .providerList()
    .map((p) => ({ id: authenticatorId(p.mechanism, p.backend), p }))
    // SCRAM is MQTT 5 enhanced authentication: no gateway protocol can carry it.
    .filter(({ id, p }) => (allowed === undefined ? p.mechanism !== 'scram' : allowed.includes(id)))
    .map(({ id, p }) => ({ id, mechanism: p.mechanism, backend: p.backend, schema: p.schema }));
  return {
    name: m.name,
    protocol: m.protocol,
    description: m.description,
    listener_types: m.listenerTypes,
    schema: m.schema,
    authentication,
  };
}

/** PUT body → a config to load (listeners as a map, no name). */
function loadBody(ctx: MgmtPlane, name: string, body: Raw): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === 'name') continue;
    out[k] = k === 'listeners' ? listenerMap(ctx, name, v) : v;
  }
  return out;
}

async function put(ctx: MgmtPlane, name: string, body: Raw): Promise<void> {
  moduleOf(ctx, name);
  const reg = registry(ctx);
  await change(name, () =>
    reg.get(name) === undefined ? reg.load(name, loadBody(ctx, name, body)) : reg.updateConf(name, body),
  );
}

/** The gateways API area (listed in ./index.ts). */
export async function gatewaysArea(app: Api, ctx: MgmtPlane): Promise<void> {
  route(
    app,
    'GET',
    '',
    { summary: 'List every gateway with its status', querystring: StatusQuery, response: { 400: ErrorBody } },
    async (req: FastifyRequest<{ Querystring: { status?: string } }>) => {
      const all = registry(ctx)
        .modules()
        .map((m) => overview(ctx, m.name));
      const s = req.query.status;
      return s === undefined ? all : all.filter((g) => g.status === s);
    },
  );

  route(
    app,
    'GET',
    '/:name',
    { summary: 'One gateway (config and status)', params: NameParam },
    async (req: NameReq) => {
      moduleOf(ctx, req.params.name);
      return details(ctx, req.params.name);
    },
  );

  route(
    app,
    'PUT',
    '/:name',
    {
      summary: 'Load a gateway (when unloaded) or update its config (listeners and authentication excepted)',
      params: NameParam,
      body: AnyBody,
      response: { 204: NoContent, 400: ErrorBody },
    },
    async (req: FastifyRequest<{ Params: { name: string }; Body: Raw }>, reply: FastifyReply) => {
      await put(ctx, req.params.name, req.body);
      return reply.code(204).send();
    },
  );

  // 5.0's load: POST /gateway {name, ...conf}.
  route(
    app,
    'POST',
    '',
    {
      summary: 'Load a gateway (body names it)',
      body: AnyBody,
      response: { 201: AnyBody, 400: ErrorBody },
      hide: true,
    },
    async (req: FastifyRequest<{ Body: Raw }>, reply: FastifyReply) => {
      const name = req.body.name;
      if (typeof name !== 'string') throw new ApiError(400, 'BAD_REQUEST', 'name is required');
      moduleOf(ctx, name);
      await change(name, () => registry(ctx).load(name, loadBody(ctx, name, req.body)));
      return reply.code(201).send(details(ctx, name));
    },
  );

  route(
    app,
    'DELETE',
    '/:name',
    {
      summary: 'Unload a gateway (stops it and removes its config)',
      params: NameParam,
      response: { 204: NoContent, 404: ErrorBody },
    },
    async (req: NameReq, reply: FastifyReply) => {
      loadedOf(ctx, req.params.name);
      await change(req.params.name, () => registry(ctx).unload(req.params.name));
      return reply.code(204).send();
    },
  );

  route(
    app,
    'PUT',
    '/:name/enable/:enable',
    {
      summary: 'Enable or disable a loaded gateway (disabling closes its connections, keeps its config)',
      params: Type.Object({ name: Type.String(), enable: Type.Boolean() }),
      response: { 204: NoContent, 404: ErrorBody },
    },
    async (req: FastifyRequest<{ Params: { name: string; enable: boolean } }>, reply: FastifyReply) => {
      loadedOf(ctx, req.params.name);
      await change(req.params.name, () => registry(ctx).setEnable(req.params.name, req.params.enable));
      return reply.code(204).send();
    },
  );

  route(
    app,
    'GET',
    '/:name/metrics',
    {
      summary: "A gateway's counters (hermod ctl gateway-metrics)",
      params: NameParam,
      response: { 404: ErrorBody },
    },
    async (req: NameReq) => loadedOf(ctx, req.params.name).metrics.snapshot(),
  );

  app.get(
    '/gateway_registry',
    {
      schema: {
        tags: ['Gateways'],
        summary: 'Gateway modules this node has (hermod ctl gateway-registry list)',
      },
    },
    async () =>
      registry(ctx)
        .modules()
        .map((m) => ({
          name: m.name,
          protocol: m.protocol,
          description: m.description,
          listener_types: m.listenerTypes,
          loaded: registry(ctx).get(m.name) !== undefined,
        })),
  );

  app.get(
    '/gateway_registry/:name/schema',
    {
      schema: {
        tags: ['Gateways'],
        summary: "A gateway's config schema and the authenticators it can use (the dashboard's forms)",
        params: NameParam,
        response: { 400: ErrorBody },
      },
    },
    async (req) => gatewaySchema(ctx, moduleOf(ctx, req.params.name)),
  );

  gatewayListenerRoutes(app, ctx);
  await gatewayAuthnRoutes(app, ctx);
  gatewayClientRoutes(app, ctx);

  const reg = registry(ctx);
  const mounts = [];
  for (const d of reg.modules()) {
    const routes = await reg.routes(d.name);
    if (routes !== undefined) mounts.push({ name: d.name, routes });
  }
  await mountGatewayRoutes(app, mounts, (name) => {
    const g = reg.get(name);
    return g?.status === 'running' ? g.runtime() : undefined;
  });
}
