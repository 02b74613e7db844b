/**
 * The dashboard's monitor (EMQX `/monitor`, `/monitor/nodes/:node`, `/monitor_current`,
 * `/monitor_current/nodes/:node`): the sampled time series and the current gauges and per-second rates.
 * The cluster forms add what EMQX adds when it sums nodes (`subscriptions_ram`); the node forms add the
 * node's own facts (`node_uptime`). `/monitor_current` sums every running node's current values; the sampled
 * series (`/monitor`) stay this node's.
 */
import { Type } from '@sinclair/typebox';
import { ErrorBody, notFound } from '../errors.js';
import { DELTA_NAMES, GAUGE_NAMES, type MonitorSample, RATE_NAME } from '../monitor.js';
import { nodeDown, okAnswers } from '../peers.js';
import type { Api, MgmtPlane } from '../types.js';
import { aggregate } from './metrics.js';

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

/** Gauges every node sees whole (retained messages, topics, shared subscriptions): the cluster shows the largest. */
const CLUSTER_WIDE = new Set(['retained_msg_count', 'topics', 'shared_subscriptions']);

/** This node's current gauges and rates, with its uptime (`/monitor_current/nodes/{node}`). */
export function monitorCurrent(ctx: MgmtPlane): Record<string, number> {
  const node = ctx.node;
  return {
    ...ctx.monitor.current(),
    retained_msg_count: node.retainer.count,
    shared_subscriptions: node.metrics.stat('subscriptions.shared').count,
    node_uptime: node.sys?.uptime ?? 0,
  };
}

export function monitorArea(app: Api, ctx: MgmtPlane): void {
  const tags = ['Metrics'];
  const node = ctx.node;
  const mustBeThisNode = (name: string) => {
    if (name !== node.name) throw notFound('Node not found', 'NOT_FOUND');
  };
  /** Every running node's current values, summed (a node that does not answer is left out). */
  const clusterCurrent = async () => {
    const answers = okAnswers(await ctx.peers.askAll('monitor_current', undefined), 'monitor_current');
    const { node_uptime: _, ...sum } = aggregate(
      answers.map((a) => a.value),
      CLUSTER_WIDE,
    );
    return sum;
  };

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
    async () => clusterForm(await clusterCurrent()),
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
      const a = await ctx.peers.ask(req.params.node, 'monitor_current', undefined);
      if (a.ok) return a.value;
      if (a.code === 'no_node' && !ctx.peers.stopped().includes(req.params.node))
        throw notFound('Node not found', 'NOT_FOUND');
      throw nodeDown(a);
    },
  );
}
