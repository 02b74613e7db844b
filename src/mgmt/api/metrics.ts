/**
 * Stats, metrics and the Prometheus exposition (`/stats`, `/metrics`, `/prometheus/stats`). In a cluster
 * `/stats` and `/metrics` ask every running node; the Prometheus text stays this node's (scrape each node).
 */
import { Type } from '@sinclair/typebox';
import { okAnswers } from '../peers.js';
import type { Api, MgmtPlane } from '../types.js';

const Aggregate = Type.Object({
  aggregate: Type.Boolean({
    default: false,
    description: 'true: one object for the cluster; false: one per node.',
  }),
});
/** Stats EMQX keeps cluster-wide (one table for all nodes): aggregated as the largest node's value, not summed. */
const GLOBAL_STATS = new Set([
  'retained.count',
  'retained.max',
  'topics.count',
  'topics.max',
  'subscriptions.shared.count',
  'subscriptions.shared.max',
]);

/** This node's stats (gauges). */
export function nodeStats(ctx: MgmtPlane): Record<string, number> {
  const out = ctx.node.metrics.stats();
  out['live_connections.count'] = ctx.node.broker.registry.liveCount();
  out['cluster_sessions.count'] = ctx.node.broker.registry.count();
  out['retained.count'] = ctx.node.retainer?.count ?? out['retained.count'] ?? 0;
  return out;
}

/** This node's metrics (counters). */
export function nodeMetrics(ctx: MgmtPlane): Record<string, number> {
  return ctx.node.metrics.snapshot();
}

/** Sums the nodes' values (the cluster-wide ones: the largest). */
export function aggregate(
  values: Array<Record<string, number>>,
  global: ReadonlySet<string>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    for (const [k, n] of Object.entries(v)) {
      if (typeof n !== 'number') continue;
      out[k] = global.has(k) ? Math.max(out[k] ?? 0, n) : (out[k] ?? 0) + n;
    }
  }
  return out;
}

/** `/stats` or `/metrics` of every running node: one object with aggregate, else one per node (failing nodes left out). */
async function clusterValues(
  ctx: MgmtPlane,
  question: 'stats' | 'metrics',
  aggregated: boolean,
): Promise<Record<string, number> | Array<Record<string, unknown>>> {
  const answers = okAnswers(await ctx.peers.askAll(question, undefined), question);
  if (aggregated)
    return aggregate(
      answers.map((a) => a.value),
      question === 'stats' ? GLOBAL_STATS : new Set(),
    );
  return answers.map((a) => ({ node: a.node, ...a.value }));
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
    ...promLines('gauge', Object.entries(nodeStats(ctx))),
    ...promLines('counter', Object.entries(nodeMetrics(ctx))),
    ...promLines('gauge', [['uptime_seconds', Math.floor((ctx.node.sys?.uptime ?? 0) / 1000)]]),
  ];
  lines.push(...ctx.node.plugins.prometheusLines());
  return `${lines.join('\n')}\n`;
}

export function metricsArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Metrics'];
  app.get(
    '/stats',
    { schema: { tags, summary: 'Broker statistics (gauges), of every node', querystring: Aggregate } },
    async (req) => clusterValues(ctx, 'stats', req.query.aggregate),
  );
  app.get(
    '/metrics',
    { schema: { tags, summary: 'Broker metrics (counters), of every node', querystring: Aggregate } },
    async (req) => clusterValues(ctx, 'metrics', req.query.aggregate),
  );
  // Scrapers have no credentials by default (EMQX prometheus.enable_basic_auth = false).
  app.get(
    '/prometheus/stats',
    { config: { auth: false }, schema: { tags: ['Monitor'], summary: 'Prometheus text exposition' } },
    async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(prometheusText(ctx)),
  );
}
