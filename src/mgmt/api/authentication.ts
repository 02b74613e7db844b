/**
 * `/authentication` (EMQX tag Authentication): the global MQTT chain's authenticators (list, create, read,
 * replace, delete, status, position, order) and the users of built-in ones (CRUD, import). Authenticator
 * changes go through ConfigService on `authentication`, so they are validated, applied and persisted;
 * users live in the node's store.
 */
import { Type } from '@sinclair/typebox';
import { parseUsersFile } from '../../access/authn/builtin/import.js';
import { AuthnError, authenticatorId, type ImportRecord, type UserStore } from '../../access/authn/types.js';
import { MQTT_GLOBAL_CHAIN } from '../../access/node-binding.js';
import { parsePosition, placeAt } from '../../config/position.js';
import { ConfigUpdateError } from '../../config/service.js';
import { ApiError, badRequest, ErrorBody, NoContent, notFound } from '../errors.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';
import { parseMultipart } from './gateways-multipart.js';

type Raw = Record<string, unknown>;

const MASK = '******';
const tags = ['Authentication'];
const AnyBody = Type.Object(
  {},
  { additionalProperties: true, description: 'An authenticator config (EMQX keys).' },
);
const IdParam = Type.Object({
  id: Type.String({ description: 'mechanism:backend, URL-encoded (password_based%3Amysql)' }),
});
const UserParam = Type.Object({ id: Type.String(), user_id: Type.String() });
const UserBody = Type.Object({
  user_id: Type.String({ minLength: 1 }),
  password: Type.String({ minLength: 1 }),
  is_superuser: Type.Optional(Type.Boolean()),
});
const UserView = Type.Object({ user_id: Type.String(), is_superuser: Type.Boolean() });
const UserChange = Type.Object({
  password: Type.Optional(Type.String({ minLength: 1 })),
  is_superuser: Type.Optional(Type.Boolean()),
});

const idOf = (c: Raw) =>
  authenticatorId(String(c.mechanism), typeof c.backend === 'string' ? c.backend : undefined);

/** The authenticators of the global chain as written (file form). */
function rawList(ctx: MgmtPlane): Raw[] {
  const v = ctx.node.configService.getRaw('authentication');
  return Array.isArray(v) ? (v as Raw[]) : [];
}

function secretsOf(ctx: MgmtPlane, c: Raw): readonly string[] {
  return ctx.node.authn.provider(idOf(c))?.secrets ?? ['password'];
}

/** An authenticator with defaults filled in (when it runs) and secrets masked. */
function view(ctx: MgmtPlane, raw: Raw): Raw {
  const id = idOf(raw);
  const live = ctx.node.authn.authenticator(MQTT_GLOBAL_CHAIN, id);
  const out: Raw = { id, ...(live?.config ?? raw) };
  for (const k of secretsOf(ctx, raw)) if (typeof out[k] === 'string' && out[k] !== '') out[k] = MASK;
  return out;
}

/** Maps access-control and config errors to API errors. */
function apiError(err: unknown): Error {
  if (err instanceof ApiError) return err;
  if (err instanceof AuthnError)
    return new ApiError(
      err.code === 'ALREADY_EXISTS' ? 409 : err.code === 'NOT_FOUND' ? 404 : 400,
      err.code,
      err.message,
    );
  if (err instanceof ConfigUpdateError)
    return badRequest(err.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  return badRequest((err as Error).message);
}

/** Validates, then replaces the global chain through ConfigService. */
async function save(ctx: MgmtPlane, list: Raw[]): Promise<void> {
  try {
    ctx.node.authn.validate(list);
    await ctx.node.configService.update('authentication', list);
  } catch (err) {
    throw apiError(err);
  }
}

function find(ctx: MgmtPlane, id: string): { list: Raw[]; index: number } {
  const list = rawList(ctx);
  const index = list.findIndex((c) => idOf(c) === id);
  if (index < 0) throw notFound(`Authenticator '${id}' not found`);
  return { list, index };
}

/** A body without the read-only id; its own mechanism/backend must name the same authenticator. */
function writable(body: Raw): Raw {
  const { id: _id, ...rest } = body;
  return rest;
}

function usersOf(ctx: MgmtPlane, id: string): UserStore {
  find(ctx, id);
  const store = ctx.node.authn.users(MQTT_GLOBAL_CHAIN, id);
  if (store === undefined)
    throw badRequest(`The authenticator '${id}' keeps no users (built_in_database and scram do)`);
  return store;
}

/** Applies a position ("front", "rear", "before:X", "after:X") to a list of named items. */
export function moveItem<T>(list: T[], index: number, position: string, nameOf: (t: T) => string): T[] {
  const [item] = list.splice(index, 1);
  // "bottom" is an older EMQX spelling of "rear" that this API has always taken.
  const where = parsePosition(position === 'bottom' ? 'rear' : position);
  if (where === undefined)
    throw badRequest(`Invalid position '${position}': use front, rear, before:ID or after:ID`);
  const placed = placeAt(list, item!, where, nameOf);
  if (placed === undefined) throw notFound(`'${(where as { other: string }).other}' not found`);
  return placed;
}

/** `list` in the order `names` gives; refused unless `names` names every item exactly once. */
export function reorder<T>(list: T[], names: string[], nameOf: (t: T) => string, refusal: string): T[] {
  const byName = new Map(list.map((x) => [nameOf(x), x] as const));
  const complete =
    names.length === list.length && new Set(names).size === names.length && names.every((n) => byName.has(n));
  if (!complete) throw badRequest(refusal);
  return names.map((n) => byName.get(n)!);
}

/** EMQX's status answer for an authenticator or a source (one node). */
export function statusBody(
  ctx: MgmtPlane,
  s: { status: string; metrics: Record<string, number> },
): Record<string, unknown> {
  const node = ctx.node.name;
  // The backend's own counters: lookups made, answered, failed (EMQX resource metrics).
  const resource = {
    matched: s.metrics.total ?? 0,
    success: (s.metrics.total ?? 0) - (s.metrics.ignore ?? 0),
    failed: s.metrics.ignore ?? 0,
  };
  return {
    status: s.status,
    metrics: s.metrics,
    resource_metrics: resource,
    node_metrics: [{ node, metrics: s.metrics }],
    node_resource_metrics: [{ node, metrics: resource }],
    node_status: [{ node, status: s.status }],
    node_error: [],
  };
}

/** Import records from a multipart upload (field "filename") or a JSON array body. */
function importRecords(body: unknown, contentType: string): ImportRecord[] {
  try {
    if (Buffer.isBuffer(body) && contentType.startsWith('multipart/form-data')) {
      const part = parseMultipart(body, contentType).find((p) => p.name === 'filename');
      if (part === undefined) throw badRequest('missing the "filename" file field');
      return parseUsersFile(part.data.toString('utf8'), part.filename ?? 'users.csv');
    }
    if (Array.isArray(body)) return body as ImportRecord[];
  } catch (err) {
    throw apiError(err);
  }
  throw badRequest('expected a multipart/form-data upload with a "filename" field, or a JSON array of users');
}

export async function authenticationArea(app: Api, ctx: MgmtPlane): Promise<void> {
  // Encapsulated so the multipart parser serves only these routes.
  await app.register(async (scope) => {
    const api = scope as unknown as Api;
    api.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    routes(api, ctx);
  });
}

function routes(app: Api, ctx: MgmtPlane): void {
  app.get('/authentication', { schema: { tags, summary: 'The global authentication chain' } }, async () =>
    rawList(ctx).map((c) => view(ctx, c)),
  );

  app.post(
    '/authentication',
    {
      schema: {
        tags,
        summary: 'Add an authenticator at the end of the chain',
        body: AnyBody,
        response: { 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (req) => {
      const body = writable(req.body as Raw);
      if (typeof body.mechanism !== 'string') throw badRequest('mechanism is required');
      const id = idOf(body);
      if (rawList(ctx).some((c) => idOf(c) === id))
        throw new ApiError(409, 'ALREADY_EXISTS', `Authenticator '${id}' already exists`);
      await save(ctx, [...rawList(ctx), body]);
      return view(ctx, body);
    },
  );

  app.put(
    '/authentication/order',
    {
      schema: {
        tags,
        summary: 'Reorder the chain',
        body: Type.Array(Type.Object({ id: Type.String() })),
        response: { 204: NoContent, 400: ErrorBody },
      },
    },
    async (req, reply) => {
      const ordered = reorder(
        rawList(ctx),
        req.body.map((x) => x.id),
        idOf,
        'The order must name every authenticator of the chain exactly once',
      );
      await save(ctx, ordered);
      return reply.code(204).send();
    },
  );

  app.get(
    '/authentication/:id',
    { schema: { tags, summary: 'One authenticator', params: IdParam, response: { 404: ErrorBody } } },
    async (req) => {
      const { list, index } = find(ctx, req.params.id);
      return view(ctx, list[index]!);
    },
  );

  app.put(
    '/authentication/:id',
    {
      schema: {
        tags,
        summary: 'Replace an authenticator',
        params: IdParam,
        body: AnyBody,
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const { list, index } = find(ctx, req.params.id);
      const old = list[index]!;
      const next: Raw = {
        mechanism: old.mechanism,
        ...(old.backend !== undefined ? { backend: old.backend } : {}),
        ...writable(req.body as Raw),
      };
      if (idOf(next) !== req.params.id)
        throw badRequest(`The body describes '${idOf(next)}', not '${req.params.id}'`);
      // A masked secret sent back means "unchanged".
      for (const k of secretsOf(ctx, old)) if (next[k] === MASK) next[k] = old[k];
      list[index] = next;
      await save(ctx, list);
      return view(ctx, next);
    },
  );

  app.delete(
    '/authentication/:id',
    {
      schema: {
        tags,
        summary: 'Remove an authenticator (and its users)',
        params: IdParam,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { list, index } = find(ctx, req.params.id);
      list.splice(index, 1);
      await save(ctx, list);
      return reply.code(204).send();
    },
  );

  app.get(
    '/authentication/:id/status',
    {
      schema: {
        tags,
        summary: 'Health and metrics of an authenticator',
        params: IdParam,
        response: { 404: ErrorBody },
      },
    },
    async (req) => {
      find(ctx, req.params.id);
      const s = await ctx.node.authn.status(MQTT_GLOBAL_CHAIN, req.params.id);
      if (s === undefined) throw notFound(`Authenticator '${req.params.id}' is not running`);
      return statusBody(ctx, s);
    },
  );

  app.put(
    '/authentication/:id/position/:position',
    {
      schema: {
        tags,
        summary: 'Move an authenticator: front, rear, before:ID, after:ID',
        params: Type.Object({ id: Type.String(), position: Type.String() }),
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { list, index } = find(ctx, req.params.id);
      await save(ctx, moveItem(list, index, req.params.position, idOf));
      return reply.code(204).send();
    },
  );

  app.get(
    '/authentication/:id/users',
    {
      schema: {
        tags,
        summary: 'Users of a built-in authenticator',
        params: IdParam,
        querystring: Type.Object({
          ...PageQuery,
          like_user_id: Type.Optional(Type.String()),
          is_superuser: Type.Optional(Type.Boolean()),
        }),
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const q = req.query;
      return paginate(
        usersOf(ctx, req.params.id).list({ like_user_id: q.like_user_id, is_superuser: q.is_superuser }),
        q,
        (u) => u,
      );
    },
  );

  app.post(
    '/authentication/:id/users',
    {
      schema: {
        tags,
        summary: 'Add a user',
        params: IdParam,
        body: UserBody,
        response: { 201: UserView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      try {
        return reply.code(201).send(await usersOf(ctx, req.params.id).add(req.body));
      } catch (err) {
        throw apiError(err);
      }
    },
  );

  app.get(
    '/authentication/:id/users/:user_id',
    { schema: { tags, summary: 'One user', params: UserParam, response: { 404: ErrorBody } } },
    async (req) => {
      const u = usersOf(ctx, req.params.id).get(req.params.user_id);
      if (u === undefined) throw notFound('User not found');
      return u;
    },
  );

  app.put(
    '/authentication/:id/users/:user_id',
    {
      schema: {
        tags,
        summary: "Change a user's password or superuser flag",
        params: UserParam,
        body: UserChange,
        response: { 404: ErrorBody },
      },
    },
    async (req) => {
      try {
        return await usersOf(ctx, req.params.id).update(req.params.user_id, req.body);
      } catch (err) {
        throw apiError(err);
      }
    },
  );

  app.delete(
    '/authentication/:id/users/:user_id',
    {
      schema: {
        tags,
        summary: 'Delete a user',
        params: UserParam,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      if (!usersOf(ctx, req.params.id).delete(req.params.user_id)) throw notFound('User not found');
      return reply.code(204).send();
    },
  );

  app.post(
    '/authentication/:id/import_users',
    {
      schema: {
        tags,
        summary: 'Import users: multipart field "filename" (.csv or .json), or a JSON array',
        params: IdParam,
        querystring: Type.Object({
          type: Type.Union([Type.Literal('hash'), Type.Literal('plain')], { default: 'hash' }),
        }),
        consumes: ['multipart/form-data', 'application/json'],
        response: { 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req) => {
      const store = usersOf(ctx, req.params.id);
      const records = importRecords(req.body, String(req.headers['content-type'] ?? ''));
      try {
        return await store.import(req.query.type, records);
      } catch (err) {
        throw apiError(err);
      }
    },
  );
}
