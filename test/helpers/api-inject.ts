/**
 * The REST API of a node without any socket: the node runs with no MQTT and no HTTP listener, and requests
 * go through Fastify's inject(). For API behaviour that needs no client on the wire; tests of what a user
 * sees over real connections keep using startBroker({ api: true }).
 */
import type { FastifyInstance } from 'fastify';
import { resolveConfig } from '../../src/config/resolve.js';
import { buildApi } from '../../src/mgmt/server.js';
import { HermodNode } from '../../src/node.js';
import { merge, type RawConfig } from './broker.js';

export interface InjectRes {
  status: number;
  headers: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly; a wrong field fails the assertion
  body: any;
}

export interface InjectedApi {
  node: HermodNode;
  app: FastifyInstance;
  /** The admin's Authorization header value, for direct app.inject() calls. */
  auth: string;
  /** Calls /api/v5<path> as the logged-in admin (or with `auth`: a header value, or null for none). */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    auth?: string | null,
  ): Promise<InjectRes>;
  stop(): Promise<void>;
}

/** Starts a socket-less node and builds its API for inject(); logs in as the default admin. */
export async function startInjectedApi(config: RawConfig = {}): Promise<InjectedApi> {
  const base: RawConfig = {
    node: { name: 'hermod@127.0.0.1' },
    listeners: { tcp: { default: { enable: false } }, ws: { default: { enable: false } } },
    sys_topics: { sys_msg_interval: 'disabled', sys_heartbeat_interval: 'disabled' },
    dashboard: { listeners: { http: { enable: false } } },
  };
  const raw = merge(base, config);
  const resolved = resolveConfig(raw);
  if (!resolved.ok) throw new Error(`bad test config: ${JSON.stringify(resolved.errors)}`);
  const node = new HermodNode(resolved.value, { store: ':memory:', raw });
  await node.start();
  const mgmt = node.mgmt;
  if (mgmt === undefined) throw new Error('the management plane did not start');
  const app = await buildApi(mgmt.ctx, {});
  let token: string | undefined;
  const call: InjectedApi['call'] = async (method, path, body, auth) => {
    const headers: Record<string, string> = {};
    const a = auth === undefined ? (token === undefined ? undefined : `Bearer ${token}`) : auth;
    if (a !== undefined && a !== null) headers.authorization = a;
    const res = await app.inject({
      method,
      url: `/api/v5${path}`,
      headers,
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    const type = String(res.headers['content-type'] ?? '');
    return {
      status: res.statusCode,
      headers: res.headers,
      body: type.includes('json') && res.body.length > 0 ? res.json() : res.body,
    };
  };
  const login = await call('POST', '/login', { username: 'admin', password: 'public' }, null);
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  token = login.body.token;
  return {
    node,
    app,
    auth: `Bearer ${token}`,
    call,
    async stop() {
      await app.close();
      await node.stop();
    },
  };
}
