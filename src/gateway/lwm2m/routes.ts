/**
 * EMQX 5.8's LwM2M API under `/api/v5/gateways/lwm2m`: `GET /clients/:clientid/lookup?path&action` (the
 * last outcome of a read or discover, discover links described from the object definitions), and
 * `POST /clients/:clientid/read|write|observe` (commands sent as if published on the command topic).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { GatewayApi, LiveConnection } from '../types.js';
import type { ObjectRegistry } from './content/api.js';
import type { DataLayer } from './data.js';
import type { Json } from './json.js';
import { dataFor } from './layers.js';
import type { Lwm2mConfig } from './schema.js';

const WRITE_TYPES = new Set(['Integer', 'Float', 'Time', 'String', 'Boolean', 'Opaque', 'Objlnk']);

type Q = Record<string, string | undefined>;
type Req = { Params: { clientid: string }; Querystring: Q };

/** The routes, given how to reach the data layer of the running gateway. */
export function lwm2mRoutes(dataFor: (config: Lwm2mConfig) => DataLayer | undefined) {
  return async (app: FastifyInstance, api: GatewayApi<Lwm2mConfig>): Promise<void> => {
    const client = (id: string, reply: FastifyReply): LiveConnection | undefined => {
      const conn = api.runtime()?.connection(id);
      if (conn === undefined)
        void reply.code(404).send({ code: 'CLIENT_NOT_FOUND', message: 'client process not found' });
      return conn;
    };
    const missing = (q: Q, keys: string[], reply: FastifyReply): boolean => {
      const k = keys.find((x) => q[x] === undefined || q[x] === '');
      if (k !== undefined) void reply.code(400).send({ code: 'BAD_REQUEST', message: `${k} is required` });
      return k !== undefined;
    };
    const send = async (req: { params: { clientid: string } }, reply: FastifyReply, cmd: Json) => {
      const conn = client(req.params.clientid, reply);
      if (conn === undefined) return reply;
      const r = await conn.call({ type: 'command', name: 'send', data: cmd });
      if (!r.ok) return reply.code(r.status).send({ code: 'CLIENT_NOT_FOUND', message: r.message });
      return reply.code(204).send();
    };

    app.get<Req>('/clients/:clientid/lookup', async (req, reply) => {
      const q = req.query;
      if (missing(q, ['path', 'action'], reply)) return reply;
      const conn = client(req.params.clientid, reply);
      if (conn === undefined) return reply;
      const path = q.path!;
      const action = q.action!;
      const r = await conn.call({ type: 'command', name: 'lookup', data: { path, action } });
      if (!r.ok) return reply.code(r.status).send({ code: 'CLIENT_NOT_FOUND', message: r.message });
      const base = { clientid: req.params.clientid, path, action };
      const o = r.data as { code: string; codeMsg: string; content?: Json[] } | undefined;
      if (o === undefined) return { ...base, code: '6.01', codeMsg: 'reply_not_received' };
      const rt = api.runtime();
      const registry = rt === undefined ? undefined : dataFor(rt.config)?.registry;
      const content =
        action === 'discover' && o.content !== undefined && registry !== undefined
          ? describeLinks(o.content, registry)
          : o.content;
      return { ...base, code: o.code, codeMsg: o.codeMsg, ...(content === undefined ? {} : { content }) };
    });

    app.post<Req>('/clients/:clientid/read', async (req, reply) => {
      if (missing(req.query, ['path'], reply)) return reply;
      return send(req, reply, { msgType: 'read', data: { path: req.query.path! } });
    });

    app.post<Req>('/clients/:clientid/write', async (req, reply) => {
      const q = req.query;
      if (missing(q, ['path', 'type', 'value'], reply)) return reply;
      if (!WRITE_TYPES.has(q.type!))
        return reply
          .code(400)
          .send({ code: 'BAD_REQUEST', message: `type must be one of ${[...WRITE_TYPES].join(', ')}` });
      return send(req, reply, { msgType: 'write', data: { path: q.path!, type: q.type!, value: q.value! } });
    });

    // EMQX serves observe with POST; PUT is accepted too (the method some clients of older docs use).
    const observe = async (req: { params: { clientid: string }; query: Q }, reply: FastifyReply) => {
      const q = req.query;
      if (missing(q, ['path', 'enable'], reply)) return reply;
      const on = q.enable === 'true' || q.enable === '1';
      return send(req, reply, { msgType: on ? 'observe' : 'cancel-observe', data: { path: q.path! } });
    };
    app.post<Req>('/clients/:clientid/observe', observe);
    app.put<Req>('/clients/:clientid/observe', observe);
  };
}

/** The routes of the gateway, reading the definitions the running gateway loaded. */
export const lwm2mApiRoutes = lwm2mRoutes(dataFor);

/** Discover links described from the object definitions: `{path, name, operations, dataType}` per resource. */
export function describeLinks(links: readonly Json[], registry: ObjectRegistry): Json[] {
  const out: Json[] = [];
  for (const l of links) {
    if (typeof l !== 'string') continue;
    const m = /^\s*<([^>]*)>/.exec(l);
    const path = m?.[1] ?? l.trim();
    const ids = path
      .split('/')
      .filter((s) => s !== '')
      .map(Number);
    if (ids.length < 3 || ids.some((n) => !Number.isInteger(n))) continue;
    const def = registry.resource(ids[0]!, ids[2]!);
    if (def === undefined) {
      out.push({ path });
      continue;
    }
    const entry: { [k: string]: Json } = { path, name: def.name, operations: def.operations };
    if (def.operations !== 'E') entry.dataType = def.type;
    out.push(entry);
  }
  return out;
}
