/**
 * Gateway and listener authenticators (`/gateways/:name/authentication[...]` and
 * `/gateways/:name/listeners/:id/authentication[...]`): the authenticator config (GET/POST/PUT/DELETE),
 * its users (built-in database) and user import. Unlike EMQX, listener authenticators are fully manageable
 * here. The config lives in `gateway.<name>[.listeners.<type>.<name>].authentication`; access control's
 * chains (`<protocol>:global`, `<listener id>`) follow it.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { importFlag, parseUsersFile } from '../../access/authn/builtin/import.js';
import { authenticatorId, type ImportRecord, type UserStore } from '../../access/authn/types.js';
import { type ChainRegistry, chainRegistry, gatewayChain } from '../../gateway/authn.js';
import type { Gateway } from '../../gateway/gateway.js';
import { ApiError, ErrorBody, NoContent } from '../errors.js';
import { PageQuery, paginate } from '../pagination.js';
import type { Api, MgmtPlane } from '../types.js';
import { change, loadedOf, parseListenerId, type Raw, registry, route } from './gateways-common.js';
import { parseMultipart } from './gateways-multipart.js';

const AnyBody = Type.Object({}, { additionalProperties: true });
const MASK = '******';

type Params = { name: string; id?: string; uid?: string };
type Req<B = unknown, Q = unknown> = FastifyRequest<{ Params: Params; Body: B; Querystring: Q }>;

/** Whose authenticator a request is about. */
interface Target {
  g: Gateway;
  /** Access control chain name. */
  chain: string;
  listener: [string, string] | undefined;
  /** Raw config, or undefined when there is none. */
  conf: Raw | undefined;
  /** Where error texts say it lives ('stomp' or 'stomp:tcp:default'). */
  label: string;
}

function target(ctx: MgmtPlane, p: Params): Target {
  const g = loadedOf(ctx, p.name);
  if (p.id === undefined) {
    const raw = registry(ctx).rawConfig(g.name);
    return {
      g,
      chain: gatewayChain(g.module),
      listener: undefined,
      conf: raw?.authentication as Raw | undefined,
      label: g.name,
    };
  }
  const [type, name] = parseListenerId(g, p.id);
  const l = registry(ctx).rawListener(g.name, type, name);
  if (l === undefined) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Listener not found');
  return { g, chain: p.id, listener: [type, name], conf: l.authentication as Raw | undefined, label: p.id };
}

function chains(ctx: MgmtPlane): ChainRegistry {
  const reg = chainRegistry(ctx.node);
  if (reg === undefined)
    throw new ApiError(409, 'NOT_SUPPORT', 'Authentication is not available on this node');
  return reg;
}

function idOf(conf: Raw): string {
  return authenticatorId(String(conf.mechanism), typeof conf.backend === 'string' ? conf.backend : undefined);
}

/** Secret keys of the authenticator's provider (shown masked, kept when sent back masked). */
function secrets(ctx: MgmtPlane, conf: Raw): readonly string[] {
  const authn = (
    ctx.node as unknown as { authn?: { provider?(id: string): { secrets: readonly string[] } | undefined } }
  ).authn;
  return authn?.provider?.(idOf(conf))?.secrets ?? ['password'];
}

/** The authenticator as stored (defaults filled by access control when it has it), secrets masked. */
function authnView(ctx: MgmtPlane, t: Target): Raw {
  const conf = t.conf!;
  const live = chainRegistry(ctx.node)?.chain(t.chain)?.[0]?.config;
  const out: Raw = { ...(live ?? conf) };
  for (const k of secrets(ctx, conf)) if (typeof out[k] === 'string' && out[k] !== '') out[k] = MASK;
  return out;
}

function users(ctx: MgmtPlane, t: Target): UserStore {
  if (t.conf === undefined) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Authentication not found');
  const store = chains(ctx).users(t.chain, idOf(t.conf));
  if (store === undefined)
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `The authenticator ${idOf(t.conf)} keeps no users (only built_in_database does)`,
    );
  return store;
}

async function setConf(ctx: MgmtPlane, t: Target, conf: Raw | undefined): Promise<void> {
  await change(t.g.name, () => registry(ctx).setAuthentication(t.g.name, t.listener, conf));
}

/** Users records of an import, and the kind (hash when records carry password_hash, else plain). */
function importKind(records: ImportRecord[], type: string | undefined): 'hash' | 'plain' {
  if (type === 'hash' || type === 'plain') return type;
  return records.some((r) => r.password_hash !== undefined) ? 'hash' : 'plain';
}

/** Registers the authenticator, users and import routes (gateway and listener level). */
export async function gatewayAuthnRoutes(app: Api, ctx: MgmtPlane): Promise<void> {
  // Encapsulated so the multipart parser serves only these routes.
  await app.register(async (scope) => {
    const api = scope as unknown as Api;
    api.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    );
    for (const base of ['/:name', '/:name/listeners/:id']) routes(api, ctx, base);
  });
}

function routes(app: Api, ctx: MgmtPlane, base: string): void {
  const params = base.includes(':id')
    ? Type.Object({ name: Type.String(), id: Type.String() })
    : Type.Object({ name: Type.String() });
  const userParams = Type.Object({ ...params.properties, uid: Type.String() });
  const who = base.includes(':id') ? "a listener's" : "a gateway's";

  route(
    app,
    'GET',
    `${base}/authentication`,
    { summary: `${who} authenticator (204 when none)`, params, response: { 204: NoContent, 404: ErrorBody } },
    async (req: Req, reply: FastifyReply) => {
      const t = target(ctx, req.params);
      if (t.conf === undefined) return reply.code(204).send();
      return authnView(ctx, t);
    },
  );

  route(
    app,
    'POST',
    `${base}/authentication`,
    {
      summary: `Add ${who} authenticator`,
      params,
      body: AnyBody,
      response: { 201: AnyBody, 400: ErrorBody },
    },
    async (req: Req<Raw>, reply: FastifyReply) => {
      const t = target(ctx, req.params);
      if (t.conf !== undefined)
        throw new ApiError(400, 'BAD_REQUEST', `The authentication already exist on ${t.label}`);
      chains(ctx);
      await setConf(ctx, t, req.body);
      return reply.code(201).send(authnView(ctx, target(ctx, req.params)));
    },
  );

  route(
    app,
    'PUT',
    `${base}/authentication`,
    {
      summary: `Replace ${who} authenticator`,
      params,
      body: AnyBody,
      response: { 200: AnyBody, 400: ErrorBody, 404: ErrorBody },
    },
    async (req: Req<Raw>) => {
      const t = target(ctx, req.params);
      if (t.conf === undefined) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Authentication not found');
      const next: Raw = { ...req.body };
      // A masked secret sent back means "unchanged".
      for (const k of secrets(ctx, t.conf)) if (next[k] === MASK) next[k] = t.conf[k];
      await setConf(ctx, t, next);
      return authnView(ctx, target(ctx, req.params));
    },
  );

  route(
    app,
    'DELETE',
    `${base}/authentication`,
    { summary: `Remove ${who} authenticator (and its users)`, params, response: { 204: NoContent } },
    async (req: Req, reply: FastifyReply) => {
      const t = target(ctx, req.params);
      if (t.conf !== undefined) await setConf(ctx, t, undefined);
      return reply.code(204).send();
    },
  );

  route(
    app,
    'GET',
    `${base}/authentication/users`,
    {
      summary: 'Users of the built-in database authenticator',
      params,
      querystring: Type.Object({
        ...PageQuery,
        like_user_id: Type.Optional(Type.String()),
        is_superuser: Type.Optional(Type.Boolean()),
      }),
    },
    async (
      req: Req<unknown, { page: number; limit: number; like_user_id?: string; is_superuser?: boolean }>,
    ) => {
      const q = req.query;
      const list = users(ctx, target(ctx, req.params)).list({
        like_user_id: q.like_user_id,
        is_superuser: q.is_superuser,
      });
      return paginate(list, q, (u) => u);
    },
  );

  route(
    app,
    'POST',
    `${base}/authentication/users`,
    {
      summary: 'Add a user',
      params,
      body: Type.Object({
        user_id: Type.String({ minLength: 1 }),
        password: Type.String(),
        is_superuser: Type.Optional(Type.Boolean()),
      }),
      response: { 201: AnyBody, 400: ErrorBody, 409: ErrorBody },
    },
    async (req: Req<{ user_id: string; password: string; is_superuser?: boolean }>, reply: FastifyReply) => {
      const store = users(ctx, target(ctx, req.params));
      const u = await change(req.params.name, () => store.add(req.body));
      return reply.code(201).send(u);
    },
  );

  route(
    app,
    'GET',
    `${base}/authentication/users/:uid`,
    { summary: 'One user', params: userParams, response: { 404: ErrorBody } },
    async (req: Req) => {
      const u = users(ctx, target(ctx, req.params)).get(req.params.uid!);
      if (u === undefined) throw new ApiError(404, 'NOT_FOUND', 'User not found');
      return u;
    },
  );

  route(
    app,
    'PUT',
    `${base}/authentication/users/:uid`,
    {
      summary: "Change a user's password or superuser flag",
      params: userParams,
      body: Type.Object({
        password: Type.Optional(Type.String()),
        is_superuser: Type.Optional(Type.Boolean()),
      }),
      response: { 404: ErrorBody },
    },
    async (req: Req<{ password?: string; is_superuser?: boolean }>) => {
      const store = users(ctx, target(ctx, req.params));
      return change(req.params.name, () => store.update(req.params.uid!, req.body));
    },
  );

  route(
    app,
    'DELETE',
    `${base}/authentication/users/:uid`,
    { summary: 'Delete a user', params: userParams, response: { 204: NoContent, 404: ErrorBody } },
    async (req: Req, reply: FastifyReply) => {
      if (!users(ctx, target(ctx, req.params)).delete(req.params.uid!))
        throw new ApiError(404, 'NOT_FOUND', 'User not found');
      return reply.code(204).send();
    },
  );

  route(
    app,
    'POST',
    `${base}/authentication/import_users`,
    {
      summary: 'Import users from a CSV or JSON file (multipart field "filename")',
      params,
      querystring: Type.Object({
        type: Type.Optional(Type.Union([Type.Literal('hash'), Type.Literal('plain')])),
      }),
      consumes: ['multipart/form-data'],
      response: { 400: ErrorBody },
    },
    async (req: Req<unknown, { type?: string }>) => {
      const store = users(ctx, target(ctx, req.params));
      const ct = String(req.headers['content-type'] ?? '');
      if (!Buffer.isBuffer(req.body) || !ct.startsWith('multipart/form-data'))
        throw new ApiError(
          400,
          'BAD_REQUEST',
          'expected a multipart/form-data upload with a "filename" field',
        );
      const part = parseMultipart(req.body, ct).find((p) => p.name === 'filename');
      if (part === undefined) throw new ApiError(400, 'BAD_REQUEST', 'missing the "filename" file field');
      return change(req.params.name, async () => {
        const records = parseUsersFile(part.data.toString('utf8'), part.filename);
        for (const r of records) {
          const flag = importFlag(r.is_superuser);
          if (flag !== undefined) r.is_superuser = flag;
        }
        return store.import(importKind(records, req.query.type), records);
      });
    },
  );
}
