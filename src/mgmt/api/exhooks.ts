/**
 * `/exhooks` (EMQX tag ExHook): list, create, read, update and delete ExHook servers, their hooks, and
 * their call order (move). Every change goes through ConfigService on `exhook.servers`, so it is validated
 * against the schema, applied live by the ExHook service and persisted.
 */
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type ExhookServerConfig, ExhookServerSchema } from '../../config/schema/exhook.js';
import { ConfigUpdateError } from '../../config/service.js';
import type { HookMetricsView } from '../../exhook/metrics.js';
import type { ExHookServer } from '../../exhook/server.js';
import { ExhookConfigError } from '../../exhook/service.js';
import { ApiError, badRequest, ErrorBody, notFound } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

type RawServer = Record<string, unknown> & { name?: unknown };

const MASK = '******';
const NameParam = Type.Object({ name: Type.String() });
// Validated by the config schema (precise per-key errors), not here: the body is any server config object.
const ServerBody = Type.Object({}, { additionalProperties: true, description: 'An ExHook server config.' });
const Done = Type.Null({ description: 'Done (no body)' });
const MoveBody = Type.Object({
  position: Type.String({ description: '"front", "rear", "before:<name>" or "after:<name>"' }),
});

/** The server's config as written (file form), every default filled in, its secret masked. */
function configView(ctx: MgmtPlane, cfg: ExhookServerConfig): Record<string, unknown> {
  const written = rawServers(ctx).find((s) => s.name === cfg.name);
  const raw = (
    written !== undefined
      ? Value.Default(ExhookServerSchema, structuredClone(written))
      : Value.Encode(ExhookServerSchema, cfg)
  ) as Record<string, unknown> & { ssl: Record<string, unknown> };
  if (raw.ssl.password !== '') raw.ssl = { ...raw.ssl, password: MASK };
  return raw;
}

/** What GET adds to a server config; a client may send it back in a PUT or POST body, where it is dropped. */
const READ_ONLY_KEYS = ['metrics', 'node_metrics', 'node_status', 'hooks', 'status'];

function writable(body: RawServer): RawServer {
  const out: RawServer = { ...body };
  for (const k of READ_ONLY_KEYS) delete out[k];
  return out;
}

function perNode(ctx: MgmtPlane, metrics: HookMetricsView) {
  return [{ node: ctx.node.name, metrics }];
}

/** EMQX's detail of one server. */
function detail(ctx: MgmtPlane, s: ExHookServer) {
  const metrics = s.metrics.total.view();
  return {
    ...configView(ctx, s.cfg),
    metrics,
    node_metrics: perNode(ctx, metrics),
    node_status: [{ node: ctx.node.name, status: s.status }],
    hooks: s.hookSpecs().map((h) => ({ name: h.name, params: { topics: h.topics } })),
  };
}

/** The configured servers in file form, as the config holds them. */
function rawServers(ctx: MgmtPlane): RawServer[] {
  const raw = ctx.node.configService.getRaw('exhook') as { servers?: RawServer[] };
  return Array.isArray(raw.servers) ? raw.servers : [];
}

/** Replaces exhook.servers; config errors become 400, anything the service could not apply 500 BAD_RPC. */
async function save(ctx: MgmtPlane, servers: RawServer[]): Promise<void> {
  const current = ctx.node.configService.getRaw('exhook') as Record<string, unknown>;
  try {
    await ctx.node.configService.update('exhook', { ...current, servers });
  } catch (err) {
    if (err instanceof ConfigUpdateError) {
      throw badRequest(err.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
    }
    if (err instanceof ExhookConfigError) throw badRequest(err.message);
    throw new ApiError(500, 'BAD_RPC', (err as Error).message);
  }
}

function find(ctx: MgmtPlane, name: string): ExHookServer {
  const s = ctx.node.exhook.server(name);
  if (s === undefined) throw notFound(`Server not found: ${name}`);
  return s;
}

/** A PUT body that sends the masked password back keeps the stored one. */
function keepSecret(body: RawServer, old: RawServer | undefined): RawServer {
  const ssl = body.ssl as Record<string, unknown> | undefined;
  if (ssl?.password !== MASK) return body;
  const oldSsl = old?.ssl as Record<string, unknown> | undefined;
  return { ...body, ssl: { ...ssl, password: oldSsl?.password ?? '' } };
}

/** The new order for a move, or undefined when the position is invalid. */
function moved(list: RawServer[], name: string, position: string): RawServer[] | undefined {
  const i = list.findIndex((s) => s.name === name);
  if (i < 0) return undefined;
  const item = list[i]!;
  const rest = list.filter((_, j) => j !== i);
  if (position === 'front') return [item, ...rest];
  if (position === 'rear') return [...rest, item];
  const m = /^(before|after):(.+)$/.exec(position);
  if (m === null || m[2] === name) return undefined;
  const t = rest.findIndex((s) => s.name === m[2]);
  if (t < 0) return undefined;
  const at = m[1] === 'before' ? t : t + 1;
  return [...rest.slice(0, at), item, ...rest.slice(at)];
}

/** Registers the /exhooks routes. */
export function exhooksArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['ExHook'];
  app.get('/exhooks', { schema: { tags, summary: 'List ExHook servers in call order' } }, async () =>
    ctx.node.exhook.servers().map((s) => detail(ctx, s)),
  );
  app.post(
    '/exhooks',
    {
      schema: {
        tags,
        summary: 'Add an ExHook server (called last)',
        body: ServerBody,
        response: { 400: ErrorBody, 500: ErrorBody },
      },
    },
    async (req) => {
      const body = writable(req.body as RawServer);
      if (typeof body.name !== 'string') throw badRequest('name is required');
      const list = rawServers(ctx);
      if (list.some((s) => s.name === body.name)) throw badRequest('Already exists');
      await save(ctx, [...list, body]);
      return detail(ctx, find(ctx, body.name));
    },
  );
  app.get(
    '/exhooks/:name',
    { schema: { tags, summary: 'One ExHook server', params: NameParam, response: { 404: ErrorBody } } },
    async (req) => detail(ctx, find(ctx, req.params.name)),
  );
  app.put(
    '/exhooks/:name',
    {
      schema: {
        tags,
        summary: 'Replace an ExHook server config (it is reloaded)',
        params: NameParam,
        body: ServerBody,
        response: { 400: ErrorBody, 404: ErrorBody, 500: ErrorBody },
      },
    },
    async (req) => {
      const name = req.params.name;
      find(ctx, name);
      const body = writable(req.body as RawServer);
      if (body.name !== undefined && body.name !== name) throw badRequest('name cannot be changed');
      const list = rawServers(ctx);
      const next = list.map((s) => (s.name === name ? keepSecret({ ...body, name }, s) : s));
      await save(ctx, next);
      return detail(ctx, find(ctx, name));
    },
  );
  app.delete(
    '/exhooks/:name',
    {
      schema: {
        tags,
        summary: 'Unload and remove an ExHook server',
        params: NameParam,
        response: { 204: Done, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const name = req.params.name;
      find(ctx, name);
      await save(
        ctx,
        rawServers(ctx).filter((s) => s.name !== name),
      );
      return reply.code(204).send();
    },
  );
  app.get(
    '/exhooks/:name/hooks',
    {
      schema: {
        tags,
        summary: 'The hooks a server asked for, with their metrics',
        params: NameParam,
        response: { 400: ErrorBody },
      },
    },
    async (req) => {
      const s = ctx.node.exhook.server(req.params.name);
      if (s === undefined) throw badRequest(`Server not found: ${req.params.name}`);
      return s.hookSpecs().map((h) => {
        const metrics = s.metrics.hook(h.name);
        return { name: h.name, params: { topics: h.topics }, metrics, node_metrics: perNode(ctx, metrics) };
      });
    },
  );
  app.post(
    '/exhooks/:name/move',
    {
      schema: {
        tags,
        summary: 'Change where a server is in the call order',
        params: NameParam,
        body: MoveBody,
        response: { 204: Done, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (req, reply) => {
      const name = req.params.name;
      find(ctx, name);
      const next = moved(rawServers(ctx), name, req.body.position);
      if (next === undefined) throw badRequest('Invalid Position');
      await save(ctx, next);
      return reply.code(204).send();
    },
  );
}
