/**
 * MQTT listeners (`/listeners`): list with run status, one by id (`tcp:default`), create, update, delete,
 * start/stop/restart. Every change is a `listeners` config update, so it is validated, persisted, and the
 * node restarts only the listener that changed.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  type ListenerConfig,
  ListenersSchema,
  type ListenerType,
  SslListenerSchema,
  TcpListenerSchema,
  WsListenerSchema,
  WssListenerSchema,
} from '../../config/schema/listeners.js';
import { ApiError, badRequest } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';
import { updateSection } from './configs.js';

const SCHEMAS: Record<ListenerType, TSchema> = {
  tcp: TcpListenerSchema,
  ssl: SslListenerSchema,
  ws: WsListenerSchema,
  wss: WssListenerSchema,
};
const TYPES = Object.keys(SCHEMAS) as ListenerType[];
const NAME_RE = /^[a-zA-Z][0-9a-zA-Z_-]*$/;
/** Fields the API shows but that are not config (a client may send back what it read). */
const VIEW_ONLY = ['id', 'type', 'name', 'running', 'status', 'node_status', 'current_connections'];

type RawListeners = Record<string, Record<string, Record<string, unknown>>>;

const listenerNotFound = () => new ApiError(404, 'BAD_LISTENER_ID', 'Listener id not found');

function parseId(id: string): [ListenerType, string] {
  const i = id.indexOf(':');
  const type = id.slice(0, i) as ListenerType;
  const name = id.slice(i + 1);
  if (i < 0 || !TYPES.includes(type) || !NAME_RE.test(name))
    throw new ApiError(
      400,
      'BAD_LISTENER_ID',
      `Invalid listener id ${id}: expected <${TYPES.join('|')}>:<name>`,
    );
  return [type, name];
}

function configOf(ctx: MgmtPlane, type: ListenerType, name: string): ListenerConfig | undefined {
  return (ctx.node.config.listeners[type] as Record<string, ListenerConfig>)[name];
}

function limit(n: number): number | 'infinity' {
  return Number.isFinite(n) ? n : 'infinity';
}

/** One listener as the API shows it: its config (file form) plus run status. */
function view(ctx: MgmtPlane, type: ListenerType, name: string): Record<string, unknown> {
  const cfg = configOf(ctx, type, name);
  if (cfg === undefined) throw listenerNotFound();
  const id = `${type}:${name}`;
  const l = ctx.node.listeners.get(id);
  const running = l?.running ?? false;
  const status = {
    running,
    max_connections: limit(cfg.max_connections),
    current_connections: running ? (l?.currentConnections ?? 0) : 0,
  };
  return {
    id,
    type,
    name,
    ...(Value.Encode(SCHEMAS[type], cfg) as Record<string, unknown>),
    running,
    status,
    node_status: [{ node: ctx.node.name, status }],
  };
}

/** The raw listeners config to edit; a type never written keeps its current (default) listeners. */
function rawListeners(ctx: MgmtPlane): RawListeners {
  const raw = (ctx.node.configService.getRaw('listeners') ?? {}) as RawListeners;
  const current = Value.Encode(ListenersSchema, ctx.node.config.listeners) as RawListeners;
  for (const t of TYPES) raw[t] ??= current[t] ?? {};
  return raw;
}

function stripViewFields(body: Record<string, unknown>): Record<string, unknown> {
  const out = { ...body };
  for (const k of VIEW_ONLY) delete out[k];
  return out;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const isObj = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
    out[k] = isObj(v) && isObj(b) ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/**
 * Brings the running listener in line with its config after a change. The node's `listeners` change
 * handler normally does this already; the checks make the outcome certain either way.
 */
async function reconcile(ctx: MgmtPlane, type: ListenerType, name: string): Promise<void> {
  const id = `${type}:${name}`;
  const cfg = configOf(ctx, type, name);
  const running = ctx.node.listeners.get(id)?.running === true;
  if (cfg?.enable === true && !running) await ctx.node.startListener(type, name, cfg);
  if ((cfg === undefined || !cfg.enable) && running) await ctx.node.stopListener(id);
}

export function listenersArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Listeners'];
  const IdParam = Type.Object({ id: Type.String() });
  const Body = Type.Object({}, { additionalProperties: true });

  app.get(
    '/listeners',
    {
      schema: {
        tags,
        summary: 'List MQTT listeners',
        querystring: Type.Object({ type: Type.Optional(Type.String()), port: Type.Optional(Type.Integer()) }),
      },
    },
    async (req) => {
      const out: Array<Record<string, unknown>> = [];
      for (const type of TYPES) {
        if (req.query.type !== undefined && req.query.type !== type) continue;
        for (const name of Object.keys(ctx.node.config.listeners[type])) {
          const cfg = configOf(ctx, type, name)!;
          if (req.query.port !== undefined && cfg.bind.port !== req.query.port) continue;
          out.push(view(ctx, type, name));
        }
      }
      return out;
    },
  );

  app.get('/listeners/:id', { schema: { tags, summary: 'One listener', params: IdParam } }, async (req) => {
    const [type, name] = parseId(req.params.id);
    return view(ctx, type, name);
  });

  app.post('/listeners', { schema: { tags, summary: 'Create a listener', body: Body } }, async (req) => {
    const body = req.body as Record<string, unknown>;
    let type = body.type as string | undefined;
    let name = body.name as string | undefined;
    if (typeof body.id === 'string') [type, name] = parseId(body.id);
    if (type === undefined || !TYPES.includes(type as ListenerType))
      throw badRequest(`body/type must be one of ${TYPES.join(', ')}`);
    if (name === undefined || !NAME_RE.test(name))
      throw badRequest('body/name must match ^[a-zA-Z][0-9a-zA-Z_-]*$');
    const t = type as ListenerType;
    if (configOf(ctx, t, name) !== undefined)
      throw badRequest(`Listener ${t}:${name} already exists`, 'ALREADY_EXISTS');
    const raw = rawListeners(ctx);
    raw[t]![name] = stripViewFields(body);
    await updateSection(ctx, 'listeners', raw);
    await reconcile(ctx, t, name);
    return view(ctx, t, name);
  });

  app.put(
    '/listeners/:id',
    { schema: { tags, summary: 'Update a listener (merged over its config)', params: IdParam, body: Body } },
    async (req) => {
      const [type, name] = parseId(req.params.id);
      if (configOf(ctx, type, name) === undefined) throw listenerNotFound();
      const raw = rawListeners(ctx);
      raw[type]![name] = deepMerge(
        raw[type]![name] ?? {},
        stripViewFields(req.body as Record<string, unknown>),
      );
      await updateSection(ctx, 'listeners', raw);
      await reconcile(ctx, type, name);
      return view(ctx, type, name);
    },
  );

  app.delete(
    '/listeners/:id',
    { schema: { tags, summary: 'Delete a listener', params: IdParam } },
    async (req, reply) => {
      const [type, name] = parseId(req.params.id);
      if (configOf(ctx, type, name) === undefined) throw listenerNotFound();
      const raw = rawListeners(ctx);
      delete raw[type]![name];
      await updateSection(ctx, 'listeners', raw);
      await reconcile(ctx, type, name);
      return reply.code(204).send();
    },
  );

  app.post(
    '/listeners/:id/:action',
    {
      schema: {
        tags,
        summary: 'start, stop or restart a listener (start/stop also set its enable flag)',
        params: Type.Object({
          id: Type.String(),
          action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart')]),
        }),
      },
    },
    async (req, reply) => {
      const [type, name] = parseId(req.params.id);
      const cfg = configOf(ctx, type, name);
      if (cfg === undefined) throw listenerNotFound();
      const action = req.params.action;
      if (action === 'restart') {
        if (cfg.enable) await ctx.node.startListener(type, name, cfg);
      } else {
        const enable = action === 'start';
        if (cfg.enable !== enable) {
          const raw = rawListeners(ctx);
          raw[type]![name] = { ...(raw[type]![name] ?? {}), enable };
          await updateSection(ctx, 'listeners', raw);
        }
        await reconcile(ctx, type, name);
      }
      return reply.code(200).send();
    },
  );
}
