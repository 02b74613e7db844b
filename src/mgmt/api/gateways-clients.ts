/**
 * A gateway's clients (`/gateways/:name/clients[...]`): list with every filter of EMQX's gateway clients
 * API, one client, kick, and subscriptions (list, add through the client's channel, remove). The list spans
 * every running node; the per-client endpoints act on this node's clients.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Slice, SliceRequest } from '../../cluster/mgmt-rpc.js';
import type { ClientFilter } from '../../gateway/clients.js';
import type { Gateway } from '../../gateway/gateway.js';
import { ApiError, ErrorBody, NoContent } from '../errors.js';
import { parseTime, rfc3339 } from '../format.js';
import { PageQuery } from '../pagination.js';
import { pageAcross } from '../peers.js';
import type { Api, MgmtPlane } from '../types.js';
import { loadedOf, route } from './gateways-common.js';

const Time = Type.Union([Type.Integer(), Type.String()]);
const ListQuery = Type.Object({
  ...PageQuery,
  node: Type.Optional(Type.String()),
  clientid: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  ip_address: Type.Optional(Type.String()),
  conn_state: Type.Optional(
    Type.Union([Type.Literal('connected'), Type.Literal('idle'), Type.Literal('disconnected')]),
  ),
  clean_start: Type.Optional(Type.Boolean()),
  proto_ver: Type.Optional(Type.String()),
  like_clientid: Type.Optional(Type.String()),
  like_username: Type.Optional(Type.String()),
  gte_created_at: Type.Optional(Time),
  lte_created_at: Type.Optional(Time),
  gte_connected_at: Type.Optional(Time),
  lte_connected_at: Type.Optional(Time),
  endpoint_name: Type.Optional(Type.String()),
  like_endpoint_name: Type.Optional(Type.String()),
  gte_lifetime: Type.Optional(Type.Integer()),
  lte_lifetime: Type.Optional(Type.Integer()),
});
const ClientParams = Type.Object({ name: Type.String(), clientid: Type.String() });
const SubBody = Type.Object({
  topic: Type.Optional(Type.String()),
  qos: Type.Integer({ minimum: 0, maximum: 2, default: 0 }),
  nl: Type.Integer({ minimum: 0, maximum: 1, default: 0 }),
  rap: Type.Integer({ minimum: 0, maximum: 1, default: 0 }),
  rh: Type.Integer({ minimum: 0, maximum: 2, default: 1 }),
  sub_props: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

type ClientReq = FastifyRequest<{ Params: { name: string; clientid: string } }>;

function timeBound(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v, 'ms');
  if (t === undefined)
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `the ${name} parameter expected type is timestamp, but the value is ${v}`,
    );
  return t;
}

function filter(q: Static<typeof ListQuery>): ClientFilter {
  const {
    page: _p,
    limit: _l,
    gte_created_at,
    lte_created_at,
    gte_connected_at,
    lte_connected_at,
    ...rest
  } = q;
  return {
    ...rest,
    gte_created_at: timeBound(gte_created_at, 'gte_created_at'),
    lte_created_at: timeBound(lte_created_at, 'lte_created_at'),
    gte_connected_at: timeBound(gte_connected_at, 'gte_connected_at'),
    lte_connected_at: timeBound(lte_connected_at, 'lte_connected_at'),
  };
}

function client(g: Gateway, clientid: string) {
  const r = g.clients.find(clientid);
  if (r === undefined) throw new ApiError(404, 'CLIENT_NOT_FOUND', 'Client not found');
  return r;
}

/** This node's part of a `/gateways/{name}/clients` page (`query.gateway` names the gateway). */
export function gatewayClientSlice(ctx: MgmtPlane, req: SliceRequest): Slice {
  const { gateway, ...q } = req.query as Static<typeof ListQuery> & { gateway: string };
  const g = loadedOf(ctx, gateway);
  const rows = g.clients.list(filter(q));
  return {
    count: rows.length,
    rows: rows.slice(req.offset, req.offset + req.limit).map((r) => g.clients.format(r, rfc3339)),
  };
}

/** Registers the clients routes. */
export function gatewayClientRoutes(app: Api, ctx: MgmtPlane): void {
  route(
    app,
    'GET',
    '/:name/clients',
    {
      summary: "A gateway's clients",
      params: Type.Object({ name: Type.String() }),
      querystring: ListQuery,
      response: { 404: ErrorBody },
    },
    async (req: FastifyRequest<{ Params: { name: string }; Querystring: Static<typeof ListQuery> }>) => {
      // Checked here first: an unknown gateway or a bad time bound is this request's 4xx.
      loadedOf(ctx, req.params.name);
      filter(req.query);
      const { page, limit, node, ...query } = req.query;
      return pageAcross(
        ctx.peers,
        'gateway_clients',
        { ...query, gateway: req.params.name },
        { page, limit },
        node,
      );
    },
  );

  route(
    app,
    'GET',
    '/:name/clients/:clientid',
    { summary: 'One client', params: ClientParams, response: { 404: ErrorBody } },
    async (req: ClientReq) => {
      const g = loadedOf(ctx, req.params.name);
      return g.clients.format(client(g, req.params.clientid), rfc3339);
    },
  );

  route(
    app,
    'DELETE',
    '/:name/clients/:clientid',
    { summary: 'Kick out a client', params: ClientParams, response: { 204: NoContent, 404: ErrorBody } },
    async (req: ClientReq, reply: FastifyReply) => {
      const g = loadedOf(ctx, req.params.name);
      if (!g.clients.kick(req.params.clientid))
        throw new ApiError(404, 'CLIENT_NOT_FOUND', 'Client not found');
      return reply.code(204).send();
    },
  );

  route(
    app,
    'GET',
    '/:name/clients/:clientid/subscriptions',
    {
      summary: "A client's subscriptions (mounted topics)",
      params: ClientParams,
      response: { 404: ErrorBody },
    },
    async (req: ClientReq) => {
      const g = loadedOf(ctx, req.params.name);
      return g.clients.subscriptions(client(g, req.params.clientid));
    },
  );

  route(
    app,
    'POST',
    '/:name/clients/:clientid/subscriptions',
    {
      summary: 'Subscribe a client (topic un-mounted; STOMP needs sub_props.subid)',
      params: ClientParams,
      body: SubBody,
      response: { 201: Type.Object({}, { additionalProperties: true }), 400: ErrorBody, 404: ErrorBody },
    },
    async (
      req: FastifyRequest<{ Params: { name: string; clientid: string }; Body: Static<typeof SubBody> }>,
      reply: FastifyReply,
    ) => {
      const g = loadedOf(ctx, req.params.name);
      const b = req.body;
      if (b.topic === undefined || b.topic === '')
        throw new ApiError(400, 'BAD_REQUEST', 'Miss topic property');
      const r = g.clients.find(req.params.clientid);
      if (r === undefined) throw new ApiError(404, 'CLIENT_NOT_FOUND', 'client process not found');
      const opts = { qos: b.qos as 0 | 1 | 2, nl: b.nl as 0 | 1, rap: b.rap as 0 | 1, rh: b.rh as 0 | 1 | 2 };
      const res = await g.clients.subscribe(r, b.topic, opts, b.sub_props ?? {});
      if (!res.ok)
        throw new ApiError(res.status, res.status === 404 ? 'CLIENT_NOT_FOUND' : 'BAD_REQUEST', res.message);
      const o = res.opts ?? opts;
      return reply.code(201).send({
        topic: res.topic ?? b.topic,
        qos: o.qos,
        nl: o.nl,
        rap: o.rap,
        rh: o.rh,
        ...(b.sub_props !== undefined ? { sub_props: b.sub_props } : {}),
      });
    },
  );

  route(
    app,
    'DELETE',
    '/:name/clients/:clientid/subscriptions/:topic',
    {
      summary: 'Unsubscribe a client (URL-encoded, un-mounted topic)',
      params: Type.Object({ name: Type.String(), clientid: Type.String(), topic: Type.String() }),
      response: { 204: NoContent, 404: ErrorBody },
    },
    async (
      req: FastifyRequest<{ Params: { name: string; clientid: string; topic: string } }>,
      reply: FastifyReply,
    ) => {
      const g = loadedOf(ctx, req.params.name);
      const r = g.clients.find(req.params.clientid);
      if (r === undefined) throw new ApiError(404, 'CLIENT_NOT_FOUND', 'client process not found');
      const res = await g.clients.unsubscribe(r, req.params.topic);
      if (!res.ok) throw new ApiError(404, 'NOT_FOUND', res.message);
      return reply.code(204).send();
    },
  );
}
