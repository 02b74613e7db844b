/**
 * Clients (EMQX `emqx_mgmt_api_clients`): list with every filter, one client, kick (one and bulk),
 * subscriptions and API-made (un)subscriptions, keepalive, queued and inflight messages, authz cache.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { SessionRecord } from '../../broker/client-registry.js';
import { joinShare, mount, parseSubscriptionTopic, topicFilterError } from '../../broker/topic.js';
import type { QoS, SubOpts } from '../../broker/types.js';
import type { ClientOpRequest, ClientOpResult, Slice, SliceRequest } from '../../cluster/mgmt-rpc.js';
import { ApiError, badRequest, ErrorBody, NoContent } from '../errors.js';
import { parseTime } from '../format.js';
import { PageQuery } from '../pagination.js';
import { findElsewhere, okAnswers, pageAcross } from '../peers.js';
import type { Api, MgmtPlane } from '../types.js';
import { MessagesQuery, messagesPage } from './client-messages.js';
import { clientNotFound, connOf, formatClient, MQTT, mqttChannel } from './client-view.js';

const Time = Type.Union([Type.Integer(), Type.String()]);
const ListQuery = Type.Object({
  ...PageQuery,
  node: Type.Optional(Type.String()),
  clientid: Type.Optional(Type.Array(Type.String())),
  username: Type.Optional(Type.Array(Type.String())),
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
  fields: Type.Optional(Type.String({ description: '"all" or a comma-separated list of fields' })),
});
const ClientParam = Type.Object({ clientid: Type.String() });
const SubscribeBody = Type.Object({
  topic: Type.String({ minLength: 1 }),
  qos: Type.Integer({ minimum: 0, maximum: 2, default: 0 }),
  nl: Type.Integer({ minimum: 0, maximum: 1, default: 0 }),
  rap: Type.Integer({ minimum: 0, maximum: 1, default: 0 }),
  rh: Type.Integer({ minimum: 0, maximum: 2, default: 0 }),
});
const UnsubscribeBody = Type.Object({ topic: Type.String({ minLength: 1 }) });
const Subscription = Type.Object({
  clientid: Type.String(),
  topic: Type.String(),
  qos: Type.Integer(),
  nl: Type.Integer(),
  rap: Type.Integer(),
  rh: Type.Integer(),
  node: Type.String(),
});
const NotFound = { 404: ErrorBody };
const Gone = { 204: NoContent, 404: ErrorBody };
const tags = ['Clients'];

type Filters = Static<typeof ListQuery>;

function timeBound(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v, 'ms');
  if (t === undefined)
    throw badRequest(
      `the ${name} parameter expected type is timestamp, but the value is ${v}`,
      'INVALID_PARAMETER',
    );
  return t;
}

/** The filter predicate of GET /clients. */
function clientFilter(ctx: MgmtPlane, q: Filters): (r: SessionRecord) => boolean {
  const gteCreated = timeBound(q.gte_created_at, 'gte_created_at');
  const lteCreated = timeBound(q.lte_created_at, 'lte_created_at');
  const gteConnected = timeBound(q.gte_connected_at, 'gte_connected_at');
  const lteConnected = timeBound(q.lte_connected_at, 'lte_connected_at');
  const protoVer = q.proto_ver === undefined ? undefined : Number(q.proto_ver);
  return (r) => {
    const ci = r.channel?.clientInfo ?? r.session.clientInfo;
    const conn = connOf(ctx, r);
    if (q.clientid !== undefined && !q.clientid.includes(r.session.clientid)) return false;
    if (q.username !== undefined && (ci.username === undefined || !q.username.includes(ci.username)))
      return false;
    if (q.ip_address !== undefined && ci.peerhost !== q.ip_address) return false;
    if (
      q.conn_state !== undefined &&
      q.conn_state !== (r.channel !== undefined ? 'connected' : 'disconnected')
    )
      return false;
    if (q.clean_start !== undefined && conn?.clean_start !== q.clean_start) return false;
    if (protoVer !== undefined && conn?.proto_ver !== protoVer) return false;
    if (q.like_clientid !== undefined && !r.session.clientid.includes(q.like_clientid)) return false;
    if (q.like_username !== undefined && !(ci.username ?? '').includes(q.like_username)) return false;
    const created = r.session.createdAt;
    if (gteCreated !== undefined && created < gteCreated) return false;
    if (lteCreated !== undefined && created > lteCreated) return false;
    const connected = conn?.connected_at;
    if (gteConnected !== undefined && (connected === undefined || connected < gteConnected)) return false;
    if (lteConnected !== undefined && (connected === undefined || connected > lteConnected)) return false;
    return true;
  };
}

function pickFields(obj: Record<string, unknown>, fields: string | undefined): Record<string, unknown> {
  if (fields === undefined || fields === 'all') return obj;
  const wanted = fields
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f.length > 0);
  return Object.fromEntries(wanted.filter((f) => f in obj).map((f) => [f, obj[f]]));
}

/** Subscribes a client's session as if it had sent SUBSCRIBE (mountpoint applied, hooks run). */
function subscribe(
  ctx: MgmtPlane,
  r: SessionRecord,
  body: Static<typeof SubscribeBody>,
): Static<typeof Subscription> {
  const parsed = parseSubscriptionTopic(body.topic);
  if (typeof parsed === 'string') throw badRequest(`invalid topic filter ${body.topic}: ${parsed}`);
  const err = topicFilterError(parsed.filter);
  if (err !== undefined) throw badRequest(`invalid topic filter ${body.topic}: ${err}`);
  if (parsed.group !== undefined && body.nl === 1)
    throw badRequest(
      'Invalid Subscribe options: `no_local` not allowed for shared-sub. See [MQTT-3.8.3-4]',
      'INVALID_PARAMETER',
    );
  const opts: SubOpts = {
    qos: body.qos as QoS,
    nl: body.nl as 0 | 1,
    rap: body.rap as 0 | 1,
    rh: body.rh as 0 | 1 | 2,
  };
  const mountpoint = r.session.clientInfo.mountpoint;
  ctx.node.broker.subscribe(r.session, joinShare(mount(mountpoint, parsed.filter), parsed.group), opts);
  return { clientid: r.session.clientid, topic: body.topic, ...opts, node: ctx.node.name } as Static<
    typeof Subscription
  >;
}

function unsubscribe(ctx: MgmtPlane, r: SessionRecord, topic: string): void {
  const parsed = parseSubscriptionTopic(topic);
  if (typeof parsed === 'string') return;
  ctx.node.broker.unsubscribe(
    r.session,
    joinShare(mount(r.session.clientInfo.mountpoint, parsed.filter), parsed.group),
  );
}

/** Subscriptions of a session in the API's shape. */
export function formatSubscriptions(ctx: MgmtPlane, r: SessionRecord): Array<Static<typeof Subscription>> {
  return [...r.session.subscriptions].map(([topic, o]) => ({
    clientid: r.session.clientid,
    topic,
    qos: o.qos,
    nl: o.nl,
    rap: o.rap,
    rh: o.rh,
    node: ctx.node.name,
  }));
}

/** This node's part of a `/clients` page: its matches in registry order, formatted. */
export function clientSlice(ctx: MgmtPlane, req: SliceRequest): Slice {
  const q = req.query as Filters;
  const rows = [...ctx.node.broker.registry.records(MQTT)].filter(clientFilter(ctx, q));
  return {
    count: rows.length,
    rows: rows
      .slice(req.offset, req.offset + req.limit)
      .map((r) => pickFields(formatClient(ctx, r), q.fields)),
  };
}

/** This node's sessions connected now or disconnected since `since` (epoch seconds). */
export function sessionsCount(ctx: MgmtPlane, since: number): number {
  let n = 0;
  for (const r of ctx.node.broker.registry.records(MQTT)) {
    if (r.channel !== undefined || (r.disconnectedAt ?? 0) >= since * 1000) n++;
  }
  return n;
}

/** Kicks the clients this node has. */
export function kickLocal(ctx: MgmtPlane, clientids: readonly string[]): string[] {
  return clientids.filter((id) => ctx.node.broker.kick(MQTT, id));
}

/** What each per-client endpoint does with the client's session record, on the node that has it. */
const CLIENT_OPS = {
  get: (ctx, r) => formatClient(ctx, r),
  subscriptions: (ctx, r) => formatSubscriptions(ctx, r),
  subscribe: (ctx, r, body) => subscribe(ctx, r, body as Static<typeof SubscribeBody>),
  subscribe_bulk: (ctx, r, body) =>
    (body as Array<Static<typeof SubscribeBody>>).map((b) => subscribe(ctx, r, b)),
  unsubscribe: (ctx, r, body) => {
    unsubscribe(ctx, r, (body as Static<typeof UnsubscribeBody>).topic);
    return null;
  },
  unsubscribe_bulk: (ctx, r, body) => {
    for (const b of body as Array<Static<typeof UnsubscribeBody>>) unsubscribe(ctx, r, b.topic);
    return null;
  },
  keepalive: (ctx, r, body) => {
    const ch = mqttChannel(r);
    if (ch === undefined) throw clientNotFound();
    const interval = (body as { interval: number }).interval;
    ch.keepaliveMs = interval * 1000;
    ch.connInfo.keepalive = interval;
    return formatClient(ctx, r);
  },
  mqueue: (_ctx, r, body) => messagesPage(r, 'mqueue', body as Static<typeof MessagesQuery>),
  inflight: (_ctx, r, body) => messagesPage(r, 'inflight', body as Static<typeof MessagesQuery>),
  authz_cache: (_ctx, r) => {
    const ch = mqttChannel(r);
    if (ch === undefined) throw clientNotFound();
    return ch.authzCache?.list() ?? [];
  },
  authz_clean: (_ctx, r) => {
    const ch = mqttChannel(r);
    if (ch === undefined) throw clientNotFound();
    ch.authzCache?.clear();
    return null;
  },
} satisfies Record<string, (ctx: MgmtPlane, r: SessionRecord, body: unknown) => unknown>;

type ClientOp = keyof typeof CLIENT_OPS;

/** Runs a per-client endpoint here; null when this node does not have the client. Its API errors travel as values. */
export function clientOpHere(ctx: MgmtPlane, req: ClientOpRequest): ClientOpResult | null {
  const r = ctx.node.broker.registry.get(MQTT, req.clientid);
  if (r === undefined) return null;
  const op = CLIENT_OPS[req.op as ClientOp] as
    | ((c: MgmtPlane, r: SessionRecord, b: unknown) => unknown)
    | undefined;
  if (op === undefined)
    return { ok: false, status: 400, code: 'BAD_REQUEST', message: `no client operation ${req.op}` };
  try {
    return { ok: true, value: op(ctx, r, req.body) };
  } catch (err) {
    if (err instanceof ApiError)
      return { ok: false, status: err.status, code: err.code, message: err.message };
    throw err;
  }
}

/** Runs a per-client endpoint on whichever node has the client (this one first); 404 when none has it. */
async function onClient(ctx: MgmtPlane, clientid: string, op: ClientOp, body?: unknown): Promise<unknown> {
  const req = { clientid, op, body };
  const res = clientOpHere(ctx, req) ?? (await findElsewhere(ctx.peers, 'client_op', req));
  if (res === undefined) throw clientNotFound();
  if (!res.ok) throw new ApiError(res.status, res.code, res.message);
  return res.value;
}

/** Kicks the clients wherever they live: this node first, then the others for those not found here. */
async function kickEverywhere(ctx: MgmtPlane, clientids: readonly string[]): Promise<string[]> {
  const kicked = kickLocal(ctx, clientids);
  const rest = clientids.filter((id) => !kicked.includes(id));
  const others = ctx.peers.running().filter((n) => n !== ctx.peers.self);
  if (rest.length === 0 || others.length === 0) return kicked;
  for (const a of okAnswers(await ctx.peers.askAll('kick', { clientids: rest }, others), 'kick'))
    kicked.push(...a.value);
  return kicked;
}

export function clientsArea(app: Api, ctx: MgmtPlane): void {
  app.get('/clients', { schema: { tags, summary: 'List clients', querystring: ListQuery } }, async (req) => {
    const { page, limit, node, ...query } = req.query;
    clientFilter(ctx, req.query); // a bad time bound is a 400 here, before any node is asked
    return pageAcross(ctx.peers, 'clients', query, { page, limit }, node);
  });

  app.get(
    '/clients/:clientid',
    { schema: { tags, summary: 'One client', params: ClientParam, response: NotFound } },
    async (req) => onClient(ctx, req.params.clientid, 'get'),
  );

  app.delete(
    '/clients/:clientid',
    { schema: { tags, summary: 'Kick out a client', params: ClientParam, response: Gone } },
    async (req, reply) => {
      const kicked = await kickEverywhere(ctx, [req.params.clientid]);
      if (kicked.length === 0) throw clientNotFound();
      return reply.code(204).send();
    },
  );

  app.post(
    '/clients/kickout/bulk',
    {
      schema: { tags, summary: 'Kick out several clients', body: Type.Array(Type.String(), { minItems: 1 }) },
    },
    async (req, reply) => {
      await kickEverywhere(ctx, req.body);
      return reply.code(204).send();
    },
  );

  app.get(
    '/clients/:clientid/subscriptions',
    {
      schema: {
        tags,
        summary: "A client's subscriptions",
        params: ClientParam,
        response: { 200: Type.Array(Subscription), ...NotFound },
      },
    },
    async (req) => onClient(ctx, req.params.clientid, 'subscriptions'),
  );

  app.post(
    '/clients/:clientid/subscribe',
    {
      schema: {
        tags,
        summary: 'Subscribe a client',
        params: ClientParam,
        body: SubscribeBody,
        response: { 200: Subscription, ...NotFound },
      },
    },
    async (req) => onClient(ctx, req.params.clientid, 'subscribe', req.body),
  );

  app.post(
    '/clients/:clientid/subscribe/bulk',
    {
      schema: {
        tags,
        summary: 'Subscribe a client to several topics',
        params: ClientParam,
        body: Type.Array(SubscribeBody, { minItems: 1 }),
        response: { 200: Type.Array(Subscription), ...NotFound },
      },
    },
    async (req) => onClient(ctx, req.params.clientid, 'subscribe_bulk', req.body),
  );

  app.post(
    '/clients/:clientid/unsubscribe',
    {
      schema: {
        tags,
        summary: 'Unsubscribe a client',
        params: ClientParam,
        body: UnsubscribeBody,
        response: Gone,
      },
    },
    async (req, reply) => {
      await onClient(ctx, req.params.clientid, 'unsubscribe', req.body);
      return reply.code(204).send();
    },
  );

  app.post(
    '/clients/:clientid/unsubscribe/bulk',
    {
      schema: {
        tags,
        summary: 'Unsubscribe a client from several topics',
        params: ClientParam,
        body: Type.Array(UnsubscribeBody, { minItems: 1 }),
        response: Gone,
      },
    },
    async (req, reply) => {
      await onClient(ctx, req.params.clientid, 'unsubscribe_bulk', req.body);
      return reply.code(204).send();
    },
  );

  app.put(
    '/clients/:clientid/keepalive',
    {
      schema: {
        tags,
        summary: "Change a connected client's keepalive (seconds)",
        params: ClientParam,
        body: Type.Object({ interval: Type.Integer({ minimum: 0, maximum: 65535 }) }),
        response: NotFound,
      },
    },
    async (req) => onClient(ctx, req.params.clientid, 'keepalive', req.body),
  );

  app.get(
    '/clients/:clientid/mqueue_messages',
    {
      schema: {
        tags,
        summary: 'Messages queued for a client',
        params: ClientParam,
        querystring: MessagesQuery,
        response: NotFound,
      },
    },
    async (req) => onClient(ctx, req.params.clientid, 'mqueue', req.query),
  );

  app.get(
    '/clients/:clientid/inflight_messages',
    {
      schema: {
        tags,
        summary: 'Messages in flight to a client',
        params: ClientParam,
        querystring: MessagesQuery,
        response: NotFound,
      },
    },
    async (req) => onClient(ctx, req.params.clientid, 'inflight', req.query),
  );

  app.get(
    '/clients/:clientid/authorization/cache',
    { schema: { tags, summary: "A client's authorization cache", params: ClientParam, response: NotFound } },
    async (req) => onClient(ctx, req.params.clientid, 'authz_cache'),
  );

  app.delete(
    '/clients/:clientid/authorization/cache',
    {
      schema: { tags, summary: "Clean a client's authorization cache", params: ClientParam, response: Gone },
    },
    async (req, reply) => {
      await onClient(ctx, req.params.clientid, 'authz_clean');
      return reply.code(204).send();
    },
  );

  app.get(
    '/sessions_count',
    {
      schema: {
        tags,
        summary: 'Sessions connected or disconnected since a time',
        querystring: Type.Object({
          since: Type.Integer({ minimum: 0, default: 0, description: 'epoch seconds' }),
        }),
      },
    },
    async (req) => {
      const answers = await ctx.peers.askAll('sessions_count', { since: req.query.since });
      return okAnswers(answers, 'sessions_count').reduce((n, a) => n + a.value, 0);
    },
  );
}
