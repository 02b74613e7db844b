/**
 * Nodes (`/nodes`, `/nodes/{node}`, `/nodes/{node}/stats|metrics`), as EMQX lists them: every running node
 * with its own figures, then the nodes known to be down as `node_status: stopped`. A running node that does
 * not answer in time is listed as stopped too, with the reason, so the list never waits on it.
 */
import { loadavg } from 'node:os';
import { Type } from '@sinclair/typebox';
import type { NodeAnswer, Question } from '../../cluster/mgmt-rpc.js';
import { VERSION } from '../../version.js';
import { ErrorBody, notFound } from '../errors.js';
import { nodeDown } from '../peers.js';
import type { Api, MgmtPlane } from '../types.js';

const NodeParam = Type.Object({ node: Type.String() });
const Counters = Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()]));
const tags = ['Nodes'];

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

/** EMQX's entry of a node that is down. */
function stoppedNode(node: string, reason?: string): Record<string, unknown> {
  return { node, node_status: 'stopped', role: 'core', ...(reason !== undefined ? { reason } : {}) };
}

function nodeEntry(a: NodeAnswer<Record<string, unknown>>): Record<string, unknown> {
  return a.ok ? a.value : stoppedNode(a.node, a.error);
}

/** Asks one node (404 when the cluster does not know it, 503 when it is down or does not answer). */
async function askNode<Q extends 'stats' | 'metrics'>(
  ctx: MgmtPlane,
  node: string,
  question: Q,
): Promise<Record<string, unknown>> {
  const peers = ctx.peers;
  if (!peers.running().includes(node)) {
    if (peers.stopped().includes(node)) throw nodeDown({ node, error: 'the node is down' });
    throw notFound('Node not found', 'NOT_FOUND');
  }
  const a = await peers.ask(node, question as Question, undefined);
  if (!a.ok) throw nodeDown(a);
  return { node, ...(a.value as Record<string, number>) };
}

export function nodesArea(app: Api, ctx: MgmtPlane): void {
  app.get('/nodes', { schema: { tags, summary: 'Nodes of the cluster' } }, async () => {
    const running = await ctx.peers.askAll('node', undefined);
    return [...running.map(nodeEntry), ...ctx.peers.stopped().map((n) => stoppedNode(n))];
  });
  app.get(
    '/nodes/:node',
    { schema: { tags, summary: 'One node', params: NodeParam, response: { 404: ErrorBody } } },
    async (req) => {
      const node = req.params.node;
      if (ctx.peers.running().includes(node)) return nodeEntry(await ctx.peers.ask(node, 'node', undefined));
      if (ctx.peers.stopped().includes(node)) return stoppedNode(node);
      throw notFound('Node not found', 'NOT_FOUND');
    },
  );
  app.get(
    '/nodes/:node/metrics',
    {
      schema: {
        tags,
        summary: 'Metrics of one node',
        params: NodeParam,
        response: { 200: Counters, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => askNode(ctx, req.params.node, 'metrics'),
  );
  app.get(
    '/nodes/:node/stats',
    {
      schema: {
        tags,
        summary: 'Stats of one node',
        params: NodeParam,
        response: { 200: Counters, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (req) => askNode(ctx, req.params.node, 'stats'),
  );
}
