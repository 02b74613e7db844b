/**
 * The management plane: banned clients, alarms, dashboard users, API keys, and the REST API (/api/v5) on
 * the dashboard listener(s). Every API area is its own Fastify plugin scope, listed in ./api/index.ts; the auth
 * guard is one onRequest hook on the root instance, so it covers every scope.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type FastifyError, type FastifyInstance, fastify } from 'fastify';
import { Alarms, liveAlarmSettings } from '../broker/alarms.js';
import { HookPriority } from '../broker/hooks.js';
import { logger } from '../log.js';
import { VERSION } from '../version.js';
import { registerAreas } from './api/index.js';
import { statusRoutes } from './api/status.js';
import { ApiKeys } from './auth/api-keys.js';
import { warnIfDefaultPassword } from './auth/default-password.js';
import { authGuard } from './auth/guard.js';
import { LoginLimiter } from './auth/login-limits.js';
import { Tokens } from './auth/tokens.js';
import { Users } from './auth/users.js';
import { acceptEmptyJsonBody } from './empty-json-body.js';
import { ApiError } from './errors.js';
import { lazyCompilers } from './lazy-schemas.js';
import { DELTA_NAMES, GAUGE_NAMES, Monitor, type MonitorReading } from './monitor.js';
import { monitorHistory } from './monitor-store.js';
import { nodeAnswers } from './node-answers.js';
import { openPeers } from './peers.js';
import { loopbackUrl, removeRuntimeFiles, writeRuntimeFiles } from './runtime.js';
import type { Api, ConfigReloader, MgmtNode, MgmtPlane, TypeBoxProvider } from './types.js';
import { serveWeb } from './web-static.js';

export interface Management {
  readonly ctx: MgmtPlane;
  /** Base URL of the HTTP listener (loopback form), undefined when it is disabled. */
  readonly url: string | undefined;
  /** Bound port of the HTTP listener. */
  readonly port: number | undefined;
  /** Lets `conf reload` re-read the config files (the start path knows how). */
  setConfigReloader(reload: ConfigReloader): void;
  close(): Promise<void>;
}

/** Starts the management plane of a started node (its store must be open). */
export async function startManagement(node: MgmtNode): Promise<Management> {
  const db = node.db;
  const banned = node.banned;
  if (db === undefined || banned === undefined)
    throw new Error('startManagement: the node store is not open');
  const cfg = node.config.dashboard;
  const users = new Users(db);
  await users.ensureDefault(cfg.default_username, cfg.default_password);
  // The factory-password check is one scrypt hash (~60 ms on the thread pool): it runs while the API is
  // built and is awaited before the start ends.
  const passwordWarned = warnIfDefaultPassword(users, cfg.default_username).catch((err: unknown) => {
    logger.error({ err }, 'cannot check the dashboard password');
    return false;
  });
  const apiKeys = new ApiKeys(db);
  const bootstrap = node.config.api_key.bootstrap_file;
  if (bootstrap !== '') {
    try {
      const n = apiKeys.loadBootstrapFile(bootstrap);
      logger.info({ file: bootstrap, keys: n }, 'api keys loaded from the bootstrap file');
    } catch (err) {
      logger.error({ err, file: bootstrap }, 'cannot load api_key.bootstrap_file');
    }
  }
  const peers = openPeers(
    node,
    nodeAnswers(() => ctx),
  );
  const ctx: MgmtPlane = {
    node,
    peers: peers.peers,
    users,
    apiKeys,
    tokens: new Tokens(() => node.config.dashboard.token_expired_time),
    loginLimits: new LoginLimiter(),
    banned,
    alarms: new Alarms(
      node.broker,
      liveAlarmSettings(() => node.config.alarm),
    ),
    monitor: new Monitor(
      () => monitorReading(node),
      () => node.config.dashboard.sample_interval,
      Date.now,
      monitorHistory(db, [...GAUGE_NAMES, ...DELTA_NAMES]),
    ),
    lastConn: new WeakMap(),
    reloadConfig: undefined,
  };
  ctx.monitor.start();
  // Recorded when the connection ends, not when it starts: while connected the channel has it, so a live
  // client carries no table entry (and a CONNECT does not pay for one: ~1.5 % of its CPU, 2026-12-04).
  const offDisconnected = node.hooks.add(
    'client.disconnected',
    (ci, _reason, conn) => {
      const session = node.broker.sessionOf(ci);
      if (session !== undefined) ctx.lastConn.set(session, conn);
      return undefined;
    },
    HookPriority.LOWEST,
    'mgmt',
  );

  const servers: FastifyInstance[] = [];
  let url: string | undefined;
  let port: number | undefined;
  const runtimeDir = db.memory ? undefined : dirname(db.name);
  try {
    const http = cfg.listeners.http;
    if (http.enable) {
      const app = await buildApi(ctx, {});
      servers.push(app);
      limitConnections(app, http.max_connections);
      await app.listen({ host: http.bind.host, port: http.bind.port, backlog: http.backlog });
      port = boundPort(app);
      url = loopbackUrl('http', http.bind.host, port);
      logger.info({ listener: 'http:dashboard', url }, 'management API started');
      if (runtimeDir !== undefined) {
        writeRuntimeFiles(
          runtimeDir,
          { url, pid: process.pid, node: node.name, version: VERSION },
          apiKeys.newCtlCredential(),
        );
      }
    }
    const https = cfg.listeners.https;
    if (https.enable) {
      const s = https.ssl_options;
      const app = await buildApi(ctx, {
        https: {
          cert: readFileSync(s.certfile),
          key: readFileSync(s.keyfile),
          ca: s.cacertfile !== '' ? readFileSync(s.cacertfile) : undefined,
          passphrase: s.password !== '' ? s.password : undefined,
        },
      });
      servers.push(app);
      limitConnections(app, https.max_connections);
      await app.listen({ host: https.bind.host, port: https.bind.port, backlog: https.backlog });
      logger.info({ listener: 'https:dashboard', port: boundPort(app) }, 'management API started (https)');
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    offDisconnected();
    peers.close();
    ctx.monitor.stop();
    await passwordWarned;
    throw err;
  }
  await passwordWarned;

  return {
    ctx,
    url,
    port,
    setConfigReloader(reload) {
      ctx.reloadConfig = reload;
    },
    async close() {
      if (runtimeDir !== undefined && url !== undefined) removeRuntimeFiles(runtimeDir, process.pid);
      await Promise.all(servers.map((s) => s.close()));
      offDisconnected();
      peers.close();
      ctx.monitor.stop();
    },
  };
}

/**
 * What the monitor samples: clients of every protocol (held sessions count as connections, connected ones as
 * live, as in EMQX), routes, and the message counters. Hermod keeps no durable (external storage) sessions.
 */
function monitorReading(node: MgmtNode): MonitorReading {
  const registry = node.broker.registry;
  const m = node.metrics;
  return {
    gauges: {
      connections: registry.count(),
      live_connections: registry.liveCount(),
      subscriptions: m.stat('subscriptions').count,
      topics: m.stat('topics').count,
      disconnected_durable_sessions: 0,
      subscriptions_durable: 0,
    },
    counters: {
      received: m.c['messages.received'],
      sent: m.c['messages.sent'],
      dropped: m.c['messages.dropped'],
      persisted: m.c['messages.persisted'],
    },
  };
}

function limitConnections(app: FastifyInstance, max: number): void {
  if (Number.isFinite(max)) app.server.maxConnections = max;
}

function boundPort(app: FastifyInstance): number {
  const a = app.server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

/** Builds (without listening) the Fastify app serving the REST API; tests may call it with `inject`. */
export async function buildApi(
  ctx: MgmtPlane,
  opts: { https?: { cert: Buffer; key: Buffer; ca?: Buffer; passphrase?: string } },
): Promise<FastifyInstance> {
  const dash = ctx.node.config.dashboard;
  const app = fastify({
    logger: false,
    // Client ids and URL-encoded topics travel in the path; Fastify's default cap of 100 characters is too small.
    routerOptions: { maxParamLength: 65535 },
    bodyLimit: 16 * 1024 * 1024,
    connectionTimeout: 0,
    ...(opts.https !== undefined ? { https: opts.https } : {}),
    ajv: {
      customOptions: { coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false },
    },
    schemaController: { compilersFactory: lazyCompilers() },
  });
  app.decorateRequest('actor', undefined);
  acceptEmptyJsonBody(app);
  app.setErrorHandler(errorHandler);
  // Paths the API does not know: the dashboard's files and deep links, else EMQX's JSON 404.
  app.setNotFoundHandler(async (req, reply) => {
    if (await serveWeb(req, reply)) return reply;
    return reply.code(404).send({ code: 'NOT_FOUND', message: 'Request Path Not Found' });
  });
  // Documentation routes need no credentials, like EMQX's /api-docs.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api-docs')) route.config = { ...(route.config ?? {}), auth: false };
  });
  app.addHook('onRequest', authGuard(ctx));
  if (dash.cors) {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('Access-Control-Allow-Origin', '*');
    });
    app.options('/*', { config: { auth: false }, schema: { hide: true } }, async (_req, reply) => {
      void reply
        .code(204)
        .header('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS')
        .header('Access-Control-Allow-Headers', 'authorization, content-type')
        .send();
    });
  }
  if (dash.swagger_support) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Hermod REST API',
          version: VERSION,
          description: 'EMQX 5 compatible management API.',
        },
        servers: [{ url: '/' }],
        components: {
          securitySchemes: {
            basicAuth: { type: 'http', scheme: 'basic', description: 'API key and secret' },
            bearerAuth: { type: 'http', scheme: 'bearer', description: 'Token from POST /api/v5/login' },
          },
        },
        security: [{ basicAuth: [] }, { bearerAuth: [] }],
      },
    });
    await app.register(swaggerUi, { routePrefix: '/api-docs' });
    app.get('/api-docs/swagger.json', { schema: { hide: true } }, async () => app.swagger());
  }
  await app.register(async (root) =>
    statusRoutes(root.withTypeProvider<TypeBoxProvider>() as Api, ctx, true),
  );
  await registerAreas(app, ctx);
  await app.ready();
  return app;
}

/** Turns every failure into EMQX's `{code, message}` body. */
function errorHandler(
  err: FastifyError | ApiError,
  _req: unknown,
  reply: import('fastify').FastifyReply,
): void {
  if (err instanceof ApiError) {
    void reply.code(err.status).headers(err.headers).send({ code: err.code, message: err.message });
    return;
  }
  if (err.validation !== undefined) {
    void reply.code(400).send({ code: 'BAD_REQUEST', message: err.message });
    return;
  }
  const status = err.statusCode ?? 500;
  if (status < 500) {
    void reply
      .code(status)
      .send({ code: status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: err.message });
    return;
  }
  logger.error({ err }, 'management API: internal error');
  void reply.code(500).send({ code: 'INTERNAL_ERROR', message: err.message });
}
