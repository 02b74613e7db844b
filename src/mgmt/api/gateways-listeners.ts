/**
 * A gateway's listeners (`/gateways/:name/listeners[/:id]`): list with live status, create, read, replace,
 * delete. Every change is a `gateway` config update, so it is validated, persisted and applied live (only
 * the listener that changed restarts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type GatewayListenerType, LISTENER_NAME_RE } from '../../config/schema/gateway-common.js';
import type { Gateway } from '../../gateway/gateway.js';
import { ApiError, ErrorBody, NoContent } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';
import {
  change,
  encodedConfig,
  listenerArray,
  listenerStatus,
  loadedOf,
  parseListenerId,
  type Raw,
  registry,
  route,
  savePemContents,
  stripView,
} from './gateways-common.js';

const NameParam = Type.Object({ name: Type.String() });
const IdParam = Type.Object({ name: Type.String(), id: Type.String() });
const AnyBody = Type.Object({}, { additionalProperties: true });

type IdReq = FastifyRequest<{ Params: { name: string; id: string } }>;

/** One listener as the API shows it: config with defaults, id/type/name, live status per node. */
function view(ctx: MgmtPlane, g: Gateway, id: string): Raw | undefined {
  const l = listenerArray(g.name, encodedConfig(g)).find((x) => x.id === id);
  if (l === undefined) return undefined;
  const status = listenerStatus(g, id, l.max_connections);
  return { ...l, running: status.running, status, node_status: [{ node: ctx.node.name, status }] };
}

function found(ctx: MgmtPlane, g: Gateway, id: string): Raw {
  const v = view(ctx, g, id);
  if (v === undefined) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Listener not found');
  return v;
}

/** Registers the listener routes. */
export function gatewayListenerRoutes(app: Api, ctx: MgmtPlane): void {
  route(
    app,
    'GET',
    '/:name/listeners',
    { summary: "A gateway's listeners with their status", params: NameParam, response: { 404: ErrorBody } },
    async (req: FastifyRequest<{ Params: { name: string } }>) => {
      const g = loadedOf(ctx, req.params.name);
      return listenerArray(g.name, encodedConfig(g)).map((l) => view(ctx, g, String(l.id)));
    },
  );

  route(
    app,
    'POST',
    '/:name/listeners',
    {
      summary: 'Add a listener (body: type, name, bind, …)',
      params: NameParam,
      body: AnyBody,
      response: { 201: AnyBody, 400: ErrorBody, 404: ErrorBody },
    },
    async (req: FastifyRequest<{ Params: { name: string }; Body: Raw }>, reply: FastifyReply) => {
      const g = loadedOf(ctx, req.params.name);
      for (const k of ['type', 'name', 'bind'])
        if (req.body[k] === undefined) throw new ApiError(400, 'BAD_REQUEST', `${k} is required`);
      const type = String(req.body.type) as GatewayListenerType;
      const name = String(req.body.name);
      if (!g.module.listenerTypes.includes(type))
        throw new ApiError(400, 'BAD_REQUEST', `Listener type ${type} is not supported by gateway ${g.name}`);
      if (!LISTENER_NAME_RE.test(name))
        throw new ApiError(400, 'BAD_REQUEST', `Invalid listener name ${name}`);
      if (registry(ctx).rawListener(g.name, type, name) !== undefined)
        throw new ApiError(400, 'BAD_REQUEST', 'Listener name has occupied');
      await change(g.name, () =>
        registry(ctx).putListener(
          g.name,
          type,
          name,
          savePemContents(ctx, g.name, type, name, stripView(req.body)),
        ),
      );
      return reply.code(201).send(found(ctx, g, `${g.name}:${type}:${name}`));
    },
  );

  route(
    app,
    'GET',
    '/:name/listeners/:id',
    { summary: 'One listener', params: IdParam, response: { 404: ErrorBody } },
    async (req: IdReq) => {
      const g = loadedOf(ctx, req.params.name);
      parseListenerId(g, req.params.id);
      return found(ctx, g, req.params.id);
    },
  );

  route(
    app,
    'PUT',
    '/:name/listeners/:id',
    {
      summary: "Replace a listener's config (its authenticator is kept unless given)",
      params: IdParam,
      body: AnyBody,
      response: { 200: AnyBody, 400: ErrorBody, 404: ErrorBody },
    },
    async (req: FastifyRequest<{ Params: { name: string; id: string }; Body: Raw }>) => {
      const g = loadedOf(ctx, req.params.name);
      const [type, name] = parseListenerId(g, req.params.id);
      const old = registry(ctx).rawListener(g.name, type, name);
      if (old === undefined) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Listener not found');
      const next = savePemContents(ctx, g.name, type, name, stripView(req.body));
      if (next.authentication === undefined && old.authentication !== undefined)
        next.authentication = old.authentication;
      if (next.bind === undefined && old.bind !== undefined) next.bind = old.bind;
      await change(g.name, () => registry(ctx).putListener(g.name, type, name, next));
      return found(ctx, g, req.params.id);
    },
  );

  route(
    app,
    'DELETE',
    '/:name/listeners/:id',
    {
      summary: 'Remove a listener (its connections close)',
      params: IdParam,
      response: { 204: NoContent, 404: ErrorBody },
    },
    async (req: IdReq, reply: FastifyReply) => {
      const g = loadedOf(ctx, req.params.name);
      const [type, name] = parseListenerId(g, req.params.id);
      const removed = await change(g.name, () => registry(ctx).removeListener(g.name, type, name));
      if (!removed) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Listener not found');
      return reply.code(204).send();
    },
  );
}
