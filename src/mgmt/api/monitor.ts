/**
 * The dashboard's monitor (EMQX `/monitor`, `/monitor/nodes/:node`, `/monitor_current`,
 * `/monitor_current/nodes/:node`): the sampled time series and the current gauges and per-second rates.
 * The cluster forms add what EMQX adds when it sums nodes (`subscriptions_ram`); the node forms add the
 * node's own facts (`node_uptime`).
 */
import { Type } from '@sinclair/typebox';
import { ErrorBody, notFound } from '../errors.js';
import { DELTA_NAMES, GAUGE_NAMES, type MonitorSample, RATE_NAME } from '../monitor.js';
import type { Api, MgmtPlane } from '../types.js';

const Latest = Type.Object({
  latest: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: 'Only the last N seconds (300 for five minutes); default: all.',
    }),
  ),
});
const NodeParam = Type.Object({ node: Type.String({ description: 'Node name.' }) });
const Sample = Type.Object(
  {
    time_stamp: Type.Integer({ description: 'Start of the sample slot (ms since the epoch).' }),
    ...Object.fromEntries(GAUGE_NAMES.map((n) => [n, Type.Optional(Type.Integer())])),
    ...Object.fromEntries(
      DELTA_NAMES.map((n) => [n, Type.Optional(Type.Integer({ description: 'Increase during the slot.' }))]),
    ),
  },
  { additionalProperties: true },
);
const Current = Type.Object(
  {
    ...Object.fromEntries(GAUGE_NAMES.map((n) => [n, Type.Integer()])),
    ...Object.fromEntries(
      DELTA_NAMES.map((n) => [
        RATE_NAME[n],
        Type.Integer({ description: 'Per second since the last sample.' }),
      ]),
    ),
    retained_msg_count: Type.Integer(),
    shared_subscriptions: Type.Integer(),
  },
  { additionalProperties: true },
);

/** What EMQX adds when it merges nodes into the cluster view (subscriptions held in memory vs durable). */
function clusterForm<T extends Partial<Record<string, number>>>(m: T): T & { subscriptions_ram?: number } {
  if (m.subscriptions === undefined) return m;
  return {
    ...m,
    subscriptions_ram: m.subscriptions,
    subscriptions: m.subscriptions + (m.subscriptions_durable ?? 0),
    connections: (m.connections ?? 0) + (m.disconnected_durable_sessions ?? 0),
  };
}

export function monitorArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Metrics'];
  const node = ctx.node;
  const mustBeThisNode = (name: string) => {
    if (name !== node.name) throw notFound('Node not found', 'NOT_FOUND');
  };
  const current = () => ({
    ...ctx.monitor.current(),
    retained_msg_count: node.retainer.count,
    shared_subscriptions: node.metrics.stat('subscriptions.shared').count,
  });

  app.get(
    '/monitor',
    {
      schema: {
        tags,
        summary: 'Sampled time series of the cluster',
        querystring: Latest,
        response: { 200: Type.Array(Sample) },
      },
    },
    async (req) => ctx.monitor.series(req.query.latest).map((s): MonitorSample => clusterForm(s)),
  );
  app.get(
    '/monitor/nodes/:node',
    {
      schema: {
        tags,
        summary: 'Sampled time series of one node',
        params: NodeParam,
        querystring: Latest,
        response: { 200: Type.Array(Sample), 404: ErrorBody },
      },
    },
    async (req) => {
      mustBeThisNode(req.params.node);
      return ctx.monitor.series(req.query.latest);
    },
  );
  app.get(
    '/monitor_current',
    {
      schema: {
        tags,
        summary: 'Current gauges and message rates of the cluster',
        response: { 200: Current },
      },
    },
    async () => clusterForm(current()),
  );
  app.get(
    '/monitor_current/nodes/:node',
    {
      schema: {
        tags,
        summary: 'Current gauges and message rates of one node',
        params: NodeParam,
        response: { 200: Current, 404: ErrorBody },
      },
    },
    async (req) => {
      mustBeThisNode(req.params.node);
      return { ...current(), node_uptime: node.sys?.uptime ?? 0 };
    },
  );
}
