/**
 * `/authorization` (EMQX tag Authorization): settings, the cache of every connection, the sources (list,
 * add — prepended, as EMQX 5.8 does —, read, replace, delete, status, move, order) and the rules of the
 * built-in database. Settings and sources go through ConfigService on `authorization`; rules live in the
 * node's store.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { RuleItem, WhoType } from '../../access/authz/built-in-rules.js';
import { AuthzError } from '../../access/authz/errors.js';
import { aclText } from '../../access/authz/sources/file.js';
import { AuthorizationSchema } from '../../config/schema/authz.js';
import { ConfigUpdateError } from '../../config/service.js';
import { ApiError, badRequest, ErrorBody, NoContent, notFound } from '../errors.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';
import { moveItem, reorder, statusBody } from './authentication.js';

type Raw = Record<string, unknown>;

const MASK = '******';
const tags = ['Authorization'];
const AnyBody = Type.Object({}, { additionalProperties: true, description: 'A source config (EMQX keys).' });
const TypeParam = Type.Object({ type: Type.String() });
const Rule = Type.Object({
  topic: Type.String({ minLength: 1 }),
  permission: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  action: Type.Union([Type.Literal('publish'), Type.Literal('subscribe'), Type.Literal('all')]),
  qos: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 2 }))),
  retain: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('all')])),
});
const Rules = Type.Array(Rule);
const Settings = Type.Object(
  {
    no_match: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')])),
    deny_action: Type.Optional(Type.Union([Type.Literal('ignore'), Type.Literal('disconnect')])),
    cache: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);

/** The `authorization` root key as written (file form). */
function rawAuthz(ctx: MgmtPlane): Raw {
  const v = ctx.node.configService.getRaw('authorization');
  return v !== null && typeof v === 'object' ? (v as Raw) : {};
}

function rawSources(ctx: MgmtPlane): Raw[] {
  const s = rawAuthz(ctx).sources;
  return Array.isArray(s) ? (s as Raw[]) : [];
}

function apiError(err: unknown): Error {
  if (err instanceof ApiError) return err;
  if (err instanceof AuthzError)
    return new ApiError(
      err.code === 'ALREADY_EXISTS' ? 409 : err.code === 'NOT_FOUND' ? 404 : 400,
      err.code,
      err.message,
    );
  if (err instanceof ConfigUpdateError)
    return badRequest(err.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
  return badRequest((err as Error).message);
}

async function save(ctx: MgmtPlane, next: Raw): Promise<void> {
  try {
    if (Array.isArray(next.sources)) ctx.node.authz.validate(next.sources);
    await ctx.node.configService.update('authorization', next);
  } catch (err) {
    throw apiError(err);
  }
}

function secretsOf(ctx: MgmtPlane, type: string): readonly string[] {
  return ctx.node.authz.providerSecrets(type);
}

/** A source with defaults (when running) and masked secrets; the file source shows its rules text. */
function view(ctx: MgmtPlane, raw: Raw): Raw {
  const type = String(raw.type);
  const out: Raw = { ...(ctx.node.authz.source(type)?.config ?? raw) };
  for (const k of secretsOf(ctx, type)) if (typeof out[k] === 'string' && out[k] !== '') out[k] = MASK;
  if (type === 'file') {
    try {
      out.rules = aclText({
        path: String(out.path ?? 'etc/acl.conf'),
        rules: typeof out.rules === 'string' ? out.rules : undefined,
      });
    } catch {
      out.rules = '';
    }
  }
  return out;
}

function find(ctx: MgmtPlane, type: string): { list: Raw[]; index: number } {
  const list = rawSources(ctx);
  const index = list.findIndex((s) => s.type === type);
  if (index < 0) throw notFound(`Source '${type}' not found`);
  return { list, index };
}

/** The settings part of `authorization` in file form (defaults filled in). */
function settingsView(ctx: MgmtPlane): Raw {
  const full = Value.Default(AuthorizationSchema, structuredClone(rawAuthz(ctx))) as Raw;
  return { no_match: full.no_match, deny_action: full.deny_action, cache: full.cache };
}

/** GET/POST/PUT/DELETE of one kind of built-in rules (users or clients). */
function ruleRoutes(
  app: Api,
  ctx: MgmtPlane,
  kind: 'users' | 'clients',
  type: WhoType,
  field: 'username' | 'clientid',
): void {
  const base = `/authorization/sources/built_in_database/rules/${kind}`;
  const Entry = Type.Object({ [field]: Type.String({ minLength: 1 }), rules: Rules });
  const Param = Type.Object({ [field]: Type.String() });
  const store = () => ctx.node.authz.builtInRules;
  const entry = (who: string, rules: RuleItem[]) => ({ [field]: who, rules });
  const set = (who: string, rules: Static<typeof Rules>) => {
    try {
      store().set(type, who, rules);
    } catch (err) {
      throw apiError(err);
    }
  };

  app.get(
    base,
    {
      schema: {
        tags,
        summary: `Built-in rules per ${field}`,
        querystring: Type.Object({ ...PageQuery, [`like_${field}`]: Type.Optional(Type.String()) }),
      },
    },
    async (req) => {
      const q = req.query as { page: number; limit: number } & Record<string, string | undefined>;
      return paginate(store().list(type, q[`like_${field}`]), q, (e) => entry(e.who, e.rules));
    },
  );
  app.post(
    base,
    {
      schema: {
        tags,
        summary: `Add rules for ${field}s`,
        body: Type.Array(Entry),
        response: { 204: NoContent, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const body = req.body as Array<Record<string, unknown> & { rules: Static<typeof Rules> }>;
      for (const e of body) {
        if (store().get(type, String(e[field])) !== undefined)
          throw new ApiError(409, 'ALREADY_EXISTS', `Rules for ${field} '${e[field]}' already exist`);
      }
      for (const e of body) set(String(e[field]), e.rules);
      return reply.code(204).send();
    },
  );
  app.get(
    `${base}/:${field}`,
    { schema: { tags, summary: `Rules of one ${field}`, params: Param, response: { 404: ErrorBody } } },
    async (req) => {
      const who = (req.params as Record<string, string>)[field]!;
      const rules = store().get(type, who);
      if (rules === undefined) throw notFound(`No rules for ${field} '${who}'`);
      return entry(who, rules);
    },
  );
  app.put(
    `${base}/:${field}`,
    {
      schema: {
        tags,
        summary: `Set the rules of one ${field}`,
        params: Param,
        body: Entry,
        response: { 204: NoContent, 400: ErrorBody },
      },
    },
    async (req, reply) => {
      const who = (req.params as Record<string, string>)[field]!;
      set(who, (req.body as { rules: Static<typeof Rules> }).rules);
      return reply.code(204).send();
    },
  );
  app.delete(
    `${base}/:${field}`,
    {
      schema: {
        tags,
        summary: `Delete the rules of one ${field}`,
        params: Param,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const who = (req.params as Record<string, string>)[field]!;
      if (!store().delete(type, who)) throw notFound(`No rules for ${field} '${who}'`);
      return reply.code(204).send();
    },
  );
}

export function authorizationArea(app: Api, ctx: MgmtPlane): void {
  app.get(
    '/authorization/settings',
    { schema: { tags, summary: 'no_match, deny_action and cache settings' } },
    async () => settingsView(ctx),
  );
  app.put(
    '/authorization/settings',
    {
      schema: {
        tags,
        summary: 'Change the settings (sources stay as they are)',
        body: Settings,
        response: { 400: ErrorBody },
      },
    },
    async (req) => {
      const cur = rawAuthz(ctx);
      const b = req.body;
      await save(ctx, {
        ...cur,
        ...(b.no_match !== undefined ? { no_match: b.no_match } : {}),
        ...(b.deny_action !== undefined ? { deny_action: b.deny_action } : {}),
        ...(b.cache !== undefined ? { cache: { ...((cur.cache as Raw) ?? {}), ...b.cache } } : {}),
      });
      return settingsView(ctx);
    },
  );

  app.delete(
    '/authorization/cache',
    { schema: { tags, summary: 'Clear the authorization cache of every connection' } },
    async (_req, reply) => {
      ctx.node.authz.clearCache();
      return reply.code(204).send();
    },
  );

  app.get('/authorization/sources', { schema: { tags, summary: 'Sources in order' } }, async () => ({
    sources: rawSources(ctx).map((s) => view(ctx, s)),
  }));

  app.post(
    '/authorization/sources',
    {
      schema: {
        tags,
        summary: 'Add a source (at the front, as EMQX 5.8 does)',
        body: AnyBody,
        response: { 204: NoContent, 400: ErrorBody, 409: ErrorBody },
      },
    },
    async (req, reply) => {
      const body = req.body as Raw;
      if (typeof body.type !== 'string') throw badRequest('type is required');
      if (rawSources(ctx).some((s) => s.type === body.type))
        throw new ApiError(409, 'ALREADY_EXISTS', `Source '${body.type}' already exists`);
      await save(ctx, { ...rawAuthz(ctx), sources: [body, ...rawSources(ctx)] });
      return reply.code(204).send();
    },
  );

  app.put(
    '/authorization/sources/order',
    {
      schema: {
        tags,
        summary: 'Reorder the sources',
        body: Type.Array(Type.Object({ type: Type.String() })),
        response: { 204: NoContent, 400: ErrorBody },
      },
    },
    async (req, reply) => {
      const sources = reorder(
        rawSources(ctx),
        req.body.map((x) => x.type),
        (s) => String(s.type),
        'The order must name every source exactly once',
      );
      await save(ctx, { ...rawAuthz(ctx), sources });
      return reply.code(204).send();
    },
  );

  app.get(
    '/authorization/sources/:type',
    { schema: { tags, summary: 'One source', params: TypeParam, response: { 404: ErrorBody } } },
    async (req) => {
      const { list, index } = find(ctx, req.params.type);
      return view(ctx, list[index]!);
    },
  );

  app.put(
    '/authorization/sources/:type',
    {
      schema: {
        tags,
        summary: 'Replace a source',
        params: TypeParam,
        body: AnyBody,
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { list, index } = find(ctx, req.params.type);
      const body: Raw = { type: req.params.type, ...(req.body as Raw) };
      if (body.type !== req.params.type) throw badRequest('Type mismatch');
      const old = list[index]!;
      for (const k of secretsOf(ctx, req.params.type)) if (body[k] === MASK) body[k] = old[k];
      list[index] = body;
      await save(ctx, { ...rawAuthz(ctx), sources: list });
      return reply.code(204).send();
    },
  );

  app.delete(
    '/authorization/sources/:type',
    {
      schema: {
        tags,
        summary: 'Remove a source',
        params: TypeParam,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { list, index } = find(ctx, req.params.type);
      list.splice(index, 1);
      await save(ctx, { ...rawAuthz(ctx), sources: list });
      return reply.code(204).send();
    },
  );

  app.get(
    '/authorization/sources/:type/status',
    {
      schema: {
        tags,
        summary: 'Health and metrics of a source',
        params: TypeParam,
        response: { 404: ErrorBody },
      },
    },
    async (req) => {
      const s = await ctx.node.authz.status(req.params.type);
      if (s === undefined) throw notFound(`Source '${req.params.type}' not found`);
      return statusBody(ctx, s);
    },
  );

  app.post(
    '/authorization/sources/:type/move',
    {
      schema: {
        tags,
        summary: 'Move a source: front, rear, before:TYPE, after:TYPE',
        params: TypeParam,
        body: Type.Object({ position: Type.String() }),
        response: { 204: NoContent, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const { list, index } = find(ctx, req.params.type);
      await save(ctx, {
        ...rawAuthz(ctx),
        sources: moveItem(list, index, req.body.position, (s) => String(s.type)),
      });
      return reply.code(204).send();
    },
  );

  ruleRoutes(app, ctx, 'users', 'username', 'username');
  ruleRoutes(app, ctx, 'clients', 'clientid', 'clientid');

  const allBase = '/authorization/sources/built_in_database/rules/all';
  app.get(allBase, { schema: { tags, summary: 'Rules for every client' } }, async () => ({
    rules: ctx.node.authz.builtInRules.get('all', '') ?? [],
  }));
  app.post(
    allBase,
    {
      schema: {
        tags,
        summary: 'Set the rules for every client',
        body: Type.Object({ rules: Rules }),
        response: { 204: NoContent, 400: ErrorBody },
      },
    },
    async (req, reply) => {
      try {
        ctx.node.authz.builtInRules.set('all', '', req.body.rules);
      } catch (err) {
        throw apiError(err);
      }
      return reply.code(204).send();
    },
  );
  app.delete(
    allBase,
    { schema: { tags, summary: 'Delete the rules for every client' } },
    async (_req, reply) => {
      ctx.node.authz.builtInRules.delete('all', '');
      return reply.code(204).send();
    },
  );
  app.delete(
    '/authorization/sources/built_in_database/rules',
    { schema: { tags, summary: 'Delete every built-in rule' } },
    async (_req, reply) => {
      ctx.node.authz.builtInRules.clear();
      return reply.code(204).send();
    },
  );
}
