/**
 * What the gateway API files share: routes served under both `/gateways/...` and the deprecated 5.0
 * singular `/gateway/...`, the `:name` check, error mapping ({code, message} as EMQX), and the views of
 * a gateway's config (file form with defaults, listeners as an array).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type {
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  HTTPMethods,
  RouteGenericInterface,
  RouteHandlerMethod,
} from 'fastify';
import { AuthnError } from '../../access/authn/types.js';
import type { GatewayListenerType } from '../../config/schema/gateway-common.js';
import { ConfigUpdateError } from '../../config/service.js';
import type { Gateway } from '../../gateway/gateway.js';
import { GatewayError, type GatewayRegistry } from '../../gateway/registry.js';
import type { GatewayDescriptor } from '../../gateway/types.js';
import { ApiError } from '../errors.js';
import { rfc3339 } from '../format.js';
import type { Api, MgmtPlane } from '../types.js';

/** A config or body object in file form. */
export type Raw = Record<string, unknown>;

/** OpenAPI tag of every gateway route. */
export const tags = ['Gateways'];

/** Fields the API shows next to a listener's config (never stored). */
export const LISTENER_VIEW_ONLY = [
  'id',
  'type',
  'name',
  'running',
  'status',
  'node_status',
  'current_connections',
];

/** Registers one route under `/gateways<path>` and, hidden from the docs, `/gateway<path>`. */
export function route<G extends RouteGenericInterface>(
  app: Api,
  method: HTTPMethods,
  path: string,
  schema: FastifySchema & { hide?: boolean },
  handler: (req: FastifyRequest<G>, reply: FastifyReply) => Promise<unknown>,
): void {
  // The request types are declared by each handler to match its schema; Fastify validates before it runs.
  const h = handler as unknown as RouteHandlerMethod;
  app.route({ method, url: `/gateways${path}`, schema: { tags, ...schema }, handler: h });
  app.route({ method, url: `/gateway${path}`, schema: { ...schema, hide: true }, handler: h });
}

/** The node's gateway registry. */
export function registry(ctx: MgmtPlane): GatewayRegistry {
  return ctx.node.gateways;
}

/** The module named in the path; 400 for a name Hermod has no gateway for. */
export function moduleOf(ctx: MgmtPlane, name: string): GatewayDescriptor {
  const m = registry(ctx).module(name);
  if (m === undefined) {
    const names = registry(ctx)
      .modules()
      .map((x) => x.name)
      .join(', ');
    throw new ApiError(400, 'BAD_REQUEST', `Invalid gateway name ${name}: expected one of ${names}`);
  }
  return m;
}

/** The loaded gateway named in the path; 404 "Gateway not loaded" otherwise. */
export function loadedOf(ctx: MgmtPlane, name: string): Gateway {
  moduleOf(ctx, name);
  const g = registry(ctx).get(name);
  if (g === undefined) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Gateway not loaded');
  return g;
}

/** Runs a registry change, turning its failures into API errors. */
export async function change<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw apiError(name, err);
  }
}

function apiError(name: string, err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof GatewayError) {
    const code =
      err.status === 404 ? 'RESOURCE_NOT_FOUND' : err.status === 409 ? 'NOT_SUPPORT' : 'BAD_REQUEST';
    return new ApiError(err.status, code, err.message);
  }
  if (err instanceof ConfigUpdateError) {
    const prefix = `gateway.${name}.`;
    const msg = err.errors
      .map((e) => {
        const key = e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
        return `Bad config value '${typeof e.value === 'string' ? e.value : JSON.stringify(e.value)}' for '${key}', reason: ${e.message}`;
      })
      .join('; ');
    return new ApiError(400, 'BAD_REQUEST', msg);
  }
  if (err instanceof AuthnError) {
    const status = err.code === 'NOT_FOUND' ? 404 : err.code === 'ALREADY_EXISTS' ? 409 : 400;
    return new ApiError(status, err.code, err.message);
  }
  return new ApiError(400, 'BAD_REQUEST', (err as Error).message);
}

/** A gateway's config in file form with defaults filled in (durations "30s", "infinity", …). */
export function encodedConfig(g: Gateway): Raw {
  return Value.Encode(g.module.schema as TSchema, structuredClone(g.config)) as Raw;
}

/** Listener views of an encoded config: `[{id, type, name, ...conf}]`. */
export function listenerArray(name: string, conf: Raw): Raw[] {
  const out: Raw[] = [];
  for (const [type, byName] of Object.entries(
    (conf.listeners ?? {}) as Record<string, Record<string, Raw>>,
  )) {
    for (const [lname, l] of Object.entries(byName))
      out.push({ id: `${name}:${type}:${lname}`, type, name: lname, ...l });
  }
  return out;
}

/** `listeners: [{type, name, ...}]` (API form) → `{type: {name: conf}}` (config form), PEM contents saved. */
export function listenerMap(ctx: MgmtPlane, gw: string, list: unknown): Raw {
  if (!Array.isArray(list)) return (list ?? {}) as Raw;
  const out: Record<string, Raw> = {};
  for (const item of list as Raw[]) {
    const { type, name } = item;
    if (typeof type !== 'string' || typeof name !== 'string')
      throw new ApiError(400, 'BAD_REQUEST', 'every listener needs a type and a name');
    (out[type] ??= {})[name] = savePemContents(ctx, gw, type, name, stripView(item));
  }
  return out;
}

/** A listener body without the fields that are views, not config. */
export function stripView(body: Raw): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(body)) if (!LISTENER_VIEW_ONLY.includes(k)) out[k] = v;
  return out;
}

/** Splits `gw:type:name`; 404 "Listener not found" when it does not belong to this gateway. */
export function parseListenerId(g: Gateway, id: string): [GatewayListenerType, string] {
  const parts = id.split(':');
  if (
    parts.length !== 3 ||
    parts[0] !== g.name ||
    !g.module.listenerTypes.includes(parts[1] as GatewayListenerType)
  )
    throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Listener not found');
  return [parts[1] as GatewayListenerType, parts[2]!];
}

/** Epoch ms as EMQX's RFC 3339 (API times). */
export function time(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : rfc3339(ms);
}

/** Live state of one listener for the views. */
export function listenerStatus(g: Gateway, id: string, maxConnections: unknown): Raw {
  const t = g.listeners.get(id)?.transport;
  return {
    running: t?.running ?? false,
    max_connections: maxConnections,
    current_connections: t?.currentConnections ?? 0,
  };
}

const PEM_FIELDS = ['certfile', 'keyfile', 'cacertfile'];

/**
 * Certificates given as PEM text (as the dashboard sends them) are written to files under
 * `<data_dir>/certs/gateway/<gw>/<listener>/` and the config keeps the paths, as EMQX does.
 */
export function savePemContents(ctx: MgmtPlane, gw: string, type: string, name: string, conf: Raw): Raw {
  const out: Raw = { ...conf };
  for (const key of ['ssl_options', 'dtls_options']) {
    const opts = out[key];
    if (opts === null || typeof opts !== 'object') continue;
    const next: Raw = { ...(opts as Raw) };
    for (const f of PEM_FIELDS) {
      const v = next[f];
      if (typeof v !== 'string' || !v.includes('-----BEGIN')) continue;
      const dir = join(ctx.node.config.node.data_dir, 'certs', 'gateway', gw, `${type}-${name}`);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${f.replace('file', '')}.pem`);
      writeFileSync(file, v, { mode: f === 'keyfile' ? 0o600 : 0o644 });
      next[f] = file;
    }
    out[key] = next;
  }
  return out;
}
