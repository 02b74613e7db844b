/** Nodes, stats, metrics and the Prometheus exposition (`/nodes`, `/stats`, `/metrics`, `/prometheus/stats`). */
import { loadavg } from 'node:os';
import { Type } from '@sinclair/typebox';
import { VERSION } from '../../version.js';
import { ErrorBody, notFound } from '../errors.js';
import type { Api, MgmtPlane } from '../types.js';

const Aggregate = Type.Object({
  aggregate: Type.Boolean({
    default: false,
    description: 'true: one object for the cluster; false: one per node.',
  }),
});
const NodeParam = Type.Object({ node: Type.String() });
const Counters = Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()]));

/** What `/nodes` says about this node (EMQX field names). */
export function nodeInfo(ctx: MgmtPlane): Record<string, unknown> {
  const node = ctx.node;
  const mem = process.memoryUsage();
  const [load1, load5, load15] = loadavg();
  const live = node.broker.registry.liveCount();
  return {
    node: node.name,
    node_status: 'running',
    version: VERSION,
    edition: 'Opensource',
    otp_release: `node ${process.version}`,
    uptime: node.sys?.uptime ?? 0,
    role: 'core',
    connections: live,
    live_connections: live,
    cluster_sessions: node.broker.registry.count(),
    memory_total: mem.rss,
    memory_used: mem.heapUsed,
    process_available: node.config.node.process_limit,
    process_used: node.mqtt.channels.size,
    max_fds: node.config.node.max_ports,
    load1: round2(load1 ?? 0),
    load5: round2(load5 ?? 0),
    load15: round2(load15 ?? 0),
    sys_path: process.cwd(),
    log_path: 'log',
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function stats(ctx: MgmtPlane): Record<string, number> {
  const out = ctx.node.metrics.stats();
  out['live_connections.count'] = ctx.node.broker.registry.liveCount();
  out['cluster_sessions.count'] = ctx.node.broker.registry.count();
  out['retained.count'] = ctx.node.retainer?.count ?? out['retained.count'] ?? 0;
  return out;
}

function metrics(ctx: MgmtPlane): Record<string, number> {
  return ctx.node.metrics.snapshot();
}

function mustBeThisNode(ctx: MgmtPlane, name: string): void {
  if (name !== ctx.node.name) throw notFound('Node not found', 'NOT_FOUND');
}

/** Metric names as Prometheus wants them (EMQX's exporter prefixes emqx_, which dashboards expect). */
function promName(name: string): string {
  return `emqx_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** Prometheus text lines for named values of one type, under EMQX's names. */
export function promLines(type: 'gauge' | 'counter', values: Iterable<[string, number]>): string[] {
  const lines: string[] = [];
  for (const [name, value] of values) {
    const n = promName(name);
    lines.push(`# TYPE ${n} ${type}`, `${n} ${value}`);
  }
  return lines;
}

/** The Prometheus text exposition of stats (gauges) and metrics (counters). */
export function prometheusText(ctx: MgmtPlane): string {
  const lines = [
    ...promLines('gauge', Object.entries(stats(ctx))),
    ...promLines('counter', Object.entries(metrics(ctx))),
    ...promLines('gauge', [['uptime_seconds', Math.floor((ctx.node.sys?.uptime ?? 0) / 1000)]]),
  ];
  lines.push(...ctx.node.plugins.prometheusLines());
  return `${lines.join('\n')}\n`;
}

export function metricsArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Metrics'];
  app.get(
    '/stats',
    { schema: { tags, summary: 'Broker statistics (gauges)', querystring: Aggregate } },
    async (req) => (req.query.aggregate ? stats(ctx) : [{ node: ctx.node.name, ...stats(ctx) }]),
  );
  app.get(
    '/metrics',
    { schema: { tags, summary: 'Broker metrics (counters)', querystring: Aggregate } },
    async (req) => (req.query.aggregate ? metrics(ctx) : [{ node: ctx.node.name, ...metrics(ctx) }]),
  );
  app.get('/nodes', { schema: { tags: ['Nodes'], summary: 'Nodes of the cluster' } }, async () => [
    nodeInfo(ctx),
  ]);
  app.get(
    '/nodes/:node',
    { schema: { tags: ['Nodes'], summary: 'One node', params: NodeParam, response: { 404: ErrorBody } } },
    async (req) => {
      mustBeThisNode(ctx, req.params.node);
      return nodeInfo(ctx);
    },
  );
  app.get(
    '/nodes/:node/metrics',
    {
      schema: {
        tags: ['Nodes'],
        summary: 'Metrics of one node',
        params: NodeParam,
        response: { 200: Counters, 404: ErrorBody },
      },
    },
    async (req) => {
      mustBeThisNode(ctx, req.params.node);
      return { node: ctx.node.name, ...metrics(ctx) };
    },
  );
  app.get(
    '/nodes/:node/stats',
    {
      schema: {
        tags: ['Nodes'],
        summary: 'Stats of one node',
        params: NodeParam,
        response: { 200: Counters, 404: ErrorBody },
      },
    },
    async (req) => {
      mustBeThisNode(ctx, req.params.node);
      return { node: ctx.node.name, ...stats(ctx) };
    },
  );
  // Scrapers have no credentials by default (EMQX prometheus.enable_basic_auth = false).
  app.get(
    '/prometheus/stats',
    { config: { auth: false }, schema: { tags: ['Monitor'], summary: 'Prometheus text exposition' } },
    async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(prometheusText(ctx)),
  );
}
